import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pooledGap, pooledTable, readRuns } from '../../scripts/real-glue/pooled.ts';

describe('real-GLUE runs pooled', () => {
  it('pairs seeds within each run: mean, standard error and sign count by hand', () => {
    const p = pooledGap([
      { recipe: 'a', teacher: 0.82, distilled: [0.81, 0.8], hard: [0.8, 0.8], predonly: [] },
      { recipe: 'b', teacher: 0.82, distilled: [0.79], hard: [0.8], predonly: [] },
    ]);
    // differences 0.01, 0, -0.01: mean 0, sample std 0.01, standard error 0.01 / √3
    expect(p.pairs).toBe(3);
    expect(p.mean).toBeCloseTo(0, 12);
    expect(p.standardError).toBeCloseTo(0.01 / Math.sqrt(3), 12);
    expect(p.positive).toBe(1);
    expect(p.runs.map((r) => r.gap)).toEqual([expect.closeTo(0.005, 12), expect.closeTo(-0.01, 12)]);
    expect(() => pooledGap([{ recipe: 'c', teacher: 1, distilled: [1, 1], hard: [1], predonly: [] }])).toThrow(/2 distilled seeds but 1 hard/);
  });

  it('reads the main results.json and each recipe folder, skipping runs without students', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pooled-'));
    const entry = (d: number[], h: number[]) => ({ sst2: { metric: 'accuracy', baseline: 0.5, teacher: 0.8, distilled: d, hard: h, prediction_only: d } });
    fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(entry([0.8], [0.79])));
    fs.mkdirSync(path.join(dir, 'zeta'));
    fs.writeFileSync(path.join(dir, 'zeta', 'results.json'), JSON.stringify(entry([0.81], [0.78])));
    fs.mkdirSync(path.join(dir, 'alpha'));
    fs.writeFileSync(path.join(dir, 'alpha', 'results.json'), JSON.stringify(entry([], [])));
    const runs = readRuns(dir, 'sst2');
    expect(runs.map((r) => r.recipe)).toEqual(['main', 'zeta']);
    expect(pooledTable(runs)).toContain('Paired over 2 seeds of 2 runs: distilled − hard = 2.0 ± 1.0 points');
    expect(pooledTable(runs)).not.toContain('before augmentation (');
  });

  it('takes a run without augmentation (augmented: false) as its own clean control', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pooled-'));
    const entry = (extra: object) => ({ sst2: { metric: 'accuracy', baseline: 0.5, teacher: 0.8, distilled: [0.8], hard: [0.79], prediction_only: [0.8], ...extra } });
    fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(entry({})));
    fs.mkdirSync(path.join(dir, 'plain'));
    fs.writeFileSync(path.join(dir, 'plain', 'results.json'), JSON.stringify(entry({ augmented: false })));
    fs.mkdirSync(path.join(dir, 'both'));
    fs.writeFileSync(path.join(dir, 'both', 'results.json'), JSON.stringify(entry({ hard_original: [0.82] })));
    const runs = readRuns(dir, 'sst2');
    expect(runs.map((r) => [r.recipe, r.hardOriginal])).toEqual([['main', undefined], ['both', [0.82]], ['plain', [0.79]]]);
    expect(pooledTable(runs)).toContain('before augmentation (both, plain; 2 seeds): distilled − that = -0.5 ± 1.5 points');
  });

  it('pools the hard-label control on the split before augmentation over the runs that have it', () => {
    const runs = [
      { recipe: 'a', teacher: 0.82, distilled: [0.81, 0.8], hard: [0.78, 0.78], predonly: [], hardOriginal: [0.82, 0.8] },
      { recipe: 'b', teacher: 0.82, distilled: [0.8], hard: [0.79], predonly: [] },
    ];
    // against hard: 0.03, 0.02, 0.01 → mean 2.0, SE 0.01/√3 = 0.58 points; against the original split (run a only): −0.01, 0 → −0.5 ± 0.5
    const table = pooledTable(runs);
    expect(table).toContain('| a | 82.0 | 80.5 ± 0.7 | 78.0 ± 0.0 | – | 2.5 | 81.0 ± 1.4 |');
    expect(table).toContain('| b | 82.0 | 80.0 ± NaN | 79.0 ± NaN | – | 1.0 | – |'.replace(/NaN/g, '–'));
    expect(table).toContain('distilled − hard = 2.0 ± 0.6 points');
    expect(table).toContain('Against hard labels on the split before augmentation (a; 2 seeds): distilled − that = -0.5 ± 0.5 points; positive in 0 of 2.');
  });
});
