/**
 * Distillation techniques side by side on the demo task, same student, seed, data and updates:
 * plain distillation; + EMA of the weights; + momentum distillation (the EMA student as a second
 * teacher); a linear temperature schedule against the constant one. Writes a markdown table with the
 * dev metric, the final training loss and the spread (std) of the dev metric over the last
 * evaluations for the raw and the EMA student.
 *
 *   npx tsx scripts/compare-techniques.ts [--data data/demo] [--teacher data/demo/teacher] [--steps 400]
 *       [--teacher-steps 1200] [--teacher-seed 1] [--seed 42] [--eval-every 25] [--last 6] [--out runs/compare-techniques]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendPreference } from '../src/backend/select.ts';
import { predictionMatches } from '../src/distill/losses.ts';
import { mappingMatches, uniformMap } from '../src/distill/mapping.ts';
import type { EvalRecord } from '../src/train/log.ts';
import { train } from '../src/train/trainer.ts';
import type { StageOptions, TrainOptions } from '../src/train/train-options.ts';
import { arg, bertConfig, loadDemo, ROOT, STUDENT_SHAPE } from './compare-hard-vs-distill.ts';
import { fixed, sampleStd } from './stats.ts';

interface Variant {
  name: string;
  ema: boolean;
  prediction: Partial<StageOptions>;
}

const VARIANTS: Variant[] = [
  { name: 'plain (T = 1)', ema: false, prediction: { temperature: 1 } },
  { name: '+ EMA', ema: true, prediction: { temperature: 1 } },
  { name: '+ EMA + momentum distillation (α 0.4)', ema: true, prediction: { temperature: 1, momentum: { alpha: 0.4, temperature: 1 } } },
  { name: 'linear T 4 → 1', ema: false, prediction: { temperature: { kind: 'linear', from: 4, to: 1 } } },
];

const std = sampleStd;
const fmt = (x: number | undefined, digits = 4) => fixed(x, digits);

async function main(): Promise<void> {
  const outDir = arg('out', path.join(ROOT, 'runs/compare-techniques'));
  const steps = Number(arg('steps', '400'));
  const seed = Number(arg('seed', '42'));
  const evalEvery = Number(arg('eval-every', '25'));
  const last = Number(arg('last', '6'));
  const backend = await initBackend(arg('backend', 'auto') as BackendPreference);
  const demo = await loadDemo({
    dataDir: arg('data', path.join(ROOT, 'data/demo')),
    teacherDir: arg('teacher', path.join(ROOT, 'data/demo/teacher')),
    outDir: arg('teacher-out', path.join(ROOT, 'runs/compare-hard-vs-distill')),
    teacherSteps: Number(arg('teacher-steps', '1200')),
    teacherSeed: Number(arg('teacher-seed', '1')),
  });
  const metric = demo.task.metrics[0];
  const intermediate = Math.round(steps * 0.4);
  const rows: string[] = [];
  const results: Record<string, unknown> = {};
  for (const v of VARIANTS) {
    const started = Date.now();
    const opts: TrainOptions = {
      task: demo.task,
      studentConfig: bertConfig(demo.task, demo.vocabSize, STUDENT_SHAPE),
      train: demo.train,
      dev: demo.dev,
      teachers: [{ cache: demo.teacher.cache }],
      batchSize: 32,
      seed,
      evalEvery,
      ema: v.ema ? { beta: 0.999, updateAfterStep: 20, updateEvery: 1 } : null,
      logFile: path.join(outDir, `${v.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '')}.jsonl`),
      stages: [
        { name: 'intermediate', steps: intermediate, lr: 1e-3, lrSchedule: { kind: 'linear', warmupSteps: 100 }, matches: mappingMatches(uniformMap(demo.teacher.numLayers, STUDENT_SHAPE.num_hidden_layers)) },
        { name: 'prediction', steps: steps - intermediate, lr: 1e-3, lrSchedule: { kind: 'linear', warmupSteps: 100 }, matches: predictionMatches({ regression: demo.task.labels === null }), ...v.prediction },
      ],
    };
    const res = await train(opts);
    const series = (model: EvalRecord['model']) => res.evals.filter((e) => e.model === model).map((e) => e.metrics[metric]);
    const raw = series('raw');
    const ema = series('ema');
    const r = {
      best: res.best && { score: res.best.score, model: res.best.model, step: res.best.step },
      finalRaw: raw.at(-1),
      finalEma: ema.at(-1),
      stdRaw: std(raw.slice(-last)),
      stdEma: std(ema.slice(-last)),
      finalLoss: res.finalLoss,
      seconds: (Date.now() - started) / 1000,
    };
    results[v.name] = r;
    console.error(`${v.name}: ${JSON.stringify(r)}`);
    rows.push(
      `| ${v.name} | ${fmt(r.best?.score)} (${r.best?.model}, step ${r.best?.step}) | ${fmt(r.finalRaw)} | ${fmt(r.finalEma)} | ${fmt(r.finalLoss)} | ${fmt(r.stdRaw)} | ${fmt(r.stdEma)} |`,
    );
  }
  const md = [
    `Demo task (SST-2 layout), student ${JSON.stringify(STUDENT_SHAPE)}, ${steps} updates (${intermediate} intermediate + ${steps - intermediate} prediction), ` +
      `seed ${seed}, batch 32, dev ${metric} every ${evalEvery} updates, backend ${backend.name}. ` +
      `Teacher: ${demo.teacher.source}, dev ${metric} ${fmt(demo.teacher.devScore)}. Std over the last ${last} evaluations.`,
    '',
    `| variant | best dev ${metric} (model, step) | final dev raw | final dev EMA | final train loss | std dev raw | std dev EMA |`,
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'results.md'), md);
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({ steps, seed, evalEvery, last, teacher: demo.teacher.source, teacherDevScore: demo.teacher.devScore, results }, null, 2) + '\n');
  console.log(md);
}

await main();
