/**
 * The search's rules on injected measurements: which grid combinations are candidates, which fit the
 * budget, how they rank, which are distilled, which is best, and what a resumed search reuses.
 */
import { describe, expect, it } from 'vitest';
import type { SearchConfig } from '../../src/cli/config-schema.ts';
import { SearchSchema } from '../../src/cli/config-schema.ts';
import {
  candidateName,
  expandGrid,
  formatSearchTable,
  overBudget,
  scaleStages,
  searchStudents,
  spread,
  type CandidateShape,
  type Measurement,
} from '../../src/search/search.ts';

const search = (over: Partial<SearchConfig> & { grid: SearchConfig['grid'] }): SearchConfig => SearchSchema.parse({ budget: { latencyMs: 10 }, ...over });

/** A made-up cost model: latency grows with layers × hidden, params with hidden² × layers. */
const fakeMeasure = (s: CandidateShape): Measurement => ({
  params: s.layers * s.hidden * s.hidden + s.intermediate,
  sizeBytes: 4 * (s.layers * s.hidden * s.hidden + s.intermediate),
  latencyMs: (s.layers * s.hidden) / 32,
  latencySpreadMs: [(s.layers * s.hidden) / 33, (s.layers * s.hidden) / 31],
});

describe('expandGrid', () => {
  it('takes every combination, 4x the hidden size as FFN, and skips heads that do not divide hidden', () => {
    const { candidates, skipped } = expandGrid({ layers: [1, 2], hidden: [64, 96], heads: [4, 5], intermediate: '4x' });
    expect(candidates.map(candidateName)).toEqual(['L1-H64-A4-I256', 'L1-H96-A4-I384', 'L2-H64-A4-I256', 'L2-H96-A4-I384']);
    expect(skipped.map((s) => s.name)).toEqual(['L1-H64-A5-I256', 'L1-H96-A5-I384', 'L2-H64-A5-I256', 'L2-H96-A5-I384']);
    expect(skipped[0].reason).toBe('5 heads do not divide hidden size 64');
  });

  it('takes explicit FFN widths and drops repeated values', () => {
    const { candidates } = expandGrid({ layers: [2, 2], hidden: [32], heads: [2], intermediate: [64, 128] });
    expect(candidates.map(candidateName)).toEqual(['L2-H32-A2-I64', 'L2-H32-A2-I128']);
  });

  it('refuses a grid without one valid combination, naming the key', () => {
    expect(() => expandGrid({ layers: [1], hidden: [30], heads: [4, 7], intermediate: '4x' })).toThrow(/search\.grid: no valid candidate.*heads \(4, 7\).*hidden size \(30\)/);
  });
});

