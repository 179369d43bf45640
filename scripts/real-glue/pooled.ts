/**
 * Every recorded real-GLUE run of one task side by side, and the distilled − hard gap pooled over all of
 * them (docs/real-glue.md, "All runs together"):
 *
 *   npx tsx scripts/real-glue/pooled.ts [--task sst2] [--docs docs/real-glue]
 *
 * Reads <docs>/results.json (the main recipe) and <docs>/<recipe>/results.json. Each run pairs its seeds
 * (distilled seed k against hard seed k: same data order, same updates); the pooled figure is the mean of all
 * those paired differences with its standard error, and how many are positive.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fixed, mean, sampleStd } from '../stats.ts';

export interface RunResult {
  /** Recipe name ("main" for <docs>/results.json). */
  recipe: string;
  teacher: number;
  distilled: number[];
  hard: number[];
  predonly: number[];
  /**
   * Hard labels on the split before augmentation: plan `hardOriginal`'s row, or the hard row itself when
   * the run augmented nothing (results.json `augmented: false`).
   */
  hardOriginal?: number[];
}

export interface PooledGap {
  pairs: number;
  /** Mean of the paired differences distilled − hard, and its standard error (sample std / √n). */
  mean: number;
  standardError: number;
  positive: number;
  /** Each run's gap: mean distilled − mean hard. */
  runs: { recipe: string; gap: number }[];
}

/** distilled − `against` (default the hard row), paired by seed within each run, pooled over the runs. */
export function pooledGap(runs: readonly RunResult[], against: (r: RunResult) => number[] = (r) => r.hard): PooledGap {
  const diffs: number[] = [];
  for (const r of runs) {
    const base = against(r);
    if (r.distilled.length !== base.length) throw new Error(`${r.recipe}: ${r.distilled.length} distilled seeds but ${base.length} hard`);
    r.distilled.forEach((d, i) => diffs.push(d - base[i]));
  }
  if (diffs.length === 0) throw new Error('no paired seeds');
  return {
    pairs: diffs.length,
    mean: mean(diffs),
    standardError: sampleStd(diffs) / Math.sqrt(diffs.length),
    positive: diffs.filter((d) => d > 0).length,
    runs: runs.map((r) => ({ recipe: r.recipe, gap: mean(r.distilled) - mean(against(r)) })),
  };
}

/** The runs of `task` recorded under `docsDir`: the main recipe first, then each recipe folder by name. */
export function readRuns(docsDir: string, task: string): RunResult[] {
  const files = [['main', path.join(docsDir, 'results.json')]];
  for (const d of fs.readdirSync(docsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    files.push([d, path.join(docsDir, d, 'results.json')]);
  }
  const runs: RunResult[] = [];
  for (const [recipe, file] of files) {
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, 'utf8'))[task];
    if (!r || !r.distilled?.length || !r.hard?.length) continue;
    const clean = r.hard_original?.length ? r.hard_original : r.augmented === false ? r.hard : undefined;
    runs.push({ recipe, teacher: r.teacher, distilled: r.distilled, hard: r.hard, predonly: r.prediction_only ?? [], ...(clean && { hardOriginal: clean }) });
  }
  return runs;
}

export function pooledTable(runs: readonly RunResult[]): string {
  const pts = (x: number) => fixed(100 * x, 1);
  const ms = (xs: number[]) => (xs.length ? `${pts(mean(xs))} ± ${pts(sampleStd(xs))}` : '–');
  const p = pooledGap(runs);
  const lines = ['| recipe | teacher | distilled | hard labels | prediction-only | distilled − hard | hard labels, split before augmentation |', '|---|---|---|---|---|---|---|'];
  runs.forEach((r, i) => lines.push(`| ${r.recipe} | ${pts(r.teacher)} | ${ms(r.distilled)} | ${ms(r.hard)} | ${ms(r.predonly)} | ${pts(p.runs[i].gap)} | ${ms(r.hardOriginal ?? [])} |`));
  lines.push('', `Paired over ${p.pairs} seeds of ${runs.length} runs: distilled − hard = ${pts(p.mean)} ± ${pts(p.standardError)} points (mean ± standard error); positive in ${p.positive} of ${p.pairs}.`);
  const withOriginal = runs.filter((r) => r.hardOriginal);
  if (withOriginal.length) {
    const o = pooledGap(withOriginal, (r) => r.hardOriginal!);
    lines.push(`Against hard labels on the split before augmentation (${withOriginal.map((r) => r.recipe).join(', ')}; ${o.pairs} seeds): ` +
      `distilled − that = ${pts(o.mean)} ± ${pts(o.standardError)} points; positive in ${o.positive} of ${o.pairs}.`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { task: { type: 'string', default: 'sst2' }, docs: { type: 'string', default: 'docs/real-glue' } } });
  console.log(pooledTable(readRuns(values.docs!, values.task!)));
}
