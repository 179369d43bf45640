/**
 * Cross-tokenizer distillation (student.tokenizer): a RoBERTa teacher (byte-level BPE, 360 tokens) is
 * cached on its own tokens; a tiny WordPiece student (122 tokens) reads the same texts with its own
 * tokenizer and learns the teacher's predictions (kd_ce); the export and `distill eval` use the
 * student's tokenizer. Token-level losses are refused with the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { parseConfig } from '../../src/cli/config-load.ts';
import * as opt from '../../src/cli/stage-options.ts';
import { computeDistillLoss, meanPool, pooledMse } from '../../src/distill/losses.ts';
import { collateTeacherFeatures } from '../../src/distill/teacher-features.ts';
import { Projections } from '../../src/distill/projections.ts';
import { tokenizerHash } from '../../src/cache/format.ts';
import { loadTokenizer } from '../../src/data/tokenizer.ts';
import { TeacherSet } from '../../src/distill/teachers.ts';
import { openClassifier } from '../../src/eval/classifier.ts';
import { loadTeacherFolder } from '../../src/teacher/folder.ts';
import { validateTrainOptions, type TrainOptions } from '../../src/train/train-options.ts';
import { runCli, tempDir, writeConfig } from '../cli/helpers.ts';
import { teacherFolder } from '../teacher/encoders.ts';
import { FIXTURES } from '../teacher/helpers.ts';

beforeAll(async () => {
  await initBackend('cpu'); // no tfjs Node banner
});

const work = tempDir('cross-tokenizer-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The student's vocabulary: the tiny BERT fixture's WordPiece vocab.txt, nothing like RoBERTa's. */
const STUDENT_VOCAB = path.join(FIXTURES, 'tiny-bert-opset17', 'vocab.txt');

// A three-class task (labels in another order than the teacher's negative / neutral / positive).
const data = path.join(work, 'sentiment');
fs.mkdirSync(data);
const rows = [
  ['a warm , funny film', 'positive'],
  ['dull and lifeless', 'negative'],
  ['it is a film', 'neutral'],
  ['the best film of the year', 'positive'],
  ['boring , too long', 'negative'],
  ['the film has actors', 'neutral'],
];
const tsv = 'sentence\tlabel\n' + rows.map((r) => r.join('\t')).join('\n') + '\n';
fs.writeFileSync(path.join(data, 'train.tsv'), tsv);
fs.writeFileSync(path.join(data, 'dev.tsv'), tsv);
const TASK = path.join(work, 'sentiment3.json');
const split = (file: string) => ({ file, header: true, textA: 'sentence', label: 'label' });
fs.writeFileSync(
  TASK,
  JSON.stringify({ name: 'sentiment3', displayName: 'Sentiment3', format: 'tsv', labels: ['positive', 'negative', 'neutral'], metrics: ['accuracy'], devSplit: 'dev', splits: { train: split('train.tsv'), dev: split('dev.tsv') } }),
);

const teacher = teacherFolder('roberta', 'ts17', work);

function runConfig(out: string, extra: { losses?: unknown[]; student?: Record<string, unknown> } = {}) {
  return {
    task: TASK,
    teacher: { dir: teacher },
    data: { dir: data, maxLength: 32 },
    backend: 'cpu',
    out,
    cache: { dtype: 'float32', batchSize: 2 },
    student: { hiddenSize: 16, numLayers: 1, numHeads: 4, intermediateSize: 32, maxPositions: 40, tokenizer: STUDENT_VOCAB, ...extra.student },
    distill: { batchSize: 2, stages: [{ name: 'prediction', steps: 4, lr: 1e-3, losses: extra.losses ?? [{ name: 'kd_ce' }] }] },
  };
}