describe('budget and ranking', () => {
  it('names each limit exceeded', () => {
    const m: Measurement = { params: 1, sizeBytes: 3_500_000, latencyMs: 2.5, latencySpreadMs: [2, 3] };
    expect(overBudget(m, { latencyMs: 3, batchSize: 1, precision: 'fp32' })).toEqual([]);
    expect(overBudget(m, { latencyMs: 2, sizeMb: 3, batchSize: 1, precision: 'fp32' })).toEqual(['latency 2.50 ms > 2 ms', 'size 3.50 MB > 3 MB']);
  });

  it('keeps the candidates inside the budget, ranks them by parameters, distils the top k and picks the best dev score', async () => {
    const distilled: string[] = [];
    // Dev scores made up so that the second-largest wins: the best is chosen on dev, not by size.
    const scores: Record<string, number> = { 'L2-H128-A4-I512': 0.8, 'L1-H128-A4-I512': 0.9 };
    const r = await searchStudents(search({ grid: { layers: [1, 2, 4], hidden: [64, 128], heads: [4], intermediate: '4x' }, top: 2 }), 64, {
      measure: async (s) => fakeMeasure(s),
      distil: async (_s, name) => (distilled.push(name), { metric: 'accuracy', score: scores[name], steps: 10, seconds: 1 }),
    });
    // latency = layers·hidden/32 ≤ 10 ms: layers·hidden ≤ 320 → L1-H64, L1-H128, L2-H64, L2-H128, L4-H64 fit; L4-H128 does not.
    // Params: L2-H128 33280, L1-H128 16896, L4-H64 16640, L2-H64 8448, L1-H64 4352.
    expect(r.rows.filter((x) => x.fits).map((x) => x.name)).toEqual(['L2-H128-A4-I512', 'L1-H128-A4-I512', 'L4-H64-A4-I256', 'L2-H64-A4-I256', 'L1-H64-A4-I256']);
    expect(r.rows.map((x) => x.rank)).toEqual([1, 2, 3, 4, 5, undefined]);
    expect(r.rows[5]).toMatchObject({ name: 'L4-H128-A4-I512', fits: false, over: ['latency 16.00 ms > 10 ms'] });
    expect(distilled).toEqual(['L2-H128-A4-I512', 'L1-H128-A4-I512']);
    expect(r.best).toBe('L1-H128-A4-I512');
    const table = formatSearchTable(r);
    expect(table).toContain('| rank | candidate | layers | hidden | heads | FFN | params | size MB |');
    expect(table).toContain('| 1 | L2-H128-A4-I512 | 2 | 128 | 4 | 512 | 33,280 | 0.13 | 8.00 (7.76–8.26) | yes | 0.8000 |');
    expect(table).toContain('| 2 | L1-H128-A4-I512 | 1 | 128 | 4 | 512 | 16,896 | 0.07 | 4.00 (3.88–4.13) | yes | 0.9000 **best** |');
    expect(table).toContain('| no: latency 16.00 ms > 10 ms |');
    expect(table).toContain('Best: L1-H128-A4-I512 (dev accuracy 0.9000 after 10 updates).');
  });

  it('breaks equal parameter counts by lower latency, and prefers the smaller model on equal dev scores', async () => {
    const measure = async (s: CandidateShape): Promise<Measurement> => ({ params: 1000, sizeBytes: 4000, latencyMs: s.layers, latencySpreadMs: [s.layers, s.layers] });
    const r = await searchStudents(search({ grid: { layers: [3, 1, 2], hidden: [8], heads: [2], intermediate: [16] }, top: 3 }), 16, {
      measure,
      distil: async () => ({ metric: 'accuracy', score: 0.5, steps: 1, seconds: 0 }),
    });
    expect(r.rows.map((x) => x.name)).toEqual(['L1-H8-A2-I16', 'L2-H8-A2-I16', 'L3-H8-A2-I16']);
    expect(r.best).toBe('L1-H8-A2-I16');
  });

  it('applies a size budget alone, and distils nothing when no candidate fits', async () => {
    let distils = 0;
    const r = await searchStudents(SearchSchema.parse({ budget: { sizeMb: 0.001 }, grid: { layers: [1, 2], hidden: [64], heads: [4] } }), 64, {
      measure: async (s) => fakeMeasure(s),
      distil: async () => (distils++, { metric: 'accuracy', score: 1, steps: 1, seconds: 0 }),
    });
    expect(r.rows.every((x) => !x.fits && x.rank === undefined)).toBe(true);
    expect(r.rows[0].over[0]).toMatch(/^size 0\.\d\d MB > 0\.001 MB$/);
    expect(distils).toBe(0);
    expect(r.best).toBeUndefined();
    expect(formatSearchTable(r)).toContain('No candidate fits the budget.');
  });

  it('skips candidates the config cannot distil, and refuses when none is left', async () => {
    const grid = { layers: [1, 3], hidden: [16], heads: [2], intermediate: '4x' as const };
    const check = (s: CandidateShape) => (4 % s.layers ? `uniform mapping: 4 teacher layers are not a multiple of ${s.layers}` : undefined);
    const r = await searchStudents(search({ grid }), 16, { check, measure: async (s) => fakeMeasure(s), distil: async () => ({ metric: 'accuracy', score: 1, steps: 1, seconds: 0 }) });
    expect(r.rows.map((x) => x.name)).toEqual(['L1-H16-A2-I64']);
    expect(r.skipped).toEqual([{ name: 'L3-H16-A2-I64', reason: 'uniform mapping: 4 teacher layers are not a multiple of 3' }]);
    await expect(searchStudents(search({ grid: { ...grid, layers: [3] } }), 16, { check, measure: async (s) => fakeMeasure(s), distil: async () => ({ metric: 'a', score: 1, steps: 1, seconds: 0 }) })).rejects.toThrow(
      /no candidate can be distilled with this config:\n {2}L3-H16-A2-I64: uniform mapping/,
    );
  });

  it('reuses the measurements and distillations of an interrupted search', async () => {
    const cfg = search({ grid: { layers: [1, 2], hidden: [32], heads: [2], intermediate: '4x' }, top: 2 });
    const calls: string[] = [];
    const deps = {
      measure: async (s: CandidateShape, name: string) => (calls.push(`measure ${name}`), fakeMeasure(s)),
      distil: async (_s: CandidateShape, name: string) => {
        calls.push(`distil ${name}`);
        if (name === 'L1-H32-A2-I128') throw new Error('interrupted');
        return { metric: 'accuracy', score: 0.6, steps: 5, seconds: 1 };
      },
    };
    let saved: unknown;
    await expect(searchStudents(cfg, 32, { ...deps, onUpdate: (r) => (saved = structuredClone(r)) })).rejects.toThrow('interrupted');
    expect(calls).toEqual(['measure L1-H32-A2-I128', 'measure L2-H32-A2-I128', 'distil L2-H32-A2-I128', 'distil L1-H32-A2-I128']);
    calls.length = 0;
    const r = await searchStudents(cfg, 32, { ...deps, distil: async (_s, name) => (calls.push(`distil ${name}`), { metric: 'accuracy', score: 0.7, steps: 5, seconds: 1 }), previous: saved as never });
    expect(calls).toEqual(['distil L1-H32-A2-I128']);
    expect(r.rows.map((x) => x.distil?.score)).toEqual([0.6, 0.7]);
    expect(r.best).toBe('L1-H32-A2-I128');
  });
});

