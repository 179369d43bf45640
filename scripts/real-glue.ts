/**
 * Distillation on real GLUE text, end to end, for SST-2, CoLA and MRPC (docs/real-glue.md):
 *
 *   npx tsx scripts/real-glue.ts [--glue ../shared/glue] [--vocab ../shared/vocab/bert-base-uncased-vocab.txt]
 *        [--tasks sst2,cola,mrpc] [--jobs 3] [--sst2-train 16000]
 *
 * Per task: a teacher trained from scratch on gold labels with the project's trainer and exported to
 * an HF ONNX folder (scripts/real-glue/train-teacher.ts), then the user path through the CLI on that
 * folder: `distill cache` → `distill train` (two stages) → `distill export`, the same student on gold
 * labels only (`distill train`, same steps and seed) → `distill export`, and `distill eval` of all
 * three ONNX folders. Configs: data/real-glue/. Outputs: runs/real-glue/ (gitignored); per-stage logs
 * in runs/real-glue/logs/. Resumable: a finished stage (its output exists) is skipped, an interrupted
 * training resumes from its checkpoint, an interrupted cache from its last shard.
 * Writes runs/real-glue/results.json and results.md (the table for docs/real-glue.md).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.ts';
import { subsampleTsvFolder } from './real-glue/subsample.ts';
import { resultsTable, type TaskResult } from './real-glue/table.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    glue: { type: 'string', default: path.resolve(ROOT, '../shared/glue') },
    vocab: { type: 'string', default: path.resolve(ROOT, '../shared/vocab/bert-base-uncased-vocab.txt') },
    tasks: { type: 'string', default: 'sst2,cola,mrpc' },
    jobs: { type: 'string', default: '3' },
    'sst2-train': { type: 'string', default: '16000' },
  },
});

const RUNS = path.join(ROOT, 'runs/real-glue');
const LOGS = path.join(RUNS, 'logs');
const CONFIGS = path.join(ROOT, 'data/real-glue');
const GLUE_DIRS: Record<string, string> = { sst2: 'SST-2', cola: 'CoLA', mrpc: 'MRPC' };
const started = Date.now();

function say(task: string, msg: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${task.padEnd(4)} ${msg}`);
}

/** Runs a command with its output in a log file; every 30 s shows the log's last line as progress. */
function run(task: string, stage: string, cmd: string[]): Promise<void> {
  fs.mkdirSync(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${task}-${stage}.log`);
  const log = fs.openSync(logFile, 'a');
  say(task, `${stage}: ${cmd.map((c) => path.isAbsolute(c) ? path.relative(ROOT, c) : c).join(' ')}`);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: ['ignore', log, log] });
    const timer = setInterval(() => {
      const lines = fs.readFileSync(logFile, 'utf8').split(/[\n\r]/).filter((l) => l.trim());
      if (lines.length) say(task, `${stage}: ${lines[lines.length - 1].slice(0, 120)}`);
    }, 30000);
    child.on('exit', (code) => {
      clearInterval(timer);
      fs.closeSync(log);
      if (code === 0) {
        say(task, `${stage}: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        resolve();
      } else reject(new Error(`${task} ${stage} failed (exit ${code}); see ${path.relative(ROOT, logFile)}`));
    });
  });
}

const tsx = path.join(ROOT, 'node_modules/.bin/tsx');
const distill = (...a: string[]) => ['node', path.join(ROOT, 'bin/distill.mjs'), ...a, '--quiet'];
const done = (file: string) => fs.existsSync(file);

/** The training folder of a task: SST-2's is a seeded subsample (time budget), the others the GLUE folder. */
function dataDir(task: string): string {
  const glue = path.join(args.glue!, GLUE_DIRS[task]);
  if (task !== 'sst2') return glue;
  const to = path.join(RUNS, 'data/SST-2');
  subsampleTsvFolder({ from: glue, to, file: 'train.tsv', count: Number(args['sst2-train']), seed: 1, copy: ['dev.tsv'] });
  return to;
}

async function pipeline(task: string): Promise<TaskResult> {
  const out = path.join(RUNS, task);
  const data = dataDir(task);
  const teacher = path.join(out, 'teacher');
  const distilledCfg = path.join(CONFIGS, `${task}-distill.json`);
  const hardCfg = path.join(CONFIGS, `${task}-hard.json`);
  if (!done(path.join(teacher, 'onnx/model.onnx'))) {
    await run(task, 'teacher', [tsx, 'scripts/real-glue/train-teacher.ts', '--task', task, '--data', data, '--vocab', args.vocab!,
      '--shape', path.join(CONFIGS, 'teacher.json'), '--work', path.join(out, 'teacher-train'), '--out', teacher]);
  }
  const distilled = path.join(out, 'distilled');
  if (!done(path.join(distilled, 'cache/manifest.json'))) await run(task, 'cache', distill('cache', '--config', distilledCfg));
  for (const [name, cfg] of [['distilled', distilledCfg], ['hard-labels', hardCfg]] as const) {
    const dir = path.join(out, name);
    if (!done(path.join(dir, 'train-summary.json'))) await run(task, `train-${name}`, distill('train', '--config', cfg, '--resume'));
    if (!done(path.join(dir, 'student-onnx/onnx/model.onnx'))) await run(task, `export-${name}`, distill('export', '--config', cfg, '--force'));
  }
  const evalDir = path.join(out, 'eval');
  fs.mkdirSync(evalDir, { recursive: true });
  const models = { teacher, distilled: path.join(distilled, 'student-onnx'), 'hard-labels': path.join(out, 'hard-labels/student-onnx') };
  for (const [name, dir] of Object.entries(models)) {
    const json = path.join(evalDir, `${name}.json`);
    if (!done(json)) {
      await run(task, `eval-${name}`, distill('eval', '--model', dir, '--task', task, '--data', data, '--max-length', '64', '--latency', '--json', json));
    }
  }
  const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
  return {
    task,
    teacherTrain: read(path.join(out, 'teacher-train/summary.json')),
    distilledTrain: read(path.join(distilled, 'train-summary.json')),
    hardTrain: read(path.join(out, 'hard-labels/train-summary.json')),
    eval: Object.fromEntries(Object.keys(models).map((n) => [n, read(path.join(evalDir, `${n}.json`)).models[0]])),
  } as TaskResult;
}

/** Runs the task pipelines, at most `jobs` at a time. */
async function main(): Promise<void> {
  const tasks = args.tasks!.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of tasks) if (!GLUE_DIRS[t]) throw new Error(`--tasks: unknown task "${t}" (sst2, cola, mrpc)`);
  for (const f of [args.glue!, args.vocab!]) if (!fs.existsSync(f)) throw new Error(`${f} does not exist`);
  const results: TaskResult[] = [];
  const queue = [...tasks];
  const failures: string[] = [];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      try {
        results.push(await pipeline(t));
      } catch (e) {
        failures.push((e as Error).message);
        say(t, `FAILED: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Number(args.jobs)) }, worker));
  results.sort((a, b) => tasks.indexOf(a.task) - tasks.indexOf(b.task));
  writeJsonAtomic(path.join(RUNS, 'results.json'), results);
  const md = resultsTable(results);
  writeFileAtomic(path.join(RUNS, 'results.md'), md);
  console.log('\n' + md);
  if (failures.length) {
    console.error(`${failures.length} task(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
