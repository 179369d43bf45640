/**
 * Distillation on real GLUE text, end to end (docs/real-glue.md), for SST-2, STS-B, MRPC, CoLA and RTE:
 *
 *   npx tsx scripts/real-glue.ts [--tasks sst2,stsb,mrpc,cola,rte] [--seeds 1,2,3] [--jobs 2] [--plan data/real-glue/plan.json]
 *
 * --teachers-only stops the requested tasks after their teachers (the table marks their students "not run").
 * The tables always cover every task of data/real-glue/plan.json whose runs exist, so tasks can be run in
 * separate invocations (`--tasks sst2`, later `--tasks stsb,mrpc`) and the last one reports them all.
 *        [--glue ../shared/glue] [--vocab ../shared/vocab/bert-base-uncased-vocab.txt] [--python .venv/bin/python]
 *
 * Once for all tasks:
 *  0. pretrain masked-LM pre-training of the teachers' encoder on unlabeled text: every task's train and
 *              test sentences and WordNet's glosses (scripts/real-glue/teacher.py corpus, then pretrain).
 * Per task:
 *  1. split    a seeded held-out slice of the GLUE train split, where every checkpoint is chosen
 *              (scripts/real-glue/teacher.py split); the GLUE dev split is only ever reported.
 *  2. teacher  a Hugging Face BertForSequenceClassification fine-tuned from that encoder with PyTorch and exported with
 *              torch.onnx.export (scripts/real-glue/teacher.py finetune): the user's own export.
 *  3. the user path through the CLI, with data/real-glue/<task>.json:
 *              `distill augment` (TinyBERT's augmented transfer set, teacher-embedding candidates)
 *              → `distill cache` → per seed: `distill train` (intermediate stage, then prediction stage)
 *              → `distill export` → `distill eval` on the GLUE dev split.
 *     Baselines in the same run, same student, data (augmented rows keep their source's gold label),
 *     steps, seed, batch and learning rate, only `distill.stages` replaced through `--set`:
 *              hard     gold labels only (ce; STS-B mse)
 *              predonly prediction-layer distillation only (kd_ce; STS-B kd_mse)
 *              hardorig (plan `hardOriginal`) gold labels only, on the split before augmentation
 *     With plan `qat`, from each distilled student: the same further updates in float (fp32 and post-training
 *     int8 rows) and quantisation-aware (`quantize: true`, the QAT int8 row), every model scored by `distill eval --quantized`.
 *
 * With --jobs N, each job's tools get the machine's cores / N threads (teacher.py --threads, `--set threads=` for
 * the student's TensorFlow or wasm pool): N jobs each sized to the whole machine oversubscribe it.
 *
 * Resumable at every level: a finished step (its output exists) is skipped, an interrupted training
 * resumes from its checkpoint, an interrupted cache from its last shard, a teacher from latest.pt.
 * Each command's full output goes to runs/real-glue/logs/; everything is written under runs/real-glue/
 * (gitignored) except the results: docs/real-glue/results.json (the raw dev numbers, one entry per task),
 * docs/real-glue/details.json (sizes, latency, chosen steps, the cost of each stage) and
 * docs/real-glue/table.md.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.ts';
import type { ModelRow } from '../src/report/html.ts';
import { baselineStages, renderTables, type Plan, type TaskOutcome, type Variant, VARIANTS } from './real-glue/results.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    glue: { type: 'string', default: path.resolve(ROOT, '../shared/glue') },
    vocab: { type: 'string', default: path.resolve(ROOT, '../shared/vocab/bert-base-uncased-vocab.txt') },
    python: { type: 'string', default: path.join(ROOT, '.venv/bin/python') },
    tasks: { type: 'string', default: 'sst2,stsb,mrpc,cola,rte' },
    seeds: { type: 'string', default: '1,2,3' },
    jobs: { type: 'string', default: '2' },
    /** Teachers (and their evaluation) only: no augmentation, cache or students for the requested tasks. */
    'teachers-only': { type: 'boolean', default: false },
    /** Run nothing: tabulate the runs that have finished (e.g. while the rest still trains). */
    'report-only': { type: 'boolean', default: false },
    /**
     * Another recipe: a plan.json with one config per task beside it. data/real-glue/<name>/plan.json runs
     * under runs/real-glue-<name>/ and writes docs/real-glue/<name>/; the default is the main table's.
     */
    plan: { type: 'string', default: path.join(ROOT, 'data/real-glue/plan.json') },
  },
});

