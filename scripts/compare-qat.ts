/**
 * fp32 vs post-training dynamic int8 (export.quantize) vs quantisation-aware int8 on the demo task.
 * One fp32 distillation (kd_ce from the demo teacher's cached logits), then from its best student two
 * continuations of the same length: float (the fp32 and post-training int8 rows) and quantisation-aware
 * (the QAT row, observed activation ranges) and, with --learned yes, a third with learned ranges (LSQ+), so
 * each int8 model has seen exactly the same number of updates as its float reference.
 * Every row is an exported ONNX file run by onnxruntime (1 thread): dev metric, size, median latency.
 *
 *   npx tsx scripts/compare-qat.ts [--steps 600] [--qat-steps 200] [--qat-lr 2e-4] [--seed 42]
 *       [--runs 50] [--threads 1] [--out runs/compare-qat] [--fresh yes] [--learned yes]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendPreference } from '../src/backend/select.ts';
import { buildCache } from '../src/cache/writer.ts';
import { openCache } from '../src/cache/reader.ts';
import { agreement, scoreFolder, type ScoredFolder } from '../src/cli/pipeline-eval.ts';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import { predictionMatches } from '../src/distill/losses.ts';
import { exportStudent } from '../src/export/export.ts';
import { loadStudentFolder, saveStudentFolder } from '../src/student/folder.ts';
import { loadTeacherFolder } from '../src/teacher/folder.ts';
import { train, type StageOptions, type TrainResult } from '../src/train/trainer.ts';
import type { TrainData } from '../src/train/train-options.ts';
import { arg, bertConfig, ROOT } from './compare-hard-vs-distill.ts';

const MAX_LENGTH = 64;
const STUDENT = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 }; // data/demo/config.json's

async function main(): Promise<void> {
  const outDir = arg('out', path.join(ROOT, 'runs/compare-qat'));
  const steps = Number(arg('steps', '600'));
  const qatSteps = Number(arg('qat-steps', '200'));
  const qatLr = Number(arg('qat-lr', '2e-4'));
  const seed = Number(arg('seed', '42'));
  const runs = Number(arg('runs', '50'));
  const learned = arg('learned', 'no') === 'yes';
  const threads = Number(arg('threads', '1'));
  const teacherDir = arg('teacher', path.join(ROOT, 'data/demo/teacher'));
  const dataDir = arg('data', path.join(ROOT, 'data/demo/task'));
  const tokenizer = arg('tokenizer', path.join(ROOT, 'data/demo/tokenizer.json'));
  const backend = await initBackend(arg('backend', 'auto') as BackendPreference);
  const task = loadTask('sst2');
  const folder = await loadTeacherFolder(teacherDir);
  const cacheDir = path.join(outDir, 'cache');
  await buildCache({ teacherDir, task, dataDir, split: 'train', outDir: cacheDir, maxLength: MAX_LENGTH, batchSize: 64, logitsOnly: true, notice: (m) => console.error(m) });
  const encode = (split: string): TrainData => {
    const ex = readSplit(task, dataDir, split);
    return { encoded: ex.map((e) => folder.tokenizer.encode(e.textA, e.textB, MAX_LENGTH)), labels: ex.map((e) => e.label) };
  };
  const trainData = encode('train');
  const dev = encode(task.devSplit);
  const cache = openCache(cacheDir);
  const stage = (name: string, n: number, lr: number, quantize = false): StageOptions => ({
    name, steps: n, lr, lrSchedule: { kind: 'linear', warmupSteps: Math.round(n / 10) }, matches: predictionMatches({ regression: false }), ...(quantize && { quantize }),
  });
  const common = { task, train: trainData, dev, teachers: [{ cache }], batchSize: 32, seed, evalEvery: 50 };
  const seconds: Record<string, number> = {};
  const timed = async (name: string, run: () => Promise<TrainResult>): Promise<TrainResult> => {
    const t0 = Date.now();
    const res = await run();
    seconds[name] = (Date.now() - t0) / 1000;
    console.error(`${name}: best dev ${res.best?.metric} ${res.best?.score.toFixed(4)} (step ${res.best?.step}) in ${seconds[name].toFixed(0)} s`);
    return res;
  };
  const save = async (res: TrainResult, name: string): Promise<string> => {
    const dir = path.join(outDir, name);
    await saveStudentFolder(res.best?.student ?? res.student, tokenizer, dir, { force: true });
    res.student.dispose();
    res.best?.student.dispose();
    return dir;
  };
  let base: string, floatDir: string, qatDir: string, learnedDir: string | undefined;
  try {
    // Training is deterministic (seed): students finished by an earlier call in <out> are reused unless
    // --fresh yes (so the timing can be repeated on a quieter machine without retraining).
    const trained = async (name: string, run: () => Promise<TrainResult>): Promise<string> => {
      const dir = path.join(outDir, name);
      if (fs.existsSync(path.join(dir, 'config.json')) && arg('fresh', 'no') === 'no') {
        console.error(`reusing the student in ${dir} (--fresh yes to retrain)`);
        return dir;
      }
      return save(await timed(name, run), name);
    };
    base = await trained('base', () => train({ ...common, studentConfig: bertConfig(task, folder.tokenizer.vocabSize, STUDENT), stages: [stage('prediction', steps, 1e-3)] }));
    floatDir = await trained('fp32', async () => train({ ...common, initStudent: await loadStudentFolder(base), stages: [stage('float', qatSteps, qatLr)] }));
    qatDir = await trained('qat', async () => train({ ...common, initStudent: await loadStudentFolder(base), stages: [stage('qat', qatSteps, qatLr, true)] }));
    if (learned) {
      learnedDir = await trained('qat-learned', async () =>
        train({ ...common, initStudent: await loadStudentFolder(base), quantization: { ranges: 'learned' }, stages: [stage('qat', qatSteps, qatLr, true)] }));
    }
  } finally {
    cache.close();
  }
  await exportStudent({ studentFolder: floatDir, outDir: path.join(outDir, 'fp32-onnx'), quantize: true, force: true });
  await exportStudent({ studentFolder: qatDir, outDir: path.join(outDir, 'qat-onnx'), force: true });
  if (learnedDir) await exportStudent({ studentFolder: learnedDir, outDir: path.join(outDir, 'qat-learned-onnx'), force: true });

  const examples = readSplit(task, dataDir, task.devSplit);
  const opts = { task, examples, maxLength: MAX_LENGTH, batchSize: 64, latencyBatchSizes: [1, 32], latencyRuns: runs, provider: 'cpu' as const, threads };
  const rows: [string, ScoredFolder][] = [
    ['fp32', await scoreFolder('fp32', path.join(outDir, 'fp32-onnx'), opts)],
    ['int8, post-training dynamic (export.quantize)', await scoreFolder('ptq', path.join(outDir, 'fp32-onnx'), { ...opts, quantized: true })],
    ['int8, quantisation-aware (QDQ, observed ranges)', await scoreFolder('qat', path.join(outDir, 'qat-onnx'), { ...opts, quantized: true })],
  ];
  if (learnedDir) rows.push(['int8, quantisation-aware (QDQ, learned ranges)', await scoreFolder('qat-learned', path.join(outDir, 'qat-learned-onnx'), { ...opts, quantized: true })]);
  const metric = task.metrics[0];
  const ref = rows[0][1];
  const md = [
    `Demo task (${examples.length} dev sentences), student ${JSON.stringify(STUDENT)}, ${steps} kd_ce updates (lr 1e-3) then ${qatSteps} more at lr ${qatLr}: ` +
      `float for the fp32 and post-training rows, quantisation-aware for the QAT row; seed ${seed}, tfjs ${backend.name}. ` +
      `onnxruntime CPU, ${threads} thread(s), median of ${runs} runs, max length ${MAX_LENGTH}.`,
    '',
    `| model | dev ${metric} | Δ vs fp32 | same prediction as fp32 | size | latency b=1 | latency b=32 |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(([name, s]) => {
      const m = s.row.metrics?.[metric] ?? NaN;
      const d = m - (ref.row.metrics?.[metric] ?? NaN);
      const same = agreement(s.predictions, ref.predictions, false);
      return `| ${name} | ${m.toFixed(4)} | ${s === ref ? '' : `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)} pt`} | ${s === ref ? '' : `${(100 * same).toFixed(1)}%`} | ` +
        `${((s.row.sizeBytes ?? NaN) / 1024).toFixed(0)} KiB | ${s.row.latencyMs?.[1]?.toFixed(3)} ms | ${s.row.latencyMs?.[32]?.toFixed(3)} ms |`;
    }),
    '',
    Object.keys(seconds).length ? `Training: ${Object.entries(seconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')}.` : 'Students reused from an earlier call.',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'results.md'), md);
  console.log(md);
}

await main();
