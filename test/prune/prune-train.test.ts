/**
 * Pruning from the trainer end to end on the toy task: a stage prunes at its start (importance from its
 * own loss) and recovers; the pruned student saves, loads and exports with its per-layer shapes (ONNX
 * logits = the tfjs forward, onnx.checker passes, transformers.js gives the same scores, config.json
 * carries pruned_heads as Hugging Face writes it); a run interrupted before and after the pruning
 * resumes to the same weights, bit for bit.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { exportStudent } from '../../src/export/export.ts';
import { layerHeadCount, layerIntermediateSize } from '../../src/student/config.ts';
import { loadStudentFolder, saveStudentFolder } from '../../src/student/folder.ts';
import type { Student } from '../../src/student/model.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';
import { InterruptedError } from '../../src/util/errors.ts';
import { tinyConfig, toyData, toyTask, useCpu } from '../distill/helpers.ts';
import { maxAbsDiff, tinyVocab, writeTinyTokenizer } from '../export/helpers.ts';
import { findPythonWithOnnx } from '../export/python-onnx.ts';

beforeAll(useCpu);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'prune-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const config = tinyConfig({ vocab_size: tinyVocab().length, hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 2, intermediate_size: 32, max_position_embeddings: 16 });
const data = toyData(48, 1);
const dev = toyData(32, 2);
const ce = [{ feature: 'labels' as const, loss: 'ce' as const, weight: 1 }];
const prune = { heads: 5, ffn: [12, 20], score: 'gradient' as const, batches: 3, normalize: true };

function options(over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    task: toyTask,
    studentConfig: config,
    train: data,
    dev,
    stages: [
      { name: 'dense', steps: 30, lr: 1e-2, matches: ce },
      { name: 'prune', steps: 30, lr: 5e-3, matches: ce, prune },
    ],
    batchSize: 8,
    seed: 5,
    evalEvery: 10,
    ...over,
  };
}

const shapes = (s: Student) => [0, 1].map((i) => [layerHeadCount(s.config, i), layerIntermediateSize(s.config, i)]);
const weights = (s: Student) => [...s.params].map(([k, v]) => [k, v.shape, Array.from(v.dataSync())]);

describe('a run with a pruning stage', () => {
  let res: Awaited<ReturnType<typeof train>>;
  const studentDir = path.join(root, 'student');
  const outDir = path.join(root, 'tiny-pruned');
  const logFile = path.join(root, 'log.jsonl');

  let atPruning: { stage: string; shapes: number[][]; params: number } | undefined;

  beforeAll(async () => {
    res = await train(options({ logFile, onPruned: (s, stage) => void (atPruning = { stage, shapes: shapes(s), params: s.numParams() }) }));
  }, 600_000); // ~3 s on an idle 2-core machine; far more beside a saturating job

  it('prunes to the targets at the stage start, keeps the pruned model as best, and it still learns the rule', () => {
    expect(shapes(res.student)).toEqual([[layerHeadCount(res.student.config, 0), 12], [5 - layerHeadCount(res.student.config, 0), 20]]);
    expect(shapes(res.best!.student)).toEqual(shapes(res.student));
    expect(res.best!.stage).toBe('prune');
    expect(res.best!.score).toBeGreaterThan(0.75); // chance is 0.5
    const removed = Object.values(res.student.config.pruned_heads!).flat().length;
    expect(removed).toBe(3); // 8 heads - 5 kept
    const log = fs.readFileSync(logFile, 'utf8');
    expect(log).toMatch(/pruned: heads per layer \[\d,\d\], feed-forward widths \[12,20\]; parameters \d+ → \d+/);
    expect(atPruning).toEqual({ stage: 'prune', shapes: shapes(res.student), params: res.student.numParams() });
  });

  it('saves and loads with its shapes, and exports ONNX whose logits match the tfjs forward', async () => {
    const best = res.best!.student;
    await saveStudentFolder(best, writeTinyTokenizer(path.join(root, 'tok')), studentDir);
    const loaded = await loadStudentFolder(studentDir);
    expect(weights(loaded)).toEqual(weights(best));
    const exported = await exportStudent({ studentFolder: studentDir, outDir });
    const json = JSON.parse(fs.readFileSync(path.join(outDir, 'config.json'), 'utf8'));
    expect(json.pruned_heads).toEqual(best.config.pruned_heads);
    expect(json.layer_intermediate_sizes).toEqual([12, 20]);
    expect(json.num_attention_heads).toBe(4); // Hugging Face keeps the original count next to pruned_heads
    expect(fs.readFileSync(path.join(outDir, 'README.md'), 'utf8')).toMatch(/pruned to \d\/\d heads and FFN 12\/20 per layer \(of 4 and 32\)/);
    expect(exported.files).toContain('onnx/model.onnx');

    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(path.join(outDir, 'onnx', 'model.onnx'));
    const { collate } = await import('../../src/data/batching.ts');
    const b = collate(dev.encoded, Array.from({ length: 32 }, (_, i) => i));
    const t = (a: Int32Array) => tf.tensor2d(a, [b.size, b.seqLen], 'int32');
    const want = tf.tidy(() => loaded.forward({ inputIds: t(b.inputIds), attentionMask: t(b.attentionMask), tokenTypeIds: t(b.tokenTypeIds) }, { training: false }).logits.dataSync()) as Float32Array;
    const dims = [b.size, b.seqLen];
    const feed = (a: Int32Array) => new ort.Tensor('int64', BigInt64Array.from(a, BigInt), dims);
    const got = (await session.run({ input_ids: feed(b.inputIds), attention_mask: feed(b.attentionMask), token_type_ids: feed(b.tokenTypeIds) })).logits.data as Float32Array;
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    loaded.dispose();
  });

  const { python, reason } = findPythonWithOnnx();
  it.skipIf(!python)(`the pruned export passes onnx.checker (${reason})`, () => {
    const r = spawnSync(python!, ['scripts/check_onnx.py', path.join(outDir, 'onnx', 'model.onnx')], { encoding: 'utf8' });
    const report = JSON.parse(r.stdout.trim().split('\n')[0]);
    expect(report.error ?? 'ok').toBe('ok');
    expect(r.status).toBe(0);
  });

  it('transformers.js loads the pruned export and gives the student\'s scores', async () => {
    env.allowRemoteModels = false;
    env.localModelPath = root;
    env.useFSCache = false;
    const classify = await pipeline('text-classification', 'tiny-pruned', { dtype: 'fp32' });
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-pruned');
    const student = res.best!.student;
    for (const text of ['a good movie', 'the film was bad', 'it is not fun']) {
      const ids = Array.from(tokenizer(text).input_ids.data as BigInt64Array, Number);
      const logits = tf.tidy(() => {
        const x = tf.tensor2d([ids], [1, ids.length], 'int32');
        return Array.from(student.forward({ inputIds: x, attentionMask: tf.onesLike(x), tokenTypeIds: tf.zerosLike(x) }, { training: false }).logits.dataSync());
      });
      const best = logits.indexOf(Math.max(...logits));
      const z = logits.map((l) => Math.exp(l - logits[best]));
      const [got] = (await classify(text)) as { label: string; score: number }[];
      expect(got.label).toBe(config.id2label[best]);
      expect(Math.abs(got.score - z[best] / z.reduce((a, c) => a + c, 0))).toBeLessThan(1e-5);
    }
    await classify.dispose();
  });
});

describe('resume of a pruning run', () => {
  it('interrupted before the pruning stage and inside it, continues to the same weights (and EMA) bit for bit', async () => {
    const stages: TrainOptions['stages'] = [
      { name: 'dense', steps: 4, lr: 1e-2, matches: ce },
      { name: 'prune', steps: 8, lr: 5e-3, matches: ce, prune },
    ];
    const common = { stages, evalEvery: 3, studentConfig: tinyConfig({ ...config, hidden_dropout_prob: 0.1 }), ema: { updateAfterStep: 1, updateEvery: 1 } };
    const ref = await train(options({ ...common, checkpointDir: path.join(root, 'ref') }));
    const dir = path.join(root, 'interrupted');
    let step = 0;
    let stopAt = 4; // the end of the dense stage: the resumed run prunes
    const opts = options({ ...common, checkpointDir: dir, onProgress: (s) => (step = s), stopRequested: () => (step === stopAt ? 'SIGINT' : undefined) });
    await expect(train(opts)).rejects.toBeInstanceOf(InterruptedError);
    stopAt = 7; // inside the pruned stage: the resumed run rebuilds the pruned shapes from the checkpoint
    await expect(train({ ...opts, resume: true })).rejects.toBeInstanceOf(InterruptedError);
    const resumed = await train({ ...opts, resume: true, stopRequested: undefined });
    expect(resumed.steps).toBe(12);
    expect(resumed.student.config.pruned_heads).toEqual(ref.student.config.pruned_heads);
    expect(weights(resumed.student)).toEqual(weights(ref.student));
    expect(weights(resumed.emaStudent!)).toEqual(weights(ref.emaStudent!));
    expect(resumed.best!.score).toBe(ref.best!.score);
    expect(weights(resumed.best!.student)).toEqual(weights(ref.best!.student));
  });

  it('refuses attention losses from a pruning stage on, naming the stage', async () => {
    const attention = [{ feature: 'attention' as const, loss: 'attention_mse' as const, weight: 1, layerS: 0, layerT: 0 }];
    const stages = [{ name: 'p', steps: 2, lr: 1e-3, matches: attention as never, prune }];
    await expect(train(options({ stages, teachers: [{ cacheDir: '/nonexistent' }] as never }))).rejects.toThrow(/stages\[0\] \(p\): the "attention_mse" loss matches attention head by head, but stage p prunes heads/);
  });
});