const CONFIGS = path.dirname(path.resolve(args.plan!));
const MAIN_CONFIGS = path.join(ROOT, 'data/real-glue');
const variantName = CONFIGS === MAIN_CONFIGS ? '' : path.relative(MAIN_CONFIGS, CONFIGS);
if (variantName.startsWith('..') || variantName.includes(path.sep)) throw new Error(`--plan: expected data/real-glue/plan.json or data/real-glue/<name>/plan.json, got ${args.plan}`);
const RUNS = path.join(ROOT, variantName ? `runs/real-glue-${variantName}` : 'runs/real-glue');
const LOGS = path.join(RUNS, 'logs');
const DOCS = path.join(ROOT, 'docs/real-glue', variantName);
const plan = JSON.parse(fs.readFileSync(path.resolve(args.plan!), 'utf8')) as Plan;
const jobs = Math.max(1, Number(args.jobs));
const started = Date.now();
/** Wall seconds of every command, kept across invocations (a resumed run reports the whole cost). */
const TIMINGS = path.join(RUNS, 'timings.json');
const timings: Record<string, number> = fs.existsSync(TIMINGS) ? JSON.parse(fs.readFileSync(TIMINGS, 'utf8')) : {};
/**
 * Wall seconds of the invocations that ran a command, summed (a resumed run reports its whole wall; one that
 * only redraws the tables adds nothing). Runs recorded before this file existed start from their details.json.
 */
const WALL = path.join(RUNS, 'wall.json');
const wallBefore: number = fs.existsSync(WALL) ? JSON.parse(fs.readFileSync(WALL, 'utf8')).seconds
  : fs.existsSync(path.join(DOCS, 'details.json')) ? JSON.parse(fs.readFileSync(path.join(DOCS, 'details.json'), 'utf8')).wallSeconds ?? 0 : 0;
let wallSeconds = wallBefore;

