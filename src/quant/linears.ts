import type { BertConfig } from '../student/config.ts';

/**
 * The dense layers that run in int8: every encoder projection (Q, K, V, attention output, FFN in and
 * out). Embeddings, LayerNorms, the attention products, pooler and classifier stay float, as in the
 * post-training int8 export.
 */
export function quantizedLinears(config: Pick<BertConfig, 'num_hidden_layers'>): string[] {
  const out: string[] = [];
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `encoder.layer.${i}.`;
    out.push(
      `${p}attention.self.query`, `${p}attention.self.key`, `${p}attention.self.value`,
      `${p}attention.output.dense`, `${p}intermediate.dense`, `${p}output.dense`,
    );
  }
  return out;
}
