/**
 * Does general distillation help? SST-2's training sentences (labels ignored) are the unlabeled
 * corpus of `distill general`; then task distillation runs twice with the same config, steps and
 * seed: once from the general student (`distill train --init`), once from random initialisation.
 * Both dev scores (best and final) go to <out>/results.md and results.json.
 *
 *   npx tsx scripts/compare-general-init.ts [--glue ../shared/glue] [--config data/general/sst2-task.json]
 *       [--cache-dir runs/real-glue/sst2/distilled/cache] [--out runs/compare-general-init]
 *       [--general-steps 300] [--general-lr 1e-3] [--mode online] [--task-steps 100,100]
 *
 * The config names the teacher (by default the real-GLUE SST-2 teacher on the BERT uncased vocabulary,
 * from scripts/real-glue.ts), the task data and the student shape, which the general student copies.
 * Resumable: finished steps are skipped, interrupted trainings resume from their checkpoints.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/cli/config-load.ts';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import { readLog, type EvalRecord } from '../src/train/log.ts';
import { selectionMetric } from '../src/eval/evaluate.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: a } = parseArgs({
  options: {
    glue: { type: 'string', default: path.resolve(ROOT, '../shared/glue') },
    config: { type: 'string', default: path.join(ROOT, 'data/general/sst2-task.json') },
    'cache-dir': { type: 'string', default: path.join(ROOT, 'runs/real-glue/sst2/distilled/cache') },
    out: { type: 'string', default: path.join(ROOT, 'runs/compare-general-init') },
    'general-steps': { type: 'string', default: '300' },
    'general-lr': { type: 'string', default: '1e-3' },
    mode: { type: 'string', default: 'online' },
    'task-steps': { type: 'string' },
  },
});
const out = path.resolve(a.out!);
const configFile = path.resolve(a.config!);
fs.mkdirSync(out, { recursive: true });
const config = loadConfig({ file: configFile });
const sst2Dir = path.join(path.resolve(a.glue!), 'SST-2');
if (!fs.existsSync(path.join(sst2Dir, 'train.tsv'))) throw new Error(`SST-2 not found in ${sst2Dir}; pass --glue <folder with SST-2/>`);
if (!fs.existsSync(path.join(config.teacher.dir, 'config.json'))) {
  throw new Error(`teacher ${config.teacher.dir} not found; build it with scripts/real-glue.ts (or pass --config with another teacher)`);
}

const cli = (args: string[]) => {
  console.log(`\n$ distill ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/distill.mjs'), ...args], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) throw new Error(`distill ${args[0]} failed with exit code ${r.status}`);
};

// 1. The corpus: SST-2 training sentences, one per line, labels dropped.
const corpus = path.join(out, 'sst2-train-sentences.txt');
if (!fs.existsSync(corpus)) {
  const examples = readSplit(loadTask('sst2'), sst2Dir, 'train');
  fs.writeFileSync(`${corpus}.tmp`, examples.map((e) => e.textA.replace(/\s+/g, ' ').trim()).join('\n') + '\n');
  fs.renameSync(`${corpus}.tmp`, corpus);
  console.log(`corpus: ${examples.length} SST-2 training sentences in ${corpus}`);
}

// 2. General distillation with the task run's teacher and student shape.
const generalDir = path.join(out, 'general');
if (!fs.existsSync(path.join(generalDir, 'general-summary.json'))) {
  cli(['general', '--config', configFile, '--corpus', corpus, '--out', generalDir, '--steps', a['general-steps']!, '--lr', a['general-lr']!, '--mode', a.mode!, '--checkpoint-every', '50', '--resume', '--quiet']);
}

// 3. Task distillation twice: same config, steps, seed and teacher cache; only the initialisation differs.
let cacheDir = path.resolve(a['cache-dir']!);
if (!fs.existsSync(path.join(cacheDir, 'manifest.json'))) {
  cacheDir = path.join(out, 'task-cache');
  cli(['cache', '--config', configFile, '--cache-dir', cacheDir, '--out', path.join(out, 'cache-run'), '--quiet']);
}
const stepOverrides = (a['task-steps'] ?? '').split(',').filter(Boolean).flatMap((n, i) => ['--set', `distill.stages.${i}.steps=${n}`]);
const variants = [
  { name: 'random init', dir: path.join(out, 'from-random'), extra: [] as string[] },
  { name: 'general init', dir: path.join(out, 'from-general'), extra: ['--init', path.join(generalDir, 'student')] },
];
for (const v of variants) {
  if (fs.existsSync(path.join(v.dir, 'train-summary.json'))) continue;
  cli(['train', '--config', configFile, '--out', v.dir, '--cache-dir', cacheDir, '--resume', '--quiet', ...stepOverrides, ...v.extra]);
}

// 4. Dev scores: best over the evaluations, and the last one.
const metric = selectionMetric(loadTask(config.task));
const rows = variants.map((v) => {
  const summary = JSON.parse(fs.readFileSync(path.join(v.dir, 'train-summary.json'), 'utf8'));
  const evals = readLog(path.join(v.dir, 'train-log.jsonl')).filter((r): r is EvalRecord => r.type === 'eval' && r.model === 'raw');
  const curve = evals.map((e) => [e.step, e.metrics[metric]] as const);
  return { name: v.name, steps: summary.steps as number, best: summary.best?.score as number, bestStep: summary.best?.step as number, final: curve.at(-1)?.[1] ?? NaN, curve, seconds: summary.seconds as number };
});
const general = JSON.parse(fs.readFileSync(path.join(generalDir, 'general-summary.json'), 'utf8'));
const pct = (x: number) => (100 * x).toFixed(1);
const md = [
  `# General distillation as initialisation: SST-2 dev ${metric}`,
  '',
  `Teacher ${config.teacher.dir}; student ${config.student.numLayers} layers × ${config.student.hiddenSize} wide, ${config.student.numHeads} heads; seed ${config.seed}.`,
  `General distillation: ${general.steps} steps on ${corpus} (SST-2 train sentences, labels ignored), ${general.reason}; ${general.seconds.toFixed(0)} s, final loss ${general.finalLoss.toFixed(4)}.`,
  `Task distillation: ${configFile} (stages ${config.distill.stages.map((s, i) => `${s.name} ${stepOverrides.length ? (a['task-steps']!.split(',')[i] ?? s.steps) : s.steps}`).join(', ')} steps), same for both.`,
  '',
  `| init | best dev ${metric} (step) | final dev ${metric} | train s |`,
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.name} | ${pct(r.best)} (${r.bestStep}) | ${pct(r.final)} | ${r.seconds.toFixed(0)} |`),
  '',
  `Dev ${metric} at each evaluation (step: random / general):`,
  '',
  ...rows[0].curve.map(([step, x], i) => `- ${step}: ${pct(x)} / ${rows[1].curve[i] ? pct(rows[1].curve[i][1]) : '–'}`),
  '',
].join('\n');
fs.writeFileSync(path.join(out, 'results.md'), md);
fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify({ general, rows }, null, 2) + '\n');
console.log('\n' + md);
