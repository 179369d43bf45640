/**
 * `distill search` end to end on the tiny fixture teacher: real random-weight exports timed in
 * onnxruntime (structure asserted, not timings), a short distillation of the top candidate, the
 * table and JSON, resume, and the clear refusals (no fit, changed settings, no search section).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import type { SearchResult } from '../../src/search/search.ts';
import { runCli, tempDir, TINY_RUN, writeConfig } from './helpers.ts';

const SEARCH = {
  ...TINY_RUN,
  out: 'run',
  distill: {
    batchSize: 2,
    stages: [
      { name: 'intermediate', steps: 30, lr: 1e-3, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
      { name: 'prediction', steps: 30, lr: 1e-3, losses: [{ name: 'kd_ce' }] },
    ],
  },
  // The teacher has 3 layers: 2-layer students cannot use the uniform mapping and are skipped.
  search: { budget: { latencyMs: 60_000, batchSize: 2 }, grid: { layers: [1, 2], hidden: [16, 24], heads: [2, 3], intermediate: [32] }, top: 1, steps: 2, repeats: 2 },
};

const read = (dir: string): SearchResult => JSON.parse(fs.readFileSync(path.join(dir, 'run/search/search.json'), 'utf8')).result;

it('distill search: measures the grid, distils the top candidate, writes the table; resumes; refuses what it cannot do', async () => {
  const dir = tempDir('cli-search-');
  const config = writeConfig(dir, SEARCH);
  const r = await runCli(['search', '--config', config, '--quiet']);
  expect(r.err).not.toContain('internal error');
  expect(r.code, r.err).toBe(0);
  const res = read(dir);
  expect(res.rows.map((x) => x.name).sort()).toEqual(['L1-H16-A2-I32', 'L1-H24-A2-I32', 'L1-H24-A3-I32']);
  expect(res.rows.map((x) => x.rank)).toEqual([1, 2, 3]);
  expect(res.rows[2].name).toBe('L1-H16-A2-I32'); // fewest parameters
  for (const row of res.rows) {
    expect(row.fits).toBe(true);
    expect(row.measurement.params).toBeGreaterThan(0);
    expect(row.measurement.sizeBytes).toBeGreaterThan(4 * row.measurement.params); // fp32 weights + graph
    expect(row.measurement.latencyMs).toBeGreaterThan(0);
    expect(row.measurement.latencySpreadMs[0]).toBeLessThanOrEqual(row.measurement.latencySpreadMs[1]);
  }
  expect(res.rows[0].measurement.params).toBe(res.rows[1].measurement.params); // heads do not change the parameter count
  expect(res.rows[0].measurement.params).toBeGreaterThan(res.rows[2].measurement.params);
  expect(res.skipped.map((s) => s.name).sort()).toEqual(['L1-H16-A3-I32', 'L2-H16-A2-I32', 'L2-H16-A3-I32', 'L2-H24-A2-I32', 'L2-H24-A3-I32']);
  expect(res.skipped.find((s) => s.name === 'L2-H24-A2-I32')!.reason).toMatch(/distill\.mapping: "uniform" needs the teacher's 3 layers/);
  expect(res.skipped.find((s) => s.name === 'L1-H16-A3-I32')!.reason).toBe('3 heads do not divide hidden size 16');
  // Only the top candidate is distilled (2 updates: the stages scaled 1 + 1), in its own run folder.
  expect(res.rows.map((x) => !!x.distil)).toEqual([true, false, false]);
  expect(res.best).toBe(res.rows[0].name);
  expect(res.rows[0].distil).toMatchObject({ metric: 'accuracy', steps: 2 });
  const runDir = path.join(dir, 'run/search', res.rows[0].name);
  expect(fs.existsSync(path.join(runDir, 'student/model.safetensors'))).toBe(true);
  const log = fs.readFileSync(path.join(runDir, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(log.filter((x) => x.type === 'step').map((x) => x.stage)).toEqual(['intermediate', 'prediction']);
  const table = fs.readFileSync(path.join(dir, 'run/search/search.md'), 'utf8');
  expect(r.out).toBe(table);
  expect(table).toContain('| rank | candidate | layers | hidden | heads | FFN | params | size MB | latency ms b2 (p10–p90) | in budget | dev accuracy |');
  expect(table).toMatch(/\| 1 \| L1-H24-A[23]-I32 \| 1 \| 24 \| [23] \| 32 \| [\d,]+ \| [\d.]+ \| [\d.]+ \([\d.]+–[\d.]+\) \| yes \| [\d.]+ \*\*best\*\* \|/);
  expect(r.err).toMatch(/\[search\] 1\/3 L1-H16-A2-I32: \d+ params/);

  // A second search over the folder is refused; --resume reuses every measurement and the
  // distillation, and with a larger `top` distils only the new one.
  const again = await runCli(['search', '--config', config, '--quiet']);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/holds a search; use --resume to continue it or --force to start over/);
  const resumed = await runCli(['search', '--config', config, '--quiet', '--resume', '--set', 'search.top=2']);
  expect(resumed.code, resumed.err).toBe(0);
  expect(resumed.err.match(/\(measured before\)/g)).toHaveLength(3);
  expect(resumed.err.match(/distilling /g)).toHaveLength(1);
  expect(resumed.err).toContain(`distilling ${res.rows[1].name}`);
  const res2 = read(dir);
  expect(res2.rows.map((x) => !!x.distil)).toEqual([true, true, false]);
  expect(res2.rows[0].measurement).toEqual(res.rows[0].measurement);
  expect(res2.rows[0].distil).toEqual(res.rows[0].distil);

  // Settings the measurements depend on may not change under --resume.
  const changed = await runCli(['search', '--config', config, '--quiet', '--resume', '--set', 'search.repeats=3']);
  expect(changed.code).toBe(1);
  expect(changed.err).toMatch(/was measured with other settings \(search\.repeats changed\)/);

  // A budget nobody meets: the table is still written and printed, and the command fails.
  const none = await runCli(['search', '--config', config, '--quiet', '--force', '--set', 'search.budget.latencyMs=0.000001']);
  expect(none.code).toBe(1);
  expect(none.err).toMatch(/no candidate fits the budget \(the fastest, L1-H\d+-A\d-I32, takes [\d.]+ ms/);
  expect(none.out).toContain('No candidate fits the budget.');
  expect(none.err).toMatch(/teacher cache: complete in .* \(0 shards written, [1-9]\d* reused/); // --force redoes the search, not the cache
  expect(read(dir).rows.every((x) => !x.fits && !x.distil)).toBe(true);
}, 600_000);

it('distill search: a config without a search section, or with a grid of no valid shape, is refused naming the key', async () => {
  const dir = tempDir('cli-search-bad-');
  const { search: _, ...noSearch } = SEARCH;
  const r1 = await runCli(['search', '--config', writeConfig(dir, noSearch, 'a.json')]);
  expect(r1.code).toBe(1);
  expect(r1.err).toMatch(/search: the config has no "search" section/);
  const r2 = await runCli(['search', '--config', writeConfig(dir, { ...SEARCH, search: { ...SEARCH.search, grid: { layers: [1], hidden: [10], heads: [4] } } }, 'b.json')]);
  expect(r2.code).toBe(1);
  expect(r2.err).toMatch(/search\.grid: no valid candidate/);
  const r3 = await runCli(['search', '--config', writeConfig(dir, { ...SEARCH, search: { ...SEARCH.search, budget: {}, grid: { ...SEARCH.search.grid, layers: [] } } }, 'c.json')]);
  expect(r3.code).toBe(1);
  expect(r3.err).toMatch(/search\.budget: give latencyMs, sizeMb or both/);
  expect(r3.err).toMatch(/search\.grid\.layers: /);
  expect(fs.existsSync(path.join(dir, 'run'))).toBe(false); // nothing built for a refused search
});
