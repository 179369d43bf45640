/**
 * The student's shape. Field names follow Hugging Face's BertConfig (config.json, snake_case) so a
 * student folder's config.json is one a BERT loader already understands.
 */
export interface BertConfig {
  model_type: 'bert';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  layer_norm_eps: number;
  initializer_range: number;
  pad_token_id: number;
  /** Classification: number of labels; regression: 1 with problem_type "regression". */
  num_labels: number;
  problem_type: 'single_label_classification' | 'regression';
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  architectures?: string[];
  /**
   * Structured pruning, as Hugging Face writes it: per layer (key "0", "1"...), the ids of the attention
   * heads removed, in the original numbering. Layer i keeps num_attention_heads − its count heads, each
   * of width hidden_size / num_attention_heads. Absent: every layer keeps every head.
   */
  pruned_heads?: Record<string, number[]>;
  /** Structured pruning: the feed-forward width of each layer (absent: intermediate_size everywhere). */
  layer_intermediate_sizes?: number[];
}

/** Attention heads layer `i` keeps (all of them unless pruned). */
export function layerHeadCount(c: Pick<BertConfig, 'num_attention_heads' | 'pruned_heads'>, i: number): number {
  return c.num_attention_heads - (c.pruned_heads?.[String(i)]?.length ?? 0);
}

/** Original ids of the heads layer `i` keeps, ascending (the order their weights are stored in). */
export function keptHeadIds(c: Pick<BertConfig, 'num_attention_heads' | 'pruned_heads'>, i: number): number[] {
  const removed = new Set(c.pruned_heads?.[String(i)] ?? []);
  const out: number[] = [];
  for (let h = 0; h < c.num_attention_heads; h++) if (!removed.has(h)) out.push(h);
  return out;
}

/** Feed-forward width of layer `i`. */
export function layerIntermediateSize(c: Pick<BertConfig, 'intermediate_size' | 'layer_intermediate_sizes'>, i: number): number {
  return c.layer_intermediate_sizes?.[i] ?? c.intermediate_size;
}

/** Whether some layer has fewer heads or another feed-forward width than the config's uniform ones. */
export function isPruned(c: BertConfig): boolean {
  for (let i = 0; i < c.num_hidden_layers; i++) {
    if (layerHeadCount(c, i) !== c.num_attention_heads || layerIntermediateSize(c, i) !== c.intermediate_size) return true;
  }
  return false;
}

export const DEFAULT_BERT_CONFIG: Omit<BertConfig, 'vocab_size' | 'num_labels' | 'id2label' | 'label2id' | 'problem_type'> = {
  model_type: 'bert',
  hidden_size: 312,
  num_hidden_layers: 4,
  num_attention_heads: 12,
  intermediate_size: 1200,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  pad_token_id: 0,
};
