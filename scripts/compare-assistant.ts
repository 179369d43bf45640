/**
 * Teacher assistant vs direct distillation at a large capacity gap, on the demo task: the demo
 * teacher (4 layers, hidden 64) → a 1-layer hidden-32 student, directly or through a 2-layer hidden-64
 * assistant (config `assistants`). Both routes give the student the same stages and updates; the
 * assistant's own training comes on top. Each route is a `distill run` config written to the output
 * folder (the table names the command per seed); the teacher cache is built once and shared.
 *
 *   npx tsx scripts/compare-assistant.ts [--seeds 1,2,3] [--intermediate 150] [--prediction 250]
 *       [--assistant-intermediate 150] [--assistant-prediction 250] [--eval-every 50] [--backend auto]
 *       [--out runs/compare-assistant]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, run, type EvalFile } from '../src/index.ts';
import { arg, ROOT } from './compare-hard-vs-distill.ts';
import { meanStd } from './stats.ts';

const STUDENT = { hiddenSize: 32, numLayers: 1, numHeads: 4, intermediateSize: 64, maxPositions: 64 };
const ASSISTANT = { hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256, maxPositions: 64 };

const stages = (intermediate: number, prediction: number) => [
  { name: 'intermediate', steps: intermediate, lr: 1e-3, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
  { name: 'prediction', steps: prediction, lr: 1e-3, losses: [{ name: 'kd_ce' }] },
];


async function main(): Promise<void> {
  const outDir = path.resolve(arg('out', path.join(ROOT, 'runs/compare-assistant')));
  const seeds = arg('seeds', '1,2,3').split(',').map(Number);
  const studentStages = stages(Number(arg('intermediate', '150')), Number(arg('prediction', '250')));
  const assistantStages = stages(Number(arg('assistant-intermediate', '150')), Number(arg('assistant-prediction', '250')));
  const base = {
    task: 'sst2',
    teacher: { dir: path.join(ROOT, 'data/demo/teacher') },
    data: { dir: path.join(ROOT, 'data/demo/task'), maxLength: 64 },
    backend: arg('backend', 'auto'),
    cache: { dir: 'teacher-cache', batchSize: 64 },
    student: STUDENT,
    distill: { mapping: 'uniform', batchSize: 32, evalEvery: Number(arg('eval-every', '50')), stages: studentStages },
    eval: { latencyBatchSizes: [1], latencyRuns: 5 },
    export: { quantize: false },
    report: { enabled: false },
  };
  const routes = {
    direct: base,
    'via-assistant': { ...base, assistants: [{ ...ASSISTANT, distill: { stages: assistantStages } }] },
  };
  fs.mkdirSync(outDir, { recursive: true });
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  const rows: { route: string; student: number[]; assistant: number[]; teacher: number; seconds: number[]; command: string }[] = [];
  for (const [route, config] of Object.entries(routes)) {
    const file = path.join(outDir, `${route}.json`);
    fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
    const row = { route, student: [] as number[], assistant: [] as number[], teacher: Number.NaN, seconds: [] as number[], command: `distill run --config ${rel(file)} --set seed=<seed> --set out=${rel(outDir)}/${route}-<seed>` };
    for (const seed of seeds) {
      const out = path.join(outDir, `${route}-${seed}`);
      fs.rmSync(out, { recursive: true, force: true }); // a fresh run each time; the shared teacher cache is kept
      const r = await run(loadConfig(file, { seed, out }), { progress: false, onMessage: (l) => console.error(`[${route} seed ${seed}] ${l}`) });
      const score = (ev: EvalFile, name: string) => ev.models.find((m) => m.name === name)?.metrics?.[ev.primaryMetric] ?? Number.NaN;
      row.teacher = score(r.eval, 'teacher');
      row.student.push(score(r.eval, 'student'));
      if (route === 'via-assistant') row.assistant.push(score(r.eval, 'assistant 1'));
      row.seconds.push(r.seconds);
    }
    rows.push(row);
  }
  const steps = (s: typeof studentStages) => s.map((x) => x.steps).join(' + ');
  const md = [
    `Demo task (4,000 train / 500 dev), teacher 4 layers × hidden 64 (dev accuracy ${rows[0].teacher.toFixed(4)}) → student ${STUDENT.numLayers} layer × hidden ${STUDENT.hiddenSize}, ` +
      `${steps(studentStages)} student updates on both routes; assistant ${ASSISTANT.numLayers} layers × hidden ${ASSISTANT.hiddenSize}, ${steps(assistantStages)} updates of its own; seeds ${seeds.join(', ')}; mean ± sample std.`,
    '',
    '| route | student dev accuracy | % of teacher | assistant dev accuracy | seconds per run | command |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const mean = r.student.reduce((a, b) => a + b, 0) / r.student.length;
      return `| ${r.route} | ${meanStd(r.student)} | ${((100 * mean) / r.teacher).toFixed(1)} | ${r.assistant.length ? meanStd(r.assistant) : '—'} | ${(r.seconds.reduce((a, b) => a + b, 0) / r.seconds.length).toFixed(0)} | \`${r.command}\` |`;
    }),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({ seeds, student: STUDENT, assistant: ASSISTANT, rows }, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'results.md'), md);
  console.log(md);
}

await main();
