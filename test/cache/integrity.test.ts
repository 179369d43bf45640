import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildCache, type BuildCacheOptions } from '../../src/cache/writer.ts';
import { openCache } from '../../src/cache/reader.ts';
import { verifyCache } from '../../src/cache/merge.ts';
import { fixtureDir } from '../teacher/helpers.ts';
import { digests, writeSst2 } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-integrity-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const dataDir = writeSst2(path.join(tmp, 'data'), 30);
const notices: string[] = [];
const base = (outDir: string): BuildCacheOptions => ({
  teacherDir: fixtureDir(17), task: 'sst2', dataDir, split: 'train', outDir, maxLength: 24, batchSize: 8,
  intraOpThreads: 1, shardBytes: 20_000, notice: (m) => notices.push(m),
});

function flip(file: string, at = 10): void {
  const b = fs.readFileSync(file);
  b[at] ^= 0xff;
  fs.writeFileSync(file, b);
}

it('verifies shards once and remembers it; a damaged shard is refused on open and rebuilt by the next cache run', async () => {
  const dir = path.join(tmp, 'c');
  await buildCache(base(dir));
  // Shards were hashed while written: the first check reads nothing but the index (rewritten by the build).
  const first = verifyCache(dir, { remembered: true });
  expect(first.ok).toBe(true);
  expect(verifyCache(dir, { remembered: true }).hashedBytes).toBe(0);
  openCache(dir, { verify: 'remembered' }).close();
  const good = digests(dir, ['verified.json']);

  const shard = path.join(dir, 'shards', 'shard-000001.bin');
  flip(shard);
  expect(() => openCache(dir, { verify: 'remembered' })).toThrow(/shard-000001\.bin: checksum differs from the manifest.*Rerun the same `distill cache`/);

  notices.length = 0;
  const r = await buildCache(base(dir));
  expect(notices.join('\n')).toMatch(/is damaged, rebuilding what is: .*shard-000001\.bin/);
  expect(r).toMatchObject({ complete: true, shardsWritten: 1 });
  expect(digests(dir, ['verified.json'])).toEqual(good);
  notices.length = 0;
  await buildCache(base(dir));
  expect(notices.join('\n')).toMatch(/already complete for these inputs \(\d+ shards verified\)/);
});

it('a damaged finished shard of an interrupted build is rebuilt, not kept', async () => {
  const dir = path.join(tmp, 'partial');
  await buildCache(base(dir));
  const good = digests(dir, ['verified.json']);
  fs.rmSync(path.join(dir, 'manifest.json')); // as if killed before the merge
  fs.rmSync(path.join(dir, 'verified.json'));
  flip(path.join(dir, 'shards', 'shard-000000.bin'), 3);
  notices.length = 0;
  const r = await buildCache(base(dir));
  expect(notices.join('\n')).toMatch(/1 finished shard\(s\) fail their checksum and are rebuilt: shards\/shard-000000\.bin/);
  expect(r.shardsWritten).toBe(1);
  expect(digests(dir, ['verified.json'])).toEqual(good);
});