describe('cross-tokenizer distillation', () => {
  it('caches the RoBERTa teacher on its tokens, trains a WordPiece student on its own, exports and evaluates with its tokenizer', async () => {
    const config = writeConfig(work, runConfig(path.join(work, 'run')), 'run.json');
    const cache = await runCli(['cache', '--config', config]);
    expect(cache.code, cache.err).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(work, 'run', 'cache', 'manifest.json'), 'utf8'));
    // Logits only (nothing token-level is usable), on the teacher's tokenizer.
    expect(manifest.layout.logits).toBe(true);
    expect(manifest.layout.hiddenLayers).toEqual([]);
    expect(manifest.layout.attentionLayers).toEqual([]);
    const teacherTok = (await loadTeacherFolder(teacher)).tokenizer;
    expect(manifest.fingerprint.tokenizerSha256).toBe(tokenizerHash(teacherTok.tokenizerJson, teacherTok.tokenizerConfig));
    expect(manifest.tokenizer.vocabSize).toBe(360);

    const train = await runCli(['train', '--config', config]);
    expect(train.code, train.err).toBe(0);
    expect(train.err).toMatch(/student tokenizer: .*vocab\.txt \(122 tokens; the teacher's has 360\)/);
    const log = fs.readFileSync(path.join(work, 'run', 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const steps = log.filter((r) => r.type === 'step');
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) expect(Number.isFinite(s.loss) && s.loss > 0).toBe(true);

    const studentDir = path.join(work, 'run', 'student');
    expect(JSON.parse(fs.readFileSync(path.join(studentDir, 'config.json'), 'utf8')).vocab_size).toBe(122);
    const exported = await runCli(['export', '--config', config]);
    expect(exported.code, exported.err).toBe(0);
    const exportDir = path.join(work, 'run', 'student-onnx');
    expect(JSON.parse(fs.readFileSync(path.join(exportDir, 'config.json'), 'utf8')).vocab_size).toBe(122);
    const exportedTok = JSON.parse(fs.readFileSync(path.join(exportDir, 'tokenizer.json'), 'utf8'));
    expect(exportedTok.model.type).toBe('WordPiece');

    // The export reads text with the student's tokenizer, not the teacher's.
    const student = await loadTokenizer(STUDENT_VOCAB);
    const model = await openClassifier(exportDir);
    try {
      expect(model.tokenizer.vocabSize).toBe(122);
      const text = 'the best film , too long';
      expect(model.tokenizer.encode(text, undefined, 32).inputIds).toEqual(student.encode(text, undefined, 32).inputIds);
      expect(model.tokenizer.encode(text, undefined, 32).inputIds).not.toEqual(teacherTok.encode(text, undefined, 32).inputIds);
    } finally {
      await model.dispose();
    }
    const evaluated = await runCli(['eval', '--model', exportDir, '--task', TASK, '--data', data]);
    expect(evaluated.code, evaluated.err).toBe(0);
    expect(evaluated.out).toMatch(/student-onnx: accuracy [\d.]+/);

    // The cache is checked against the teacher's tokenizer (the student's is another one): a changed teacher tokenizer is refused.
    const cfgFile = path.join(teacher, 'tokenizer_config.json');
    const original = fs.readFileSync(cfgFile, 'utf8');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(original), clean_up_tokenization_spaces: !JSON.parse(original).clean_up_tokenization_spaces }));
    try {
      const refused = await runCli(['train', '--config', config, '--force']);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/was built for different inputs: tokenizer \(cache: sha256/);
    } finally {
      fs.writeFileSync(cfgFile, original);
    }
  });

  it('refuses token-level losses and teacher initialisation, naming the loss and why', async () => {
    const base = runConfig('out');
    for (const loss of ['hidden_mse', 'attention_mse', 'attention_probs_mse', 'attention_kl']) {
      expect(() => parseConfig({ ...base, distill: { stages: [{ name: 's', steps: 1, losses: [{ name: 'kd_ce' }, { name: loss }] }] } }, 'c.json')).toThrow(
        new RegExp(`distill\\.stages\\[0\\]\\.losses\\[1\\]\\.name: "${loss}" matches .*but with student\\.tokenizer the student reads other tokens.*only sequence-level losses work: kd_ce, kd_kl, kd_mse`, 's'),
      );
    }
    expect(() => parseConfig({ ...base, distill: { stages: [{ name: 's', steps: 1, losses: [{ name: 'relation_kl', relationHeads: 4 }] }] } }, 'c.json')).toThrow(/"relation_kl" matches query\/key\/value relations/);
    expect(() => parseConfig({ ...base, student: { ...base.student, init: 'teacher' } }, 'c.json')).toThrow(/student\.init.*embedding table, which belongs to the teacher's vocabulary/s);
    // The same refusal through the CLI, before anything is built.
    const config = writeConfig(work, runConfig(path.join(work, 'refused'), { losses: [{ name: 'hidden_mse' }] }), 'refused.json');
    const r = await runCli(['train', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/"hidden_mse" matches the teacher's hidden state token by token/);
    expect(fs.existsSync(path.join(work, 'refused', 'cache'))).toBe(false);
    // Logit losses alone parse.
    expect(parseConfig({ ...base, distill: { stages: [{ name: 's', steps: 1, losses: [{ name: 'kd_kl' }, { name: 'kd_mse' }, { name: 'ce' }] }] } }, 'c.json').student.tokenizer).toBe(STUDENT_VOCAB);
  });

  it('the trainer and the teacher set refuse token-level matches for a student with its own tokenizer; its vocabulary may differ', () => {
    const opts = {
      task: { name: 't', labels: ['a', 'b'], metrics: ['accuracy'] },
      studentConfig: {},
      train: { encoded: [{ inputIds: [1, 2], tokenTypeIds: [0, 0] }], labels: [0] },
      teachers: [{ cacheDir: 'c' }],
      ownTokenizer: true,
      batchSize: 1,
      seed: 0,
      stages: [{ name: 's', steps: 1, lr: 1e-3, matches: [{ feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 1 }] }],
    } as unknown as TrainOptions;
    expect(() => validateTrainOptions(opts)).toThrow(/stages\[0\] \(s\): the "hidden_mse" loss matches the teacher token by token, but the student has its own tokenizer/);
    expect(() => validateTrainOptions({ ...opts, stages: [{ name: 's', steps: 1, lr: 1e-3, matches: [{ feature: 'logits', loss: 'kd_ce', weight: 1 }] }] })).not.toThrow();

    // An in-memory cache of a teacher whose vocabulary (360) is not the student's (122).
    const cache = {
      manifest: { tokenizer: { vocabSize: 360 }, layout: { logits: true, numLabels: 2, hiddenSize: 4, numHeads: 1, numLayers: 1, hiddenLayers: [], attentionLayers: [] } },
      numExamples: 1,
      readExample: () => ({ length: 5, logits: Float32Array.from([1, -1]), hidden: [], attention: [] }),
    };
    const expect122 = { numExamples: 1, studentVocabSize: 122, numLabels: 2, task: 't' };
    const logitsOnly = { hidden: [], attention: [], logits: true };
    expect(() => TeacherSet.open([{ cache }], 0, expect122, logitsOnly)).toThrow(/student and teacher must share one tokenizer \(or give the student its own with student\.tokenizer/);
    const set = TeacherSet.open([{ cache }], 0, { ...expect122, ownTokenizer: true }, logitsOnly);
    // A student batch of 3 tokens reads the teacher's row of 5: logits are per example.
    const batch = { size: 1, seqLen: 3, lengths: [3], indices: [0], inputIds: new Int32Array(3), attentionMask: new Int32Array(3), tokenTypeIds: new Int32Array(3) };
    const targets = tf.tidy(() => set.batchTargets(batch, logitsOnly, tf.ones([1, 3]) as tf.Tensor2D).logits[0]);
    expect(targets.arraySync()).toEqual([[1, -1]]);
    targets.dispose();
    expect(() => TeacherSet.open([{ cache }], 0, { ...expect122, ownTokenizer: true }, { hidden: [1], attention: [], logits: true })).toThrow(/the student has its own tokenizer, so the teacher's hidden states/);
  });
});

describe('pooled hidden-state MSE (sequence-level, across tokenizers)', () => {
  it('pools each side over its own real tokens, by hand', () => {
    tf.tidy(() => {
      // Student: 3 positions, the last padding; teacher rows: 2 and 4 tokens of width 2.
      const h = tf.tensor3d([[[1, 2], [3, 4], [100, 100]]]);
      expect(meanPool(h, tf.tensor2d([[1, 1, 0]])).arraySync()).toEqual([[2, 3]]);
      const rows = [
        { length: 2, hidden: [Float32Array.from([1, 1, 3, 5])], attention: [] },
        { length: 4, hidden: [Float32Array.from([0, 0, 4, 4, 8, 0, 0, 4])], attention: [] },
      ];
      // The student's batch has 3 tokens per row: the teacher's counts (2, 4) need not match.
      const f = collateTeacherFeatures(rows, [3, 3], [0, 1], 3, { hiddenSize: 2, numHeads: 1 }, { hidden: [], attention: [], logits: false, pooled: [0] }, tf.ones([2, 3]) as tf.Tensor2D);
      expect(f.pooled![0].arraySync()).toEqual([[2, 3], [3, 2]]);
      // (2−2)² + (3−4)² + (2−3)² + (3−2)² over 4 values.
      expect(pooledMse(f.pooled![0], tf.tensor2d([[2, 4], [2, 3]])).arraySync()).toBeCloseTo(0.75, 6);
    });
  });

  it("computeDistillLoss projects the student's pooled vector to the teacher's width", () => {
    const proj = Projections.create({ studentHidden: 2, teacherHidden: 3, studentHeads: 1, teacherHeads: 1, hiddenLayers: [1], shared: false, seed: 1 });
    try {
      tf.tidy(() => {
        proj.hidden(1)!.kernel.assign(tf.tensor2d([[1, 0, 1], [0, 1, 1]]));
        const mask = tf.tensor2d([[1, 1, 0]]);
        const s = { hidden: [tf.zeros([1, 3, 2]) as tf.Tensor3D, tf.tensor3d([[[1, 2], [3, 4], [9, 9]]])], attentionScores: [], mask };
        // Student pooled [2, 3] → projected [2, 3, 5]; teacher [2, 3, 6]: mean of (0, 0, 1).
        const t = { hidden: [], attentionScores: [], mask, pooled: [undefined, undefined, tf.tensor2d([[2, 3, 6]])] as unknown as tf.Tensor2D[] };
        const r = computeDistillLoss([{ feature: 'pooled', layerS: 1, layerT: 2, loss: 'pooled_mse', weight: 1 }], s, t, proj);
        expect(r.parts['pooled_mse/s1-t2'].arraySync()).toBeCloseTo(1 / 3, 6);
      });
    } finally {
      proj.dispose();
    }
  });

  it('a cross-tokenizer cache stores the last hidden state (no attention) only when pooled_mse reads it', () => {
    const base = runConfig('/runs/x');
    const pooled = parseConfig({ ...base, distill: { stages: [{ name: 's', steps: 1, losses: [{ name: 'kd_ce' }, { name: 'pooled_mse' }] }] } }, 'c.json');
    expect(opt.cacheOptions(pooled, 6)).toMatchObject({ logitsOnly: false, attention: 'none', hiddenLayers: [6] });
    expect(opt.cacheOptions(parseConfig(base, 'c.json'), 6)).toMatchObject({ logitsOnly: true, layers: undefined });
    expect(opt.trainerStages(pooled, 10, undefined, 6)[0].matches).toContainEqual({ feature: 'pooled', layerS: 1, layerT: 6, loss: 'pooled_mse', weight: 1 });
  });

  it('trains a WordPiece student on kd_ce + pooled_mse from the RoBERTa teacher', async () => {
    const config = writeConfig(work, runConfig(path.join(work, 'pooled'), { losses: [{ name: 'kd_ce' }, { name: 'pooled_mse' }] }), 'pooled.json');
    const cache = await runCli(['cache', '--config', config]);
    expect(cache.code, cache.err).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(work, 'pooled', 'cache', 'manifest.json'), 'utf8'));
    expect(manifest.layout.hiddenLayers).toEqual([2]);
    expect(manifest.layout.attentionLayers).toEqual([]);
    const train = await runCli(['train', '--config', config]);
    expect(train.code, train.err).toBe(0);
    const steps = fs.readFileSync(path.join(work, 'pooled', 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'step');
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) expect(Number.isFinite(s.parts['pooled_mse/s1-t2']) && s.parts['pooled_mse/s1-t2'] > 0).toBe(true);
  });
});
