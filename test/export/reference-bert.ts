/**
 * A plain-JS BERT sequence classifier (the textbook equations on Float64 math) used as the
 * independent reference for the ONNX builder, plus random tiny configs/weights for tests.
 */
import type { BertConfig } from '../../src/student/config.ts';
import { DEFAULT_BERT_CONFIG } from '../../src/student/config.ts';
import { expectedShapes, type WeightMap } from '../../src/export/weights.ts';
import { Rng } from '../../src/util/rng.ts';

export function tinyConfig(over: Partial<BertConfig> = {}): BertConfig {
  return {
    ...DEFAULT_BERT_CONFIG,
    vocab_size: 40,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 24,
    max_position_embeddings: 32,
    num_labels: 2,
    problem_type: 'single_label_classification',
    id2label: { 0: 'negative', 1: 'positive' },
    label2id: { negative: 0, positive: 1 },
    ...over,
  };
}

/** Random weights with std `scale` (LayerNorm gains around 1) for every parameter the graph needs. */
export function randomWeights(config: BertConfig, seed: number, scale = 0.5): WeightMap {
  const rng = new Rng(seed);
  const weights: WeightMap = new Map();
  for (const [name, shape] of expectedShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isGain = name.includes('LayerNorm.weight');
    for (let i = 0; i < n; i++) data[i] = (isGain ? 1 : 0) + scale * rng.normal();
    weights.set(name, { shape, data });
  }
  return weights;
}

export interface RefOutputs {
  logits: number[][]; // [B][labels]
  hidden: number[][][][]; // [layer][B][L][H]
  scores: number[][][][][]; // [layer][B][h][L][L]
}

const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; use a series / continued fraction at double precision.
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 80; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
};

function dense(x: number[], w: Float32Array, b: Float32Array, inDim: number, outDim: number): number[] {
  const y = Array.from(b);
  for (let k = 0; k < inDim; k++) for (let j = 0; j < outDim; j++) y[j] += x[k] * w[k * outDim + j];
  return y;
}

function layerNorm(x: number[], g: Float32Array, b: Float32Array, eps: number): number[] {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
}

/** ids, mask, types: [B][L]. */
export function referenceForward(
  c: BertConfig,
  w: WeightMap,
  ids: number[][],
  mask: number[][],
  types: number[][],
): RefOutputs {
  const P = (n: string) => w.get(n)!.data;
  const H = c.hidden_size;
  const nh = c.num_attention_heads;
  const d = H / nh;
  const I = c.intermediate_size;
  const eps = c.layer_norm_eps;
  let h = ids.map((row, b) =>
    row.map((id, t) => {
      const x = new Array<number>(H);
      for (let k = 0; k < H; k++) {
        x[k] =
          P('embeddings.word_embeddings.weight')[id * H + k] +
          P('embeddings.position_embeddings.weight')[t * H + k] +
          P('embeddings.token_type_embeddings.weight')[types[b][t] * H + k];
      }
      return layerNorm(x, P('embeddings.LayerNorm.weight'), P('embeddings.LayerNorm.bias'), eps);
    }),
  );
  const hidden = [h];
  const scores: number[][][][][] = [];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `encoder.layer.${i}.`;
    const lin = (x: number[], n: string, a: number, o: number) => dense(x, P(`${p}${n}.weight`), P(`${p}${n}.bias`), a, o);
    const layerScores: number[][][][] = [];
    h = h.map((seq, b) => {
      const q = seq.map((x) => lin(x, 'attention.self.query', H, H));
      const k = seq.map((x) => lin(x, 'attention.self.key', H, H));
      const v = seq.map((x) => lin(x, 'attention.self.value', H, H));
      const ctx = seq.map(() => new Array<number>(H).fill(0));
      const perHead: number[][][] = [];
      for (let hd = 0; hd < nh; hd++) {
        const s = seq.map((_, t1) =>
          seq.map((_, t2) => {
            let dot = 0;
            for (let j = 0; j < d; j++) dot += q[t1][hd * d + j] * k[t2][hd * d + j];
            return dot / Math.sqrt(d) + (1 - mask[b][t2]) * -10000;
          }),
        );
        perHead.push(s);
        s.forEach((row, t1) => {
          const m = Math.max(...row);
          const e = row.map((x) => Math.exp(x - m));
          const z = e.reduce((a, x) => a + x, 0);
          e.forEach((pr, t2) => {
            for (let j = 0; j < d; j++) ctx[t1][hd * d + j] += (pr / z) * v[t2][hd * d + j];
          });
        });
      }
      layerScores.push(perHead);
      return seq.map((x, t) => {
        const a = lin(ctx[t], 'attention.output.dense', H, H).map((y, j) => y + x[j]);
        const h1 = layerNorm(a, P(`${p}attention.output.LayerNorm.weight`), P(`${p}attention.output.LayerNorm.bias`), eps);
        const inter = lin(h1, 'intermediate.dense', H, I).map((y) => 0.5 * y * (1 + erf(y / Math.SQRT2)));
        const out = lin(inter, 'output.dense', I, H).map((y, j) => y + h1[j]);
        return layerNorm(out, P(`${p}output.LayerNorm.weight`), P(`${p}output.LayerNorm.bias`), eps);
      });
    });
    hidden.push(h);
    scores.push(layerScores);
  }
  const logits = h.map((seq) => {
    const pooled = dense(seq[0], P('pooler.dense.weight'), P('pooler.dense.bias'), H, H).map(Math.tanh);
    return dense(pooled, P('classifier.weight'), P('classifier.bias'), H, c.num_labels);
  });
  return { logits, hidden, scores };
}
