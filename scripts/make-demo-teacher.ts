/**
 * Makes the shipped demo teacher, reproducibly, with the project's own stages: a small BERT trained
 * on the demo task's hard labels by the trainer (gold-label mode, no teacher), then written by the
 * exporter as a Hugging Face ONNX folder in data/demo/teacher/ (config.json, tokenizer files,
 * onnx/model.onnx) plus training.json recording how it was made and its dev score.
 *
 *   npx tsx scripts/make-demo-teacher.ts [--steps 1000] [--seed 7] [--out data/demo/teacher]
 *       [--work runs/make-demo-teacher] [--backend auto]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeBackend, initBackend, type BackendPreference } from '../src/backend/select.ts';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import { loadTokenizer } from '../src/data/tokenizer.ts';
import { train } from '../src/train/trainer.ts';
import type { TrainData } from '../src/train/train-options.ts';
import { exportStudent } from '../src/export/export.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../src/student/config.ts';
import { writeJsonAtomic } from '../src/util/atomic.ts';
import { createProgress } from '../src/util/progress.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string', default: path.join(ROOT, 'data/demo/teacher') },
    work: { type: 'string', default: path.join(ROOT, 'runs/make-demo-teacher') },
    backend: { type: 'string', default: 'auto' },
  },
});

/** The teacher's shape: 4 layers so a 2-layer student maps uniformly (k = 2); about 1 MB as ONNX. */
export const DEMO_TEACHER_SHAPE = { hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 256 };
const MAX_LENGTH = 64;
const LR = 1e-3;
const BATCH = 32;

async function main(): Promise<void> {
  const steps = Number(args.steps);
  const seed = Number(args.seed);
  const backend = await initBackend(args.backend as BackendPreference);
  console.error(`tfjs backend: ${describeBackend(backend)}`);
  const task = loadTask('sst2'); // the demo task uses SST-2's layout and labels
  const dataDir = path.join(ROOT, 'data/demo/task');
  const tokenizer = await loadTokenizer(path.join(ROOT, 'data/demo'));
  const encode = (split: string): TrainData => {
    const ex = readSplit(task, dataDir, split);
    return { encoded: ex.map((e) => tokenizer.encode(e.textA, e.textB, MAX_LENGTH)), labels: ex.map((e) => e.label) };
  };
  const labels = task.labels!;
  const config: BertConfig = {
    ...DEFAULT_BERT_CONFIG,
    ...DEMO_TEACHER_SHAPE,
    max_position_embeddings: 128,
    vocab_size: tokenizer.vocabSize,
    num_labels: labels.length,
    problem_type: 'single_label_classification',
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
  fs.rmSync(args.work!, { recursive: true, force: true });
  const bar = createProgress('teacher', steps, { quiet: !process.stderr.isTTY });
  const started = Date.now();
  const res = await train({
    task,
    studentConfig: config,
    train: encode('train'),
    dev: encode(task.devSplit),
    stages: [{ name: 'hard-labels', steps, lr: LR, matches: [{ feature: 'labels', loss: 'ce', weight: 1 }] }],
    batchSize: BATCH,
    seed,
    evalEvery: 250,
    logFile: path.join(args.work!, 'train-log.jsonl'),
    onProgress: (_s, _t, info) => bar.update(info.stageStep, { loss: info.loss }),
  });
  bar.stop();
  const best = res.best;
  if (!best) throw new Error('the teacher was never evaluated');
  const seconds = (Date.now() - started) / 1000;
  console.error(`best dev ${best.metric} ${best.score.toFixed(4)} at step ${best.step} (${seconds.toFixed(0)} s)`);
  await exportStudent({ student: best.student, tokenizer: path.join(ROOT, 'data/demo'), outDir: args.out!, force: true });
  writeJsonAtomic(path.join(args.out!, 'training.json'), {
    made_by: 'scripts/make-demo-teacher.ts',
    task: 'demo (data/demo/task, SST-2 layout)',
    shape: DEMO_TEACHER_SHAPE,
    max_length: MAX_LENGTH,
    steps,
    seed,
    lr: LR,
    batch_size: BATCH,
    loss: 'ce (gold labels)',
    backend: backend.name,
    best: { step: best.step, metric: best.metric, dev: best.metrics },
    train_seconds: Math.round(seconds),
  });
  console.error(`teacher written to ${args.out}`);
}

await main();
