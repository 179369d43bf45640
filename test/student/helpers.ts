import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../../src/student/config.ts';

/** A tiny student config for fast tests. */
export function tinyConfig(over: Partial<BertConfig> = {}): BertConfig {
  return {
    ...DEFAULT_BERT_CONFIG,
    vocab_size: 20,
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 12,
    max_position_embeddings: 16,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    num_labels: 3,
    problem_type: 'single_label_classification',
    id2label: { 0: 'a', 1: 'b', 2: 'c' },
    label2id: { a: 0, b: 1, c: 2 },
    ...over,
  };
}

/** int32 [B, L] inputs from row arrays (0 = padding). */
export function inputsFrom(rows: number[][], lengths?: number[]) {
  const L = rows[0].length;
  const mask = rows.map((r, b) => r.map((_, i) => (i < (lengths?.[b] ?? L) ? 1 : 0)));
  const types = rows.map((r) => r.map((_, i) => (i >= 2 ? 1 : 0)));
  return {
    inputIds: tf.tensor2d(rows, [rows.length, L], 'int32'),
    attentionMask: tf.tensor2d(mask, [rows.length, L], 'int32'),
    tokenTypeIds: tf.tensor2d(types, [rows.length, L], 'int32'),
  };
}

export async function useCpu(): Promise<void> {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
  await tf.ready();
}
