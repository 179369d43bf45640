/**
 * MiniLM-v2 relation distillation against TinyBERT's attention MSE (with head mixing) on the demo task,
 * for a student with fewer attention heads (and a narrower width) than the teacher. The teacher cache
 * is built by the real cache builder (graph surgery exposes the last layer's Q/K/V and the mapped
 * layers' attention scores). Each variant: an intermediate stage (its loss only), then the same
 * prediction stage (kd_ce); several seeds; best dev accuracy of the prediction stage.
 *
 *   npx tsx scripts/compare-relation.ts [--seeds 1,2,3] [--intermediate 150] [--prediction 150]
 *       [--relation-heads 4] [--eval-every 50] [--out runs/compare-relation]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendPreference } from '../src/backend/select.ts';
import { buildCache } from '../src/cache/writer.ts';
import { openCache } from '../src/cache/reader.ts';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import { predictionMatches, RELATION_KINDS, type Match } from '../src/distill/losses.ts';
import { mappingMatches, uniformMap } from '../src/distill/mapping.ts';
import { loadTeacherFolder } from '../src/teacher/folder.ts';
import { train } from '../src/train/trainer.ts';
import type { TrainData } from '../src/train/train-options.ts';
import { arg, bertConfig, ROOT } from './compare-hard-vs-distill.ts';

const MAX_LENGTH = 64;
const STUDENT = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64 };

async function main(): Promise<void> {
  const outDir = arg('out', path.join(ROOT, 'runs/compare-relation'));
  const seeds = arg('seeds', '1,2,3').split(',').map(Number);
  const intermediateSteps = Number(arg('intermediate', '150'));
  const predictionSteps = Number(arg('prediction', '150'));
  const relationHeads = Number(arg('relation-heads', '4'));
  const evalEvery = Number(arg('eval-every', '50'));
  const teacherDir = arg('teacher', path.join(ROOT, 'data/demo/teacher'));
  const dataDir = arg('data', path.join(ROOT, 'data/demo/task'));
  const backend = await initBackend(arg('backend', 'auto') as BackendPreference);
  const task = loadTask('sst2');
  const folder = await loadTeacherFolder(teacherDir);
  const nT = folder.config.num_hidden_layers;
  const mapping = uniformMap(nT, STUDENT.num_hidden_layers);
  const cacheDir = path.join(outDir, 'cache');
  const started = Date.now();
  await buildCache({
    teacherDir, task, dataDir, split: 'train', outDir: cacheDir, maxLength: MAX_LENGTH, batchSize: 64,
    hiddenLayers: [], attentionLayers: mapping.attention.map((p) => p.t + 1), attention: 'scores', qkvLayers: ['last'],
    notice: (m) => console.error(m),
  });
  console.error(`cache ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const encode = (split: string): TrainData => {
    const ex = readSplit(task, dataDir, split);
    return { encoded: ex.map((e) => folder.tokenizer.encode(e.textA, e.textB, MAX_LENGTH)), labels: ex.map((e) => e.label) };
  };
  const trainData = encode('train');
  const dev = encode(task.devSplit);
  const attention: Match[] = mappingMatches(mapping, { hiddenWeight: 0 });
  const relation: Match[] = RELATION_KINDS.map((relation) => ({ feature: 'relation', layerS: STUDENT.num_hidden_layers - 1, layerT: nT - 1, loss: 'relation_kl', weight: 1, relation, relationHeads }));
  const variants: [string, Match[]][] = [
    [`attention_mse + head mixing (${STUDENT.num_attention_heads} → ${folder.config.num_attention_heads} heads, layers ${mapping.attention.map((p) => `s${p.s}-t${p.t}`).join(', ')})`, attention],
    [`relation_kl (Q-Q, K-K, V-V, ${relationHeads} relation heads, last layer s${STUDENT.num_hidden_layers - 1}-t${nT - 1})`, relation],
  ];
  const results: Record<string, number[]> = {};
  const cache = openCache(cacheDir);
  try {
    for (const [name, matches] of variants) {
      results[name] = [];
      for (const seed of seeds) {
        const t0 = Date.now();
        const res = await train({
          task, studentConfig: bertConfig(task, folder.tokenizer.vocabSize, STUDENT), train: trainData, dev,
          teachers: [{ cache }], batchSize: 32, seed, evalEvery,
          stages: [
            { name: 'intermediate', steps: intermediateSteps, lr: 1e-3, lrSchedule: { kind: 'linear', warmupSteps: Math.round(intermediateSteps / 10) }, matches },
            { name: 'prediction', steps: predictionSteps, lr: 1e-3, lrSchedule: { kind: 'linear', warmupSteps: Math.round(predictionSteps / 10) }, matches: predictionMatches({ regression: false }) },
          ],
        });
        const score = res.best?.score ?? NaN;
        results[name].push(score);
        console.error(`${name} seed ${seed}: best dev accuracy ${score.toFixed(4)} (step ${res.best?.step}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        res.student.dispose();
        res.best?.student.dispose();
      }
    }
  } finally {
    cache.close();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = (xs: number[]) => (xs.length < 2 ? NaN : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
  const md = [
    `Demo task, teacher ${teacherDir} (${nT} layers, ${folder.config.hidden_size} wide, ${folder.config.num_attention_heads} heads), student ${JSON.stringify(STUDENT)}, ` +
      `${intermediateSteps} intermediate + ${predictionSteps} prediction (kd_ce) updates, batch 32, lr 1e-3, seeds ${seeds.join(', ')}, backend ${backend.name}; best dev accuracy of the prediction stage (eval every ${evalEvery}).`,
    '',
    `| intermediate loss | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean ± std |`,
    `|---|${seeds.map(() => '---').join('|')}|---|`,
    ...Object.entries(results).map(([name, xs]) => `| ${name} | ${xs.map((x) => x.toFixed(4)).join(' | ')} | ${mean(xs).toFixed(4)} ± ${std(xs).toFixed(4)} |`),
    '',
  ].join('\n');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'results.md'), md);
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({ seeds, intermediateSteps, predictionSteps, relationHeads, results }, null, 2) + '\n');
  console.log(md);
}

await main();
