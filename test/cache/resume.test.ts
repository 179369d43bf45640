import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { buildCache, type BuildCacheOptions } from '../../src/cache/writer.ts';
import { openCache } from '../../src/cache/reader.ts';
import { fixtureDir } from '../teacher/helpers.ts';
import { digests, writeSst2 } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'teacher-cache-resume-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'build-child.ts');

const opts = (outDir: string): BuildCacheOptions => ({
  teacherDir: fixtureDir(14), task: 'sst2', dataDir: writeSst2(path.join(tmp, 'data'), 120, 3), split: 'train',
  outDir, maxLength: 24, batchSize: 4, intraOpThreads: 1, shardBytes: 30_000,
});

function finishedShards(dir: string): number {
  const f = path.join(dir, 'progress', 'part-0-of-1.json');
  try {
    return Object.keys(JSON.parse(fs.readFileSync(f, 'utf8')).shards).length;
  } catch {
    return 0; // not written yet
  }
}

/** Starts a build in a child process and kills it with SIGKILL once `shards` more shards are done. */
async function killAfter(outDir: string, shards: number): Promise<void> {
  const start = finishedShards(outDir);
  const p = spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify({ ...opts(outDir), delayMs: 15 })], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  while (finishedShards(outDir) < start + shards) {
    if (p.exitCode !== null) throw new Error(`the child build ended (code ${p.exitCode}) before it could be killed`);
    await new Promise((r) => setTimeout(r, 10));
  }
  // Somewhere inside the next shard: a temp file is half-written.
  await new Promise((r) => setTimeout(r, 40));
  p.kill('SIGKILL');
  await exited;
}

it('resumes after kill -9 and ends bit-identical to an uninterrupted build', async () => {
  const whole = path.join(tmp, 'whole');
  const killed = path.join(tmp, 'killed');
  const r = await buildCache({ ...opts(whole), notice: () => {} });
  expect(r.shardsWritten).toBeGreaterThan(6);

  await killAfter(killed, 2);
  expect(fs.existsSync(path.join(killed, 'manifest.json'))).toBe(false);
  await killAfter(killed, 2);
  const before = finishedShards(killed);
  expect(before).toBeGreaterThanOrEqual(4);
  expect(before).toBeLessThan(r.shardsWritten);

  const resumed = await buildCache({ ...opts(killed), notice: () => {} });
  expect(resumed.complete).toBe(true);
  expect(resumed.shardsSkipped).toBe(before);
  expect(resumed.shardsWritten).toBe(r.shardsWritten - before);
  // No temp files left; every file equal to the uninterrupted build's.
  expect(fs.readdirSync(path.join(killed, 'shards')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(digests(killed, ['progress', 'verified.json'])).toEqual(digests(whole, ['progress', 'verified.json']));
  openCache(killed, { verify: true }).close();
}, 120_000);