describe('scaleStages', () => {
  it("keeps each stage's share of the steps and adds up exactly", () => {
    expect(scaleStages([{ steps: 300 }, { steps: 600 }], 200).map((s) => s.steps)).toEqual([67, 133]);
    expect(scaleStages([{ steps: 1 }, { steps: 1 }, { steps: 1 }], 10).map((s) => s.steps)).toEqual([4, 3, 3]);
    expect(scaleStages([{ steps: 1000 }, { steps: 1 }], 3).map((s) => s.steps)).toEqual([2, 1]);
  });

  it('gives stages in epochs equal shares, as steps', () => {
    const out = scaleStages([{ epochs: 3, name: 'a' }, { steps: 10, name: 'b' }], 9);
    expect(out).toEqual([{ name: 'a', steps: 5 }, { name: 'b', steps: 4 }]);
  });

  it('refuses fewer steps than stages', () => {
    expect(() => scaleStages([{ steps: 1 }, { steps: 1 }], 1)).toThrow(/search\.steps: 1 is fewer than the 2 stages/);
  });
});

describe('spread', () => {
  it('is the 10th and 90th percentile by nearest rank', () => {
    expect(spread([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])).toEqual([1, 9]);
    expect(spread([3])).toEqual([3, 3]);
  });
});

describe('SearchSchema', () => {
  it('needs a latency or size limit', () => {
    const r = SearchSchema.safeParse({ budget: {}, grid: { layers: [1], hidden: [8], heads: [2] } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['budget'], message: expect.stringMatching(/latencyMs, sizeMb or both/) });
  });

  it('refuses an empty grid list', () => {
    const r = SearchSchema.safeParse({ budget: { sizeMb: 1 }, grid: { layers: [], hidden: [8], heads: [2] } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0].path).toEqual(['grid', 'layers']);
  });
});
