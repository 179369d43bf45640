/**
 * Structured pruning on the demo task: size / ONNX latency / dev metric before pruning, right after it
 * (no recovery), and after recovery distillation. One kd_ce distillation from the demo teacher's cached
 * logits gives the base student; from it two continuations of the same length: float without pruning
 * (the "before" row, so both have seen the same number of updates) and a stage that prunes at its start
 * (importance from its own kd_ce loss, Michel et al.) and then recovers. The pruned model before any
 * recovery update is kept through the trainer's onPruned hook. Every row is an exported ONNX file run by
 * onnxruntime (1 thread): dev metric, parameters, size, median latency at b=1 and b=32.
 *
 *   npx tsx scripts/compare-pruning.ts [--steps 600] [--recovery-steps 200] [--recovery-lr 2e-4]
 *       [--heads 4] [--ffn 256] [--batches 32] [--seed 42] [--runs 50] [--threads 1]
 *       [--out runs/compare-pruning] [--base <student folder>] [--fresh yes]
 * --heads / --ffn: totals kept over all layers, or comma-separated counts per layer (e.g. 3,1).
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
import { layerHeadCount, layerIntermediateSize, type BertConfig } from '../src/student/config.ts';
import { loadStudentFolder, readStudentConfig, saveStudentFolder } from '../src/student/folder.ts';
import { paramShapes } from '../src/student/param-names.ts';
import { loadTeacherFolder } from '../src/teacher/folder.ts';
import { train, type StageOptions, type TrainResult } from '../src/train/trainer.ts';
import type { PruneOptions, TrainData } from '../src/train/train-options.ts';
import { arg, bertConfig, ROOT } from './compare-hard-vs-distill.ts';

const MAX_LENGTH = 64;
const STUDENT = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 }; // data/demo/config.json's

const target = (s: string): number | number[] => (s.includes(',') ? s.split(',').map(Number) : Number(s));

async function main(): Promise<void> {
  const outDir = arg('out', path.join(ROOT, 'runs/compare-pruning'));
  const steps = Number(arg('steps', '600'));
  const recoverySteps = Number(arg('recovery-steps', '200'));
  const recoveryLr = Number(arg('recovery-lr', '2e-4'));
  const prune: PruneOptions = { heads: target(arg('heads', '4')), ffn: target(arg('ffn', '256')), score: 'gradient', batches: Number(arg('batches', '32')), normalize: true };
  const seed = Number(arg('seed', '42'));
  const runs = Number(arg('runs', '50'));
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
  const stage = (name: string, n: number, lr: number, p?: PruneOptions): StageOptions => ({
    name, steps: n, lr, lrSchedule: { kind: 'linear', warmupSteps: Math.round(n / 10) }, matches: predictionMatches({ regression: false }), ...(p && { prune: p }),
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
  const prunedDir = path.join(outDir, 'pruned-no-recovery');
  let base: string, floatDir: string, recoveredDir: string;
  try {
    // Training is deterministic (seed): students finished by an earlier call in <out> are reused unless --fresh yes.
    const trained = async (name: string, run: () => Promise<TrainResult>): Promise<string> => {
      const dir = path.join(outDir, name);
      if (fs.existsSync(path.join(dir, 'config.json')) && arg('fresh', 'no') === 'no') {
        console.error(`reusing the student in ${dir} (--fresh yes to retrain)`);
        return dir;
      }
      return save(await timed(name, run), name);
    };
    base = arg('base', '') || (await trained('base', () => train({ ...common, studentConfig: bertConfig(task, folder.tokenizer.vocabSize, STUDENT), stages: [stage('prediction', steps, 1e-3)] })));
    floatDir = await trained('unpruned', async () => train({ ...common, initStudent: await loadStudentFolder(base), stages: [stage('float', recoverySteps, recoveryLr)] }));
    recoveredDir = await trained('pruned-recovered', async () => train({
      ...common,
      initStudent: await loadStudentFolder(base),
      stages: [stage('prune', recoverySteps, recoveryLr, prune)],
      onPruned: (s) => saveStudentFolder(s, tokenizer, prunedDir, { force: true }),
    }));
  } finally {
    cache.close();
  }
  const rowsIn: [string, string][] = [
    ['before pruning (unpruned, same updates)', floatDir],
    ['after pruning, no recovery', prunedDir],
    [`after recovery distillation (${recoverySteps} kd_ce updates)`, recoveredDir],
  ];
  const examples = readSplit(task, dataDir, task.devSplit);
  const opts = { task, examples, maxLength: MAX_LENGTH, batchSize: 64, latencyBatchSizes: [1, 32], latencyRuns: runs, provider: 'cpu' as const, threads };
  const rows: [string, ScoredFolder, BertConfig][] = [];
  for (const [name, dir] of rowsIn) {
    const onnxDir = `${dir}-onnx`;
    await exportStudent({ studentFolder: dir, outDir: onnxDir, force: true });
    rows.push([name, await scoreFolder(name, onnxDir, opts), readStudentConfig(path.join(dir, 'config.json'))]);
  }
  const metric = task.metrics[0];
  const ref = rows[0][1];
  const params = (c: BertConfig) => [...paramShapes(c).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const shape = (c: BertConfig) => {
    const layers = [...Array(c.num_hidden_layers).keys()];
    return `${layers.map((i) => layerHeadCount(c, i)).join('/')} heads, FFN ${layers.map((i) => layerIntermediateSize(c, i)).join('/')}`;
  };
  const md = [
    `Demo task (${examples.length} dev sentences), student ${JSON.stringify(STUDENT)}, ${steps} kd_ce updates (lr 1e-3), then ${recoverySteps} more at lr ${recoveryLr}: ` +
      `float for the "before" row; for the pruned rows a stage with prune ${JSON.stringify({ heads: prune.heads, ffn: prune.ffn, batches: prune.batches })} ` +
      `(gradient importance on kd_ce, per-layer normalised; totals over layers unless per layer). seed ${seed}, tfjs ${backend.name}. ` +
      `onnxruntime CPU, ${threads} thread(s), median of ${runs} runs, max length ${MAX_LENGTH}.`,
    '',
    `| model | shape (per layer) | parameters | dev ${metric} | Δ vs before | same prediction | size | latency b=1 | latency b=32 |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(([name, s, c]) => {
      const m = s.row.metrics?.[metric] ?? NaN;
      const d = m - (ref.row.metrics?.[metric] ?? NaN);
      const same = agreement(s.predictions, ref.predictions, false);
      return `| ${name} | ${shape(c)} | ${params(c).toLocaleString('en')} | ${m.toFixed(4)} | ${s === ref ? '' : `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)} pt`} | ${s === ref ? '' : `${(100 * same).toFixed(1)}%`} | ` +
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