function say(task: string, msg: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${task.padEnd(4)} ${msg}`);
}

/**
 * At most `jobs` commands at a time across all tasks. Waiting commands start by priority: short steps
 * (export, eval) first, so results appear as soon as a training ends; then by the task's place in the plan,
 * so the first task (SST-2) finishes first instead of every task advancing together.
 */
let free = jobs;
const waiting: { priority: number; start: () => void }[] = [];
async function slot<T>(work: () => Promise<T>, priority: number): Promise<T> {
  if (free > 0) free--;
  else {
    await new Promise<void>((start) => {
      const at = waiting.findIndex((w) => w.priority > priority);
      waiting.splice(at < 0 ? waiting.length : at, 0, { priority, start });
    });
  }
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next.start();
    else free++;
  }
}

/** Runs one command (in a job slot) with its output in a log file; every 60 s its last line is shown. */
function run(task: string, stage: string, cmd: string[], later = 0): Promise<void> {
  if (args['report-only'] || !(task === 'all' || requested.has(task))) return Promise.reject(new NotRun(`${task} ${stage}`));
  return slot(() => {
    fs.mkdirSync(LOGS, { recursive: true });
    const logFile = path.join(LOGS, `${task}-${stage}.log`);
    const log = fs.openSync(logFile, 'a');
    say(task, `${stage}: ${cmd.map((c) => (path.isAbsolute(c) ? path.relative(ROOT, c) || '.' : c)).join(' ')}`);
    const t0 = Date.now();
    return new Promise<void>((resolve, reject) => {
      const child = spawn(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: ['ignore', log, log], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
      const timer = setInterval(() => {
        const lines = fs.readFileSync(logFile, 'utf8').split(/[\n\r]/).filter((l) => l.trim());
        if (lines.length) say(task, `${stage}: ${lines[lines.length - 1].slice(0, 110)}`);
      }, 60000);
      child.on('exit', (code) => {
        clearInterval(timer);
        fs.closeSync(log);
        const seconds = (Date.now() - t0) / 1000;
        if (code === 0) {
          timings[`${task}/${stage}`] = (timings[`${task}/${stage}`] ?? 0) + seconds;
          writeJsonAtomic(TIMINGS, timings);
          wallSeconds = wallBefore + (Date.now() - started) / 1000;
          writeJsonAtomic(WALL, { seconds: wallSeconds });
          say(task, `${stage}: done in ${seconds.toFixed(0)} s`);
          resolve();
        } else reject(new Error(`${task} ${stage} failed (exit ${code}); see ${path.relative(ROOT, logFile)}`));
      });
    });
  }, /^(export|eval)-/.test(stage) ? -1 : Math.max(0, Object.keys(plan.tasks).indexOf(task)) + later);
}

class NotRun extends Error {}

const distill = (...a: string[]) => ['node', path.join(ROOT, 'bin/distill.mjs'), ...a, '--quiet'];
const exists = (file: string) => fs.existsSync(file);
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

const shape = (seed = plan.teacher.seed) => {
  const t = plan.teacher;
  return ['--layers', String(t.layers), '--hidden', String(t.hidden), '--heads', String(t.heads), '--ffn', String(t.ffn),
    '--max-length', String(t.maxLength), '--seed', String(seed)];
};

let pretraining: Promise<string | undefined> | undefined;
/**
 * The masked-LM pre-trained encoder every task's teacher starts from (once, shared): the text of all tasks'
 * train and test splits plus WordNet's glosses (teacher.py corpus), then BertForMaskedLM (teacher.py pretrain).
 * Without `pretrain` in plan.json the teachers start from random weights.
 */
function pretrained(): Promise<string | undefined> {
  const p = plan.pretrain;
  if (!p) return Promise.resolve(undefined);
  pretraining ??= (async () => {
    const dir = path.join(RUNS, 'pretrain');
    const corpus = path.join(dir, 'corpus.txt');
    const model = path.join(dir, 'model');
    if (!exists(corpus)) await run('all', 'corpus', [args.python!, 'scripts/real-glue/teacher.py', 'corpus', '--glue', args.glue!, '--out', corpus]);
    if (!exists(path.join(model, 'summary.json'))) {
      // Both cores: every teacher waits for it.
      await run('all', 'pretrain', [args.python!, 'scripts/real-glue/teacher.py', 'pretrain', '--corpus', corpus, '--vocab', args.vocab!,
        '--work', path.join(dir, 'work'), '--out', model, '--threads', String(os.cpus().length), ...shape(),
        '--steps', String(p.steps), '--batch', String(p.batch), '--lr', String(p.lr)]);
    }
    return model;
  })();
  return pretraining;
}

async function pipeline(task: string, seeds: number[]): Promise<TaskOutcome> {
  const out = path.join(RUNS, task);
  const split = path.join(RUNS, 'data', task);
  const glue = path.join(args.glue!, loadTask(task).displayName);
  const teacher = path.join(out, 'teacher');
  const config = path.join(CONFIGS, `${task}.json`);
  const tp = plan.tasks[task];
  const threads = String(Math.max(1, Math.floor(os.cpus().length / jobs)));

  if (!exists(path.join(split, 'dev.tsv'))) {
    await run(task, 'split', [args.python!, 'scripts/real-glue/teacher.py', 'split', '--task', task, '--glue', args.glue!, '--out', split, '--holdout', String(tp.holdout)]);
  }
  /** teacher.py finetune into <out>/<name> (skipped when finished): the task's steps, its own seed and lr. */
  const finetune = async (name: string, seed: number, lr: number, init: 'pretrained' | 'random') => {
    const dir = path.join(out, name);
    if (exists(path.join(dir, 'summary.json'))) return;
    const encoder = init === 'pretrained' ? await pretrained() : undefined;
    await run(task, name, [args.python!, 'scripts/real-glue/teacher.py', 'finetune', '--task', task, '--data', split, '--glue', args.glue!,
      '--vocab', args.vocab!, '--work', path.join(out, `${name}-work`), '--out', dir, '--threads', threads, ...shape(seed),
      '--batch', String(plan.teacher.batch), '--steps', String(tp.teacher.steps), '--lr', String(lr),
      '--eval-every', String(tp.teacher.evalEvery), ...(encoder ? ['--init', encoder] : [])]);
  };
  // More teachers (plan "ensemble"): fine-tuned in parallel with the first, each with its own seed; the
  // config's multiTeacher lists their folders (teacher2, teacher3, ...), and `distill cache` caches their logits.
  const members = tp.teacher.ensemble ?? [];
  await Promise.all([finetune('teacher', plan.teacher.seed, tp.teacher.lr, 'pretrained'),
    ...members.map((m, i) => finetune(`teacher${i + 2}`, m.seed, m.lr, m.init))]);
  const evalDir = path.join(out, 'eval');
  fs.mkdirSync(evalDir, { recursive: true });
  const evaluate = async (name: string, model: string, latency: boolean) => {
    const json = path.join(evalDir, `${name}.json`);
    if (!exists(json)) {
      await run(task, `eval-${name}`, distill('eval', '--model', model, '--task', task, '--data', glue, '--max-length', String(plan.teacher.maxLength),
        ...(latency ? ['--latency'] : []), '--json', json));
    }
    return readJson(json).models[0];
  };
  const teacherRow = await evaluate('teacher', teacher, true);
  let ensemble: TaskOutcome['ensemble'];
  if (members.length) {
    const json = path.join(evalDir, 'ensemble.json');
    if (!exists(json)) {
      await run(task, 'eval-ensemble', [args.python!, 'scripts/real-glue/teacher.py', 'ensemble', '--task', task, '--glue', args.glue!, '--out', json,
        '--max-length', String(plan.teacher.maxLength), '--teachers', teacher, ...members.map((_, i) => path.join(out, `teacher${i + 2}`))]);
    }
    ensemble = readJson(json);
  }
  const teacherSummary = readJson(path.join(teacher, 'summary.json'));
  // The targets concern tasks whose teacher beats the majority / constant baseline; below it there is
  // nothing to distil, so the students are not trained.
  if (args['teachers-only'] && requested.has(task)) {
    say(task, `teacher ${teacherSummary.dev.toFixed(4)} (baseline ${teacherSummary.baseline.toFixed(4)}); --teachers-only: students not run`);
    return { task, teacherSummary, teacherRow, ensemble, students: [] };
  }
  if (!(teacherSummary.dev > teacherSummary.baseline)) {
    say(task, `teacher ${teacherSummary.dev.toFixed(4)} does not beat the baseline ${teacherSummary.baseline.toFixed(4)}: students not run`);
    return { task, teacherSummary, teacherRow, ensemble, students: [] };
  }
  if (tp.augment === false && tp.hardOriginal) throw new Error(`${task}: plan "hardOriginal" needs augmentation (without it the hard row already trains on the original split)`);
  // Plan `augment: false`: the split folder (train.tsv and the held-out slice) is the training folder.
  const augmented = tp.augment === false ? split : path.join(out, 'augmented');
  if (tp.augment !== false && !exists(path.join(augmented, 'augment.json'))) {
    await run(task, 'augment', distill('augment', '--config', config, '--data', split, '--aug-dir', augmented));
  }
  // The augmented folder is the training folder of every run: its dev.tsv is the held-out selection slice.
  if (!exists(path.join(augmented, 'dev.tsv'))) writeFileAtomic(path.join(augmented, 'dev.tsv'), fs.readFileSync(path.join(split, 'dev.tsv')));
  // The main cache and, with an ensemble, each further teacher's (cache-teacher1, ... next to it).
  const caches = ['cache', ...members.map((_, i) => `cache-teacher${i + 1}`)].map((c) => path.join(out, c, 'manifest.json'));
  if (caches.some((m) => !exists(m) || !readJson(m).complete)) {
    await run(task, 'cache', distill('cache', '--config', config));
  }

  const stages = baselineStages(readJson(config).distill.stages, task === 'stsb');
  // TinyBERT's general distillation (plan `general`): the task's training sentences, labels unused, one
  // general student per seed; the distilled run starts from it.
  const general = tp.general;
  const corpus = path.join(out, 'general-corpus.txt');
  if (general && !exists(corpus)) {
    const rows = readSplit(loadTask(task), split, 'train');
    writeFileAtomic(corpus, rows.flatMap((r) => (r.textB ? [r.textA, r.textB] : [r.textA])).join('\n') + '\n');
  }
  const variants = VARIANTS.filter((v) => (v !== 'taskonly' || general) && (v !== 'hardorig' || tp.hardOriginal));
  const students = (await Promise.all(seeds.flatMap((seed) => variants.map(async (variant: Variant) => {
    const name = `${variant}-s${seed}`;
    const dir = path.join(out, name);
    const own = variant === 'distilled' || variant === 'taskonly' ? []
      : variant === 'hardorig' ? ['--set', `distill.stages=${JSON.stringify(stages.hard)}`, '--set', `data.dir=${split}`]
      : ['--set', `distill.stages=${JSON.stringify(stages[variant])}`];
    // Each job keeps to its share of the cores (TensorFlow's pool would otherwise take them all, per job).
    const sets = ['--set', `seed=${seed}`, '--set', `out=${dir}`, '--set', `threads=${threads}`, ...own];
    // The extra controls wait behind the rows of the table.
    const later = variant === 'taskonly' || variant === 'hardorig' ? 0.5 : 0;
    let init: string[] = [];
    if (general && variant === 'distilled') {
      const g = path.join(out, `general-s${seed}`);
      if (!exists(path.join(g, 'general-summary.json'))) {
        const resume = exists(path.join(g, 'checkpoints/latest.json')) ? ['--resume'] : [];
        await run(task, `general-s${seed}`, distill('general', '--config', config, '--corpus', corpus, '--out', g, '--seed', String(seed),
          '--steps', String(general.steps), '--lr', String(general.lr), '--mode', 'online', '--checkpoint-every', '100', ...resume));
      }
      init = ['--init', path.join(g, 'student')];
    }
    if (!exists(path.join(dir, 'train-summary.json'))) {
      // An interrupted training continues from its checkpoint; a fresh one starts without --resume.
      const resume = exists(path.join(dir, 'checkpoints/latest.json')) ? ['--resume'] : [];
      await run(task, `train-${name}`, distill('train', '--config', config, ...sets, ...init, ...resume), later);
    }
    if (!exists(path.join(dir, 'student-onnx/onnx/model.onnx'))) await run(task, `export-${name}`, distill('export', '--config', config, ...sets, '--force'));
    const row = await evaluate(name, path.join(dir, 'student-onnx'), variant === 'distilled' && seed === seeds[0]);
    return { variant, seed, row, summary: readJson(path.join(dir, 'train-summary.json')) };
  }).map((unit) => unit.catch((e) => {
    if (e instanceof NotRun) return undefined;
    throw e;
  }))))).filter((s) => s !== undefined);
  // Plan `qat`: from each seed's distilled student, the same number of further prediction-stage updates twice —
  // in float (its export gives the fp32 and post-training int8 rows) and quantisation-aware (the QAT int8 row).
  const quantized = tp.qat ? (await Promise.all(seeds.map(async (seed) => {
    const start = path.join(out, `distilled-s${seed}`, 'student');
    if (!exists(path.join(start, 'model.safetensors'))) return undefined;
    const rows = await Promise.all((['float', 'qat'] as const).map(async (kind) => {
      const name = `${kind}-s${seed}`;
      const dir = path.join(out, name);
      const stage = { name: kind, steps: tp.qat!.steps, lr: tp.qat!.lr, losses: stages.predonly[0].losses, ...(kind === 'qat' && { quantize: true }) };
      const sets = ['--set', `seed=${seed}`, '--set', `out=${dir}`, '--set', `threads=${threads}`, '--set', `distill.stages=${JSON.stringify([stage])}`];
      if (!exists(path.join(dir, 'train-summary.json'))) {
        const resume = exists(path.join(dir, 'checkpoints/latest.json')) ? ['--resume'] : [];
        await run(task, `train-${name}`, distill('train', '--config', config, ...sets, '--init', start, ...resume), 0.5);
      }
      // A QAT student always exports its trained int8 model; the float one asks for post-training int8.
      const quantize = kind === 'float' ? ['--set', 'export.quantize=true'] : [];
      if (!exists(path.join(dir, 'student-onnx/onnx/model_quantized.onnx'))) await run(task, `export-${name}`, distill('export', '--config', config, ...sets, ...quantize, '--force'));
      const json = path.join(evalDir, `${name}.json`);
      if (!exists(json)) {
        await run(task, `eval-${name}`, distill('eval', '--model', path.join(dir, 'student-onnx'), '--task', task, '--data', glue,
          '--max-length', String(plan.teacher.maxLength), '--quantized', ...(seed === seeds[0] ? ['--latency'] : []), '--json', json));
      }
      return readJson(json).models as ModelRow[];
    }));
    return { seed, fp32: rows[0][0], ptq: rows[0][1], qatFloat: rows[1][0], qat: rows[1][1] };
  }).map((unit) => unit.catch((e) => {
    if (e instanceof NotRun) return undefined;
    throw e;
  })))).filter((q) => q !== undefined) : undefined;
  return { task, teacherSummary, teacherRow, ensemble, students, ...(tp.augment === false && { augmented: false }), ...(quantized?.length && { quantized }) };
}

/** The tasks this invocation runs; the plan's other tasks are only reported, from what their runs left. */
const requested = new Set(args.tasks!.split(',').map((t) => t.trim()).filter(Boolean));

async function main(): Promise<void> {
  const tasks = [...requested];
  const seeds = args.seeds!.split(',').map(Number);
  for (const t of tasks) if (!plan.tasks[t]) throw new Error(`--tasks: "${t}" has no recipe in data/real-glue/plan.json (${Object.keys(plan.tasks).join(', ')})`);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds: expected integers, got "${args.seeds}"`);
  for (const f of [args.glue!, args.vocab!, args.python!]) if (!exists(f)) throw new Error(`${f} does not exist (see docs/real-glue.md, "Setup")`);
  const failures: string[] = [];
  // Every task of the plan, in its order: the requested ones run, the others contribute what exists.
  const outcomes = (await Promise.all(Object.keys(plan.tasks).map((t) => pipeline(t, seeds).catch((e: Error) => {
    if (e instanceof NotRun) return undefined;
    failures.push(e.message);
    say(t, `FAILED: ${e.message}`);
    return undefined;
  })))).filter((o): o is TaskOutcome => !!o);
  const { results, details, markdown } = renderTables(outcomes, { timings, wallSeconds, jobs, seeds });
  fs.mkdirSync(DOCS, { recursive: true });
  writeJsonAtomic(path.join(DOCS, 'results.json'), results);
  writeJsonAtomic(path.join(DOCS, 'details.json'), details);
  writeFileAtomic(path.join(DOCS, 'table.md'), markdown);
  console.log('\n' + markdown);
  if (failures.length) {
    console.error(`${failures.length} task(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
