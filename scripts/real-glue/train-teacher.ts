/**
 * Trains a BERT teacher from scratch on a task's gold labels with the project's own trainer
 * (hard-label mode), keeps the best dev checkpoint and exports it as a Hugging Face ONNX folder
 * (config.json, tokenizer files, onnx/model.onnx) that `distill cache` takes as its teacher.
 * Resumable: a killed run continues from <work>/checkpoints; an existing complete --out is kept.
 *
 *   npx tsx scripts/real-glue/train-teacher.ts --task sst2 --data ../shared/glue/SST-2
 *       --vocab ../shared/vocab/bert-base-uncased-vocab.txt --shape data/real-glue/teacher.json
 *       --work runs/real-glue/sst2/teacher-train --out runs/real-glue/sst2/teacher
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { describeBackend, initBackend, type BackendPreference } from '../../src/backend/select.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { loadTokenizer } from '../../src/data/tokenizer.ts';
import type { TaskSpec } from '../../src/data/types.ts';
import { predictionMatches } from '../../src/distill/losses.ts';
import { train } from '../../src/train/trainer.ts';
import { exportStudent } from '../../src/export/export.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../../src/student/config.ts';
import { saveStudentFolder } from '../../src/student/folder.ts';
import { writeJsonAtomic } from '../../src/util/atomic.ts';
import { UserError } from '../../src/util/errors.ts';

/** data/real-glue/teacher.json: the teacher's shape, and its training recipe per task. */
export interface TeacherPlan {
  shape: { hiddenSize: number; numLayers: number; numHeads: number; intermediateSize: number };
  maxLength: number;
  batchSize: number;
  lr: number;
  evalEvery: number;
  seed: number;
  steps: Record<string, number>;
}

export function readTeacherPlan(file: string): TeacherPlan {
  const plan = JSON.parse(fs.readFileSync(file, 'utf8')) as TeacherPlan;
  for (const k of ['maxLength', 'batchSize', 'lr', 'evalEvery', 'seed'] as const) {
    if (typeof plan[k] !== 'number') throw new UserError(`${file}: "${k}" must be a number`);
  }
  if (!plan.shape || !plan.steps) throw new UserError(`${file}: needs "shape" and "steps"`);
  return plan;
}

export function teacherConfig(plan: TeacherPlan, task: TaskSpec, vocabSize: number): BertConfig {
  const labels = task.labels;
  if (!labels) throw new UserError(`task ${task.name}: regression teachers are not part of this recipe`);
  return {
    ...DEFAULT_BERT_CONFIG,
    hidden_size: plan.shape.hiddenSize,
    num_hidden_layers: plan.shape.numLayers,
    num_attention_heads: plan.shape.numHeads,
    intermediate_size: plan.shape.intermediateSize,
    max_position_embeddings: plan.maxLength,
    vocab_size: vocabSize,
    num_labels: labels.length,
    problem_type: 'single_label_classification',
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      task: { type: 'string' }, data: { type: 'string' }, vocab: { type: 'string' }, shape: { type: 'string' },
      work: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string', default: 'auto' },
    },
  });
  for (const k of ['task', 'data', 'vocab', 'shape', 'work', 'out'] as const) if (!a[k]) throw new UserError(`--${k} is required`);
  const out = path.resolve(a.out!);
  if (fs.existsSync(path.join(out, 'onnx', 'model.onnx'))) {
    console.error(`teacher ${out} exists; nothing to do`);
    return;
  }
  const plan = readTeacherPlan(a.shape!);
  const task = loadTask(a.task!);
  const steps = plan.steps[task.name];
  if (!(steps > 0)) throw new UserError(`${a.shape}: no "steps.${task.name}"`);
  const backend = await initBackend(a.backend as BackendPreference);
  console.error(`tfjs backend: ${describeBackend(backend)}`);
  const tok = await loadTokenizer(a.vocab!);
  const encode = (split: string) => {
    const ex = readSplit(task, a.data!, split);
    return { encoded: ex.map((e) => tok.encode(e.textA, e.textB, plan.maxLength)), labels: ex.map((e) => e.label) };
  };
  const work = path.resolve(a.work!);
  fs.mkdirSync(work, { recursive: true });
  const started = Date.now();
  let lastPrint = 0;
  const res = await train({
    task,
    studentConfig: teacherConfig(plan, task, tok.vocabSize),
    train: encode('train'),
    dev: encode(task.devSplit),
    batchSize: plan.batchSize,
    seed: plan.seed,
    evalEvery: plan.evalEvery,
    checkpointDir: path.join(work, 'checkpoints'),
    resume: true,
    logFile: path.join(work, 'train-log.jsonl'),
    stages: [{ name: 'teacher', steps, lr: plan.lr, matches: predictionMatches({ regression: false, alpha: 1 }) }],
    onProgress: (step, total, info) => {
      if (Date.now() - lastPrint > 15000 || step === total) {
        lastPrint = Date.now();
        console.error(`[${task.name} teacher] step ${step}/${total} loss ${info.loss.toFixed(4)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      }
    },
  });
  const chosen = res.best?.student ?? res.student;
  const saved = path.join(work, 'student');
  await saveStudentFolder(chosen, a.vocab!, saved, { force: true });
  await exportStudent({ studentFolder: saved, outDir: out, force: true });
  const best = res.best ? { step: res.best.step, metric: res.best.metric, score: res.best.score, metrics: res.best.metrics } : undefined;
  writeJsonAtomic(path.join(work, 'summary.json'), { steps: res.steps, finalLoss: res.finalLoss, best, seconds: (Date.now() - started) / 1000 });
  console.error(`[${task.name} teacher] done: best dev ${JSON.stringify(best?.metrics)} → ${out}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
