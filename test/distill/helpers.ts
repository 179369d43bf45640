import * as tf from '@tensorflow/tfjs';
import type { Encoded, TaskSpec } from '../../src/data/types.ts';
import type { CachedExample } from '../../src/distill/teacher-features.ts';
import type { TeacherCacheLike } from '../../src/distill/teachers.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../../src/student/config.ts';
import type { Student } from '../../src/student/model.ts';
import { Rng } from '../../src/util/rng.ts';
import { initBackend } from '../../src/backend/select.ts';

/** Tiny shapes so a few hundred cpu-backend steps take seconds. */
export function tinyConfig(over: Partial<BertConfig> = {}): BertConfig {
  return {
    ...DEFAULT_BERT_CONFIG,
    vocab_size: 24,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 12,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0,
    num_labels: 2,
    problem_type: 'single_label_classification',
    id2label: { 0: 'no', 1: 'yes' },
    label2id: { no: 0, yes: 1 },
    ...over,
  };
}

export const toyTask: TaskSpec = {
  name: 'toy',
  displayName: 'Toy',
  format: 'tsv',
  labels: ['no', 'yes'],
  metrics: ['accuracy'],
  devSplit: 'dev',
  splits: {},
};

/** [CLS] w… [SEP] with w in 4..23; label 1 when token 5 occurs. Deterministic under `seed`. */
export function toyData(n: number, seed: number): { encoded: Encoded[]; labels: number[] } {
  const rng = new Rng(seed);
  const encoded: Encoded[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 2 + rng.int(6);
    const words = Array.from({ length: len }, () => 4 + rng.int(20));
    if (i % 2 === 0 && !words.includes(5)) words[rng.int(len)] = 5;
    if (i % 2 === 1) for (let k = 0; k < len; k++) if (words[k] === 5) words[k] = 6;
    const ids = [1, ...words, 2];
    encoded.push({ inputIds: ids, tokenTypeIds: ids.map(() => 0) });
    labels.push(words.includes(5) ? 1 : 0);
  }
  return { encoded, labels };
}

/** An in-memory teacher cache: a Student run once per example, real tokens only (what src/cache stores). */
export function cacheFromModel(teacher: Student, encoded: Encoded[], transform?: (e: CachedExample, i: number) => CachedExample): TeacherCacheLike {
  const rows: CachedExample[] = encoded.map((e, i) => {
    // Plain arrays come out; every tensor of the forward pass is freed by the tidy.
    let row!: CachedExample;
    tf.tidy(() => {
      const L = e.inputIds.length;
      const out = teacher.forward(
        {
          inputIds: tf.tensor2d([e.inputIds], [1, L], 'int32'),
          attentionMask: tf.tensor2d([e.inputIds.map(() => 1)], [1, L], 'int32'),
          tokenTypeIds: tf.tensor2d([e.tokenTypeIds], [1, L], 'int32'),
        },
        { training: false },
      );
      row = {
        length: L,
        logits: out.logits.dataSync() as Float32Array,
        hidden: out.hidden.map((h) => h.dataSync() as Float32Array),
        attention: out.attentionScores.map((a) => a.dataSync() as Float32Array),
        // Query, key, value back to back per layer, as src/cache stores them.
        qkv: (out.qkv ?? []).map((p) => {
          const parts = [p.query, p.key, p.value].map((t) => t.dataSync() as Float32Array);
          const all = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
          parts.forEach((a, j) => all.set(a, j * a.length));
          return all;
        }),
      };
    });
    return transform ? transform(row, i) : row;
  });
  return {
    manifest: {
      fingerprint: { task: 'toy', numExamples: rows.length },
      layout: {
        hiddenSize: teacher.config.hidden_size,
        numHeads: teacher.config.num_attention_heads,
        numLayers: teacher.config.num_hidden_layers,
        numLabels: teacher.config.num_labels,
        logits: true,
        hiddenLayers: rows[0].hidden.map((_, k) => k),
        attentionLayers: rows[0].attention.map((_, k) => k + 1), // 1-based, as src/cache numbers them
        qkvLayers: (rows[0].qkv ?? []).map((_, k) => k + 1),
      },
      tokenizer: { vocabSize: teacher.config.vocab_size },
    },
    numExamples: rows.length,
    readExample: (i) => rows[i],
  };
}

export async function useCpu(): Promise<void> {
  await initBackend('cpu');
}
