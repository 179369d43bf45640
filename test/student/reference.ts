/**
 * A deliberately naive BERT forward pass in plain loops over Float32Arrays (one example, no
 * batching), written independently of the tfjs model to check it. Dense kernels are [in, out].
 */
import type { BertConfig } from '../../src/student/config.ts';

type W = Map<string, Float32Array>;

function dense(x: number[][], w: Float32Array, b: Float32Array): number[][] {
  const out = b.length;
  return x.map((row) => {
    const y = Array.from(b);
    for (let i = 0; i < row.length; i++) for (let o = 0; o < out; o++) y[o] += row[i] * w[i * out + o];
    return y;
  });
}

function layerNorm(x: number[][], g: Float32Array, b: Float32Array, eps: number): number[][] {
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
  });
}

/** Abramowitz-Stegun 7.1.26 erf (|error| < 1.5e-7), enough for a float32 comparison. */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

export function referenceForward(c: BertConfig, w: W, ids: number[], types: number[], mask: number[]) {
  const L = ids.length;
  const H = c.hidden_size;
  const heads = c.num_attention_heads;
  const d = H / heads;
  const get = (n: string) => w.get(n)!;
  let x: number[][] = ids.map((id, i) =>
    Array.from({ length: H }, (_, h) =>
      get('embeddings.word_embeddings.weight')[id * H + h] +
      get('embeddings.position_embeddings.weight')[i * H + h] +
      get('embeddings.token_type_embeddings.weight')[types[i] * H + h],
    ),
  );
  x = layerNorm(x, get('embeddings.LayerNorm.weight'), get('embeddings.LayerNorm.bias'), c.layer_norm_eps);
  const scoresPerLayer: number[][][][] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    const q = dense(x, get(`${p}attention.self.query.weight`), get(`${p}attention.self.query.bias`));
    const k = dense(x, get(`${p}attention.self.key.weight`), get(`${p}attention.self.key.bias`));
    const v = dense(x, get(`${p}attention.self.value.weight`), get(`${p}attention.self.value.bias`));
    const ctx = x.map(() => new Array<number>(H).fill(0));
    const layerScores: number[][][] = [];
    for (let h = 0; h < heads; h++) {
      const sc: number[][] = [];
      for (let i = 0; i < L; i++) {
        const row: number[] = [];
        for (let j = 0; j < L; j++) {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += q[i][h * d + e] * k[j][h * d + e];
          row.push(dot / Math.sqrt(d) + (mask[j] ? 0 : -10000));
        }
        const max = Math.max(...row);
        const ex = row.map((s) => Math.exp(s - max));
        const sum = ex.reduce((a, b) => a + b, 0);
        for (let j = 0; j < L; j++) for (let e = 0; e < d; e++) ctx[i][h * d + e] += (ex[j] / sum) * v[j][h * d + e];
        sc.push(row);
      }
      layerScores.push(sc);
    }
    scoresPerLayer.push(layerScores);
    const attnOut = dense(ctx, get(`${p}attention.output.dense.weight`), get(`${p}attention.output.dense.bias`));
    const h1 = layerNorm(attnOut.map((r, i) => r.map((v2, j) => v2 + x[i][j])), get(`${p}attention.output.LayerNorm.weight`), get(`${p}attention.output.LayerNorm.bias`), c.layer_norm_eps);
    const inter = dense(h1, get(`${p}intermediate.dense.weight`), get(`${p}intermediate.dense.bias`)).map((r) =>
      r.map((v2) => 0.5 * v2 * (1 + erf(v2 / Math.SQRT2))),
    );
    const out = dense(inter, get(`${p}output.dense.weight`), get(`${p}output.dense.bias`));
    x = layerNorm(out.map((r, i) => r.map((v2, j) => v2 + h1[i][j])), get(`${p}output.LayerNorm.weight`), get(`${p}output.LayerNorm.bias`), c.layer_norm_eps);
  }
  const pooled = dense([x[0]], get('pooler.dense.weight'), get('pooler.dense.bias'))[0].map(Math.tanh);
  const logits = dense([pooled], get('classifier.weight'), get('classifier.bias'))[0];
  return { lastHidden: x, scores: scoresPerLayer, logits };
}
