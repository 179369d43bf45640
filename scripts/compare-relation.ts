/**
 * MiniLM-v2 relation distillation against TinyBERT's attention MSE (with head mixing), for a student with
 * fewer attention heads (and a narrower width) than the teacher. The teacher cache is built by the real
 * cache builder (graph surgery exposes the last layer's Q/K/V and the mapped layers' attention scores).
 * Each variant: an intermediate stage (its loss only), then the same prediction stage (kd_ce); several
 * seeds. The checkpoint is chosen on the data folder's dev split; with --eval-data the chosen student is
 * then scored once on that folder's dev split (the reported number, never used for selection).
 *
 *   npx tsx scripts/compare-relation.ts [--seeds 1,2,3] [--intermediate 150] [--prediction 150]
 *       [--relation-heads 4] [--eval-every 50] [--out runs/compare-relation]
 *       [--teacher data/demo/teacher] [--data data/demo/task] [--eval-data <GLUE SST-2 folder>]
 *       [--student '{"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":64}']
 *       [--max-train N (a seeded sample of the training split)] [--lr 0.001]
 *
 * SST-2 (README): --teacher runs/real-glue-ema/sst2/teacher --data runs/real-glue-ema/data/sst2
 *   --eval-data ../shared/glue/SST-2 --max-train 20000 --student '{"hidden_size":64,"num_hidden_layers":4,
 *   "num_attention_heads":2,"intermediate_size":256}' --intermediate 800 --prediction 600 --eval-every 100
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
import { evaluateStudent, selectionMetric } from '../src/eval/evaluate.ts';
import type { TaskSpec } from '../src/data/types.ts';
import { Rng } from '../src/util/rng.ts';
import { mean, meanStd } from './stats.ts';
import type { TrainData } from '../src/train/train-options.ts';
import { arg, bertConfig, ROOT } from './compare-hard-vs-distill.ts';

const MAX_LENGTH = 64;
const DEMO_STUDENT = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64 };

/** A seeded sample of `maxTrain` training rows plus the dev split, as a task folder of its own. */
function sampledFolder(task: TaskSpec, dataDir: string, maxTrain: number, outDir: string): string {
  const dir = path.join(outDir, `data-${maxTrain}`);
  if (fs.existsSync(path.join(dir, 'dev.tsv'))) return dir;
  const lines = fs.readFileSync(path.join(dataDir, task.splits.train.file), 'utf8').split('\n').filter((l) => l.length > 0);
  const [header, ...rows] = lines;
  new Rng(1).shuffle(rows);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, task.splits.train.file), [header, ...rows.slice(0, maxTrain)].join('\n') + '\n');
  fs.copyFileSync(path.join(dataDir, task.splits[task.devSplit].file), path.join(dir, task.splits[task.devSplit].file));
  return dir;
}

