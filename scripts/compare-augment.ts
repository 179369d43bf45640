/**
 * The student distilled with augmented training data against the same student without it (same
 * steps, same seed, same teacher), both scored on the task's dev split.
 *
 *   npx tsx scripts/compare-augment.ts [--task sst2] [--data data/demo/task] [--teacher data/demo/teacher]
 *       [--mlm DIR] [--steps 300] [--n N] [--seed 42] [--out runs/compare-augment] [--max-length 64]
 *
 * The teacher's features are computed in memory here (a few thousand short examples); the CLI's
 * `distill augment` writes the on-disk cache instead. Prints one JSON object with both dev scores.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { augmentTask } from '../src/augment/augment.ts';
import { initBackend } from '../src/backend/select.ts';
import { collate, planBatches } from '../src/data/batching.ts';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import type { BertTokenizer } from '../src/data/tokenizer.ts';
import type { Encoded, TaskSpec } from '../src/data/types.ts';
import { predictionMatches } from '../src/distill/losses.ts';
import { mappingMatches, uniformMap } from '../src/distill/mapping.ts';
import type { CachedExample } from '../src/distill/teacher-features.ts';
import type { TeacherCacheLike } from '../src/distill/teachers.ts';
import { train } from '../src/train/trainer.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../src/student/config.ts';
import { Teacher } from '../src/teacher/teacher.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const root = path.resolve(import.meta.dirname, '..');
const taskArg = arg('task', 'sst2'); // the demo task is SST-2's layout
const dataDir = arg('data', path.join(root, 'data/demo/task'));
const teacherDir = arg('teacher', path.join(root, 'data/demo/teacher'));
const mlmDir = process.argv.includes('--mlm') ? arg('mlm', '') : undefined;
const steps = Number(arg('steps', '300'));
const seed = Number(arg('seed', '42'));
const maxLengthArg = Number(arg('max-length', '64'));
const outDir = arg('out', path.join(root, 'runs/compare-augment'));
const n = process.argv.includes('--n') ? Number(arg('n', '0')) : undefined;
for (const p of [dataDir, teacherDir]) {
  if (!fs.existsSync(p)) {
    console.error(`${p} does not exist (the demo data and teacher come from scripts that make data/demo; or pass --data / --teacher)`);
    process.exit(1);
  }
}

/** Teacher logits, hidden states and attention scores of every example, held in memory. */
async function teacherCache(teacher: Teacher, encoded: Encoded[]): Promise<TeacherCacheLike> {
  const examples: CachedExample[] = new Array(encoded.length);
  const cut = (data: Float32Array, b: number, L: number, len: number, width: number) => data.slice(b * L * width, (b * L + len) * width);
  for (const idx of planBatches(encoded.map((e) => e.inputIds.length), { batchSize: 64, shuffle: false, seed: 0 })) {
    const batch = collate(encoded, idx, undefined, teacher.folder.tokenizer.padId);
    const out = await teacher.run(batch);
    const L = batch.seqLen;
    idx.forEach((ex, b) => {
      const len = batch.lengths[b];
      const hidden = [...out.hidden.keys()].sort((x, y) => x - y).map((l) => {
        const t = out.hidden.get(l)!;
        return cut(t.data, b, L, len, t.dims[2]);
      });
      const attention = [...out.scores.keys()].sort((x, y) => x - y).map((l) => {
        const t = out.scores.get(l)!;
        const heads = t.dims[1];
        const a = new Float32Array(heads * len * len);
        for (let h = 0; h < heads; h++) {
          for (let i = 0; i < len; i++) a.set(t.data.subarray(((b * heads + h) * L + i) * L, ((b * heads + h) * L + i) * L + len), (h * len + i) * len);
        }
        return a;
      });
      const nl = out.logits?.dims[1] ?? 0;
      examples[ex] = { length: len, logits: out.logits?.data.slice(b * nl, (b + 1) * nl), hidden, attention };
    });
  }
  return { numExamples: encoded.length, readExample: (i) => examples[i] };
}

function studentConfig(task: TaskSpec, tok: BertTokenizer, layers: number): BertConfig {
  const labels = task.labels ?? ['score'];
  return {
    ...DEFAULT_BERT_CONFIG,
    hidden_size: 64,
    num_hidden_layers: layers,
    num_attention_heads: 4,
    intermediate_size: 128,
    max_position_embeddings: Math.max(maxLength, 64),
    vocab_size: tok.vocabSize,
    num_labels: task.labels ? task.labels.length : 1,
    problem_type: task.labels ? 'single_label_classification' : 'regression',
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}

await initBackend('auto');
const task = loadTask(taskArg);
const aug = await augmentTask({ task, dataDir, outDir: path.join(outDir, 'augmented'), teacher: teacherDir, mlm: mlmDir, n, seed, force: true });
const teacher = await Teacher.load(teacherDir, { workDir: path.join(outDir, 'teacher'), notice: () => {} });
const tok = teacher.folder.tokenizer;
const maxLength = Math.min(maxLengthArg, teacher.maxPositions);
const encode = (dir: string, split: string) => {
  const ex = readSplit(task, dir, split);
  return { encoded: ex.map((e) => tok.encode(e.textA, e.textB, maxLength)), labels: ex.map((e) => e.label) };
};
const dev = encode(dataDir, task.devSplit);
const nT = teacher.folder.config.num_hidden_layers;
// The deepest student up to 4 layers that the uniform mapping allows (nT divisible by nS).
const nS = [4, 3, 2, 1].find((l) => nT % l === 0)!;
const results: Record<string, unknown> = {};
for (const [name, dir] of [['original', dataDir], ['augmented', aug.outDir]] as const) {
  const data = encode(dir, 'train');
  const started = Date.now();
  const result = await train({
    task,
    studentConfig: studentConfig(task, tok, nS),
    train: data,
    dev,
    teachers: [{ cache: await teacherCache(teacher, data.encoded) }],
    stages: [
      { name: 'intermediate', steps, matches: mappingMatches(uniformMap(nT, nS)), lr: 5e-4 },
      { name: 'prediction', steps, matches: predictionMatches({ regression: task.labels === null }), lr: 3e-4 },
    ],
    batchSize: 32,
    seed,
  });
  results[name] = { trainExamples: data.encoded.length, best: result.best && { metric: result.best.metric, score: result.best.score, metrics: result.best.metrics }, seconds: (Date.now() - started) / 1000 };
}
await teacher.dispose();
console.log(JSON.stringify({ task: task.name, steps: { intermediate: steps, prediction: steps }, seed, augmentation: { rows: aug.rows, candidates: aug.candidates, source: aug.candidateSource }, ...results }, null, 2));
