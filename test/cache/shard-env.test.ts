/**
 * `--shard auto` from the variables Kubernetes Indexed Jobs and Slurm arrays set: resolution rules, then n real
 * `distill cache --shard auto` processes with exactly those variables, whose merged cache is byte-identical to
 * a one-process build.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveShardOption, shardFromEnv } from '../../src/cli/shard-env.ts';
import { runCli, TINY_RUN, writeConfig } from '../cli/helpers.ts';
import { fixtureDir } from '../teacher/helpers.ts';
import { snapshot, writeSst2 } from './helpers.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

describe('shardFromEnv', () => {
  it('Kubernetes: JOB_COMPLETION_INDEX with JOB_COMPLETIONS', () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '2', JOB_COMPLETIONS: '4' })).toMatchObject({ index: 2, count: 4 });
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '2' })).toThrow(/set JOB_COMPLETIONS to the Job's spec.completions/);
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4', JOB_COMPLETIONS: '4' })).toThrow(/part 4 of 4 is out of range/);
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: 'x', JOB_COMPLETIONS: '4' })).toThrow(/JOB_COMPLETION_INDEX="x" is not a non-negative integer/);
  });
  it('Slurm: task id relative to the array minimum; gaps refused', () => {
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' })).toMatchObject({ index: 0, count: 3 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4' })).toMatchObject({ index: 3, count: 4 });
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '4', SLURM_ARRAY_TASK_STEP: '2' })).toThrow(/not contiguous/);
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '2' })).toThrow(/SLURM_ARRAY_TASK_COUNT is not/);
  });
  it('neither: a clear error; explicit i/n passes through untouched', () => {
    expect(() => shardFromEnv({})).toThrow(/neither JOB_COMPLETION_INDEX .* nor SLURM_ARRAY_TASK_ID/);
    expect(resolveShardOption('1/3', {})).toBe('1/3');
    expect(resolveShardOption(undefined, {})).toBeUndefined();
    expect(resolveShardOption('auto', { JOB_COMPLETION_INDEX: '1', JOB_COMPLETIONS: '3' })).toBe('1/3');
  });
});

describe('n processes with the engines\' variables build the same cache as one', () => {
  // The command the recipes run (`distill cache --config … --shard auto`), in real processes: the option's
  // parsing, the environment and the cache step are all in the path.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shard-auto-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dataDir = writeSst2(path.join(tmp, 'data'), 60);
  const config = (name: string) =>
    writeConfig(
      tmp,
      {
        ...TINY_RUN,
        out: path.join(tmp, name),
        teacher: { dir: fixtureDir(17), threads: 1 },
        data: { dir: dataDir, maxLength: 24 },
        cache: { dtype: 'float32', batchSize: 8, shardMb: 0.02 },
      },
      `${name}.json`,
    );
  const run = (configFile: string, env: Record<string, string>) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      // Only the engine's variables are added to a clean copy of the environment (no inherited shard settings).
      const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(JOB_COMPLETION|SLURM_ARRAY|DISTILL_SHARD)/.test(k)));
      const p = spawn(process.execPath, [path.join(ROOT, 'bin/distill.mjs'), 'cache', '--config', configFile, '--shard', 'auto', '--quiet'], {
        env: { ...base, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code, out, err }));
    });
  const cacheOf = (name: string) => snapshot(path.join(tmp, name, 'cache'), ['progress', 'verified.json']);

  it('Kubernetes Indexed Job (3 parts, concurrent) and Slurm array 1-2 both merge byte-identically', async () => {
    const single = await runCli(['cache', '--config', config('whole'), '--quiet']);
    expect(single.code, single.err).toBe(0);
    const reference = cacheOf('whole');
    // Every part really has shards to build.
    expect([...reference.keys()].filter((f) => f.startsWith('shards/')).length).toBeGreaterThanOrEqual(3);

    const k8s = config('k8s');
    const parts = await Promise.all([0, 1, 2].map((i) => run(k8s, { JOB_COMPLETION_INDEX: String(i), JOB_COMPLETIONS: '3' })));
    parts.forEach((p, i) => {
      expect(p.code, p.err).toBe(0);
      expect(p.err).toContain(`--shard auto: part ${i} of 3 (Kubernetes JOB_COMPLETION_INDEX=${i}, JOB_COMPLETIONS=3)`);
    });
    expect(parts.some((p) => p.err.includes('teacher cache: complete'))).toBe(true);

    const slurm = config('slurm');
    for (const id of ['1', '2']) {
      const p = await run(slurm, { SLURM_ARRAY_TASK_ID: id, SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '2' });
      expect(p.code, p.err).toBe(0);
      expect(p.err).toContain(`--shard auto: part ${Number(id) - 1} of 2 (Slurm SLURM_ARRAY_TASK_ID=${id}`);
    }
    // The merge step of the recipes: a plain `distill cache` over the finished parts writes nothing new.
    const merge = await runCli(['cache', '--config', slurm, '--quiet']);
    expect(merge.code, merge.err).toBe(0);
    expect(merge.err).toMatch(/teacher cache: complete .*\(0 shards written, \d+ reused/);

    for (const name of ['k8s', 'slurm']) {
      const got = cacheOf(name);
      expect([...got.keys()].sort()).toEqual([...reference.keys()].sort());
      for (const [f, data] of reference) expect(got.get(f)!.equals(data), `${name}/${f}`).toBe(true);
    }
    // Without the engines' variables, --shard auto refuses rather than building everything in every process.
    const none = await run(config('none'), {});
    expect(none.code).toBe(1);
    expect(none.err).toContain('neither JOB_COMPLETION_INDEX');
  }, 300_000);
});

describe('deploy recipes', () => {
  const root = ROOT;
  it('the Indexed Job passes its completions as JOB_COMPLETIONS and builds with --shard auto; the merge runs a plain build', async () => {
    const { parse } = await import('yaml');
    const job = parse(fs.readFileSync(path.join(root, 'deploy/kubernetes/cache-job.yaml'), 'utf8'));
    expect(job.spec.completionMode).toBe('Indexed');
    const c = job.spec.template.spec.containers[0];
    expect(c.command).toEqual(expect.arrayContaining(['cache', '--shard', 'auto']));
    expect(c.env.find((e: { name: string }) => e.name === 'JOB_COMPLETIONS').value).toBe(String(job.spec.completions));
    const merge = parse(fs.readFileSync(path.join(root, 'deploy/kubernetes/merge-job.yaml'), 'utf8'));
    expect(merge.spec.template.spec.containers[0].command.join(' ')).toMatch(/distill\.mjs cache --config \S+ --quiet && /);
    const sbatch = fs.readFileSync(path.join(root, 'deploy/slurm/cache-array.sbatch'), 'utf8');
    expect(sbatch).toMatch(/^#SBATCH --array=0-\d+$/m);
    expect(sbatch).toContain('--shard auto');
    expect(fs.readFileSync(path.join(root, 'deploy/slurm/submit.sh'), 'utf8')).toContain('--dependency=afterok:');
  });
});