async function main(): Promise<void> {
  const outDir = arg('out', path.join(ROOT, 'runs/compare-relation'));
  const seeds = arg('seeds', '1,2,3').split(',').map(Number);
  const intermediateSteps = Number(arg('intermediate', '150'));
  const predictionSteps = Number(arg('prediction', '150'));
  const relationHeads = Number(arg('relation-heads', '4'));
  const evalEvery = Number(arg('eval-every', '50'));
  const teacherDir = arg('teacher', path.join(ROOT, 'data/demo/teacher'));
  const evalData = arg('eval-data', '');
  const maxTrain = Number(arg('max-train', '0'));
  const lr = Number(arg('lr', '0.001'));
  const STUDENT = JSON.parse(arg('student', JSON.stringify(DEMO_STUDENT))) as typeof DEMO_STUDENT;
  const backend = await initBackend(arg('backend', 'auto') as BackendPreference);
  const task = loadTask('sst2');
  const sourceData = arg('data', path.join(ROOT, 'data/demo/task'));
  const dataDir = maxTrain > 0 ? sampledFolder(task, sourceData, maxTrain, outDir) : sourceData;
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
  const encode = (dir: string, split: string): TrainData => {
    const ex = readSplit(task, dir, split);
    return { encoded: ex.map((e) => folder.tokenizer.encode(e.textA, e.textB, MAX_LENGTH)), labels: ex.map((e) => e.label) };
  };
  const trainData = encode(dataDir, 'train');
  const dev = encode(dataDir, task.devSplit);
  const reported = evalData ? encode(evalData, task.devSplit) : undefined;
  const attention: Match[] = mappingMatches(mapping, { hiddenWeight: 0 });
  const relation: Match[] = RELATION_KINDS.map((relation) => ({ feature: 'relation', layerS: STUDENT.num_hidden_layers - 1, layerT: nT - 1, loss: 'relation_kl', weight: 1, relation, relationHeads }));
  const variants: [string, Match[]][] = [
    [`attention_mse + head mixing (${STUDENT.num_attention_heads} → ${folder.config.num_attention_heads} heads, layers ${mapping.attention.map((p) => `s${p.s}-t${p.t}`).join(', ')})`, attention],
    [`relation_kl (Q-Q, K-K, V-V, ${relationHeads} relation heads, last layer s${STUDENT.num_hidden_layers - 1}-t${nT - 1})`, relation],
  ];
  const results: Record<string, number[]> = {};
  const selection: Record<string, number[]> = {};
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
            { name: 'intermediate', steps: intermediateSteps, lr, lrSchedule: { kind: 'linear', warmupSteps: Math.round(intermediateSteps / 10) }, matches },
            { name: 'prediction', steps: predictionSteps, lr, lrSchedule: { kind: 'linear', warmupSteps: Math.round(predictionSteps / 10) }, matches: predictionMatches({ regression: false }) },
          ],
        });
        const chosen = res.best?.score ?? NaN;
        (selection[name] ??= []).push(chosen);
        // Reported: the chosen student on the separate evaluation split when there is one.
        const score = reported && res.best ? evaluateStudent(res.best.student, reported.encoded, reported.labels, task).metrics[selectionMetric(task)] : chosen;
        results[name].push(score);
        console.error(`${name} seed ${seed}: selection ${chosen.toFixed(4)} (step ${res.best?.step})${reported ? `, reported ${score.toFixed(4)}` : ''} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        res.student.dispose();
        res.best?.student.dispose();
      }
    }
  } finally {
    cache.close();
  }
  const where = reported
    ? `accuracy on ${evalData} (dev) of the checkpoint chosen on ${dataDir}'s dev split (selection mean in the last column)`
    : `best dev accuracy of the prediction stage on ${dataDir}`;
  const md = [
    `Teacher ${teacherDir} (${nT} layers, ${folder.config.hidden_size} wide, ${folder.config.num_attention_heads} heads), student ${JSON.stringify(STUDENT)}, ` +
      `${trainData.encoded.length} training rows, ${intermediateSteps} intermediate + ${predictionSteps} prediction (kd_ce) updates, batch 32, lr ${lr}, seeds ${seeds.join(', ')}, backend ${backend.name}; ${where} (eval every ${evalEvery}).`,
    '',
    `| intermediate loss | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean ± std |${reported ? ' selection mean |' : ''}`,
    `|---|${seeds.map(() => '---').join('|')}|---|${reported ? '---|' : ''}`,
    ...Object.entries(results).map(([name, xs]) => `| ${name} | ${xs.map((x) => x.toFixed(4)).join(' | ')} | ${meanStd(xs)} |${reported ? ` ${mean(selection[name]).toFixed(4)} |` : ''}`),
    '',
  ].join('\n');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'results.md'), md);
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({ teacherDir, dataDir, evalData: evalData || undefined, student: STUDENT, seeds, intermediateSteps, predictionSteps, relationHeads, lr, results, selection }, null, 2) + '\n');
  console.log(md);
}

await main();
