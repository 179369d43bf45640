/**
 * The student and the trainer give the same numbers on every fast backend as on tfjs's reference
 * `cpu` backend: a forward pass (logits, hidden states, attention scores) and a short distillation
 * run (two stages, clipping, AdamW, EMA) compared loss by loss and weight by weight. Runs on `wasm`
 * and, where `npm run setup:native` built it, on the native `tensorflow` backend.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { predictionMatches } from '../../src/distill/losses.ts';
import { train } from '../../src/train/trainer.ts';
import { Student } from '../../src/student/model.ts';
import { Rng } from '../../src/util/rng.ts';
import { cacheFromModel, tinyConfig, toyData, toyTask } from '../distill/helpers.ts';
import { testBackends } from '../helpers/backends.ts';
import { maxRelDiff } from './helpers.ts';

const BACKENDS = testBackends();

beforeAll(async () => {
  for (const b of BACKENDS) await initBackend(b);
}, 600_000); // loading libtensorflow (~800 MB) takes minutes on a busy machine

const config = tinyConfig({ hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2, intermediate_size: 24, hidden_dropout_prob: 0 });

function randomWeights(seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const s = Student.create(config, seed);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of s.params) {
    out.set(name, Float32Array.from({ length: v.size }, () => (name.includes('LayerNorm.weight') ? 1 : 0) + rng.normal() * 0.3));
  }
  s.dispose();
  return out;
}

function forwardOn(weights: Map<string, Float32Array>): Float32Array[] {
  const s = Student.create(config, 0);
  for (const [name, v] of s.params) v.assign(tf.tensor(weights.get(name)!, v.shape));
  const ids = [[1, 5, 7, 9, 2, 0], [1, 4, 2, 0, 0, 0]];
  const mask = ids.map((r) => r.map((x, i) => (x !== 0 || i === 0 ? 1 : 0)));
  const out = tf.tidy(() => {
    const f = s.forward(
      { inputIds: tf.tensor2d(ids, [2, 6], 'int32'), attentionMask: tf.tensor2d(mask, [2, 6], 'int32'), tokenTypeIds: tf.zeros([2, 6], 'int32') },
      { training: false },
    );
    return [f.logits, ...f.hidden, ...f.attentionScores].map((t) => Float32Array.from(t.dataSync()));
  });
  s.dispose();
  return out;
}

/** A short two-stage distillation run; returns the per-step losses and the final raw and EMA weights. */
async function distillOn(): Promise<{ losses: number[]; weights: Float32Array[]; ema: Float32Array[] }> {
  const data = toyData(24, 1);
  const teacher = Student.create(tinyConfig({ hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 2, intermediate_size: 32, hidden_dropout_prob: 0 }), 11);
  const cache = cacheFromModel(teacher, data.encoded);
  teacher.dispose();
  const losses: number[] = [];
  const res = await train({
    task: toyTask,
    studentConfig: tinyConfig({ hidden_dropout_prob: 0 }),
    train: data,
    teachers: [{ cache }],
    stages: [
      {
        name: 'intermediate',
        steps: 6,
        lr: 1e-2,
        matches: [
          { feature: 'hidden', layerS: 0, layerT: 0, loss: 'hidden_mse', weight: 1 },
          { feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 1 },
          { feature: 'attention', layerS: 0, layerT: 1, loss: 'attention_mse', weight: 1 },
        ],
      },
      { name: 'prediction', steps: 6, lr: 1e-2, matches: predictionMatches({ regression: false }) },
    ],
    batchSize: 8,
    maxGradNorm: 0.5, // small enough to clip: the clipping path is compared too
    ema: { updateAfterStep: 2, updateEvery: 1 },
    seed: 3,
    evalEvery: 0,
    onProgress: (_step, _total, info) => losses.push(info.loss),
  });
  const read = (s: Student | undefined) => [...(s?.params.values() ?? [])].map((v) => Float32Array.from(v.dataSync()));
  const out = { losses, weights: read(res.student), ema: read(res.emaStudent) };
  res.student.dispose();
  res.emaStudent?.dispose();
  return out;
}

async function on<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  await tf.setBackend(backend);
  return await f();
}

describe.each(BACKENDS)('student and trainer on %s equal the cpu backend', (backend) => {
  it('forward pass: logits, hidden states and attention scores', async () => {
    const weights = randomWeights(7);
    const got = await on(backend, () => forwardOn(weights));
    const ref = await on('cpu', () => forwardOn(weights));
    expect(got).toHaveLength(ref.length);
    for (let i = 0; i < ref.length; i++) expect(maxRelDiff(got[i], ref[i]), `output ${i}`).toBeLessThan(1e-4);
  });

  it('a distillation run: every step loss, the final weights and the EMA weights', async () => {
    const got = await on(backend, distillOn);
    const ref = await on('cpu', distillOn);
    expect(ref.losses).toHaveLength(12);
    expect(got.losses).toHaveLength(12);
    for (let i = 0; i < ref.losses.length; i++) expect(Math.abs(got.losses[i] - ref.losses[i]) / (1 + Math.abs(ref.losses[i])), `loss ${i}`).toBeLessThan(1e-4);
    expect(got.ema.length).toBeGreaterThan(0);
    for (let i = 0; i < ref.weights.length; i++) {
      expect(maxRelDiff(got.weights[i], ref.weights[i]), `weight ${i}`).toBeLessThan(1e-4);
      expect(maxRelDiff(got.ema[i], ref.ema[i]), `EMA weight ${i}`).toBeLessThan(1e-4);
    }
  }, 600_000); // two short trainings, one on the slow reference backend
});
