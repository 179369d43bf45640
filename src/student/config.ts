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
