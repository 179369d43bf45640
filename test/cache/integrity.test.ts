import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
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

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const crc32Of = (file: string) => (zlib.crc32(fs.readFileSync(file)) >>> 0).toString(16).padStart(8, '0');
const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The files of a cache that carry checksums: build.json, manifest.json and the progress files. */
function recordFiles(dir: string): string[] {
  const progress = fs.readdirSync(path.join(dir, 'progress')).map((f) => path.join(dir, 'progress', f));
  return [path.join(dir, 'build.json'), path.join(dir, 'manifest.json'), ...progress].filter((f) => fs.existsSync(f));
}

/** Rewrites every checksum record of a cache as caches written before CRC-32 did: `sha256` of the file. */
function toSha256Records(dir: string): void {
  const convert = (entry: Record<string, unknown>) => {
    delete entry.crc32;
    entry.sha256 = sha256Of(path.join(dir, entry.file as string));
  };
  for (const f of recordFiles(dir)) {
    const json = readJson(f);
    if (json.index) convert(json.index);
    for (const s of Array.isArray(json.shards) ? json.shards : Object.values(json.shards ?? {})) convert(s as Record<string, unknown>);
    fs.writeFileSync(f, JSON.stringify(json, null, 2));
  }
  fs.rmSync(path.join(dir, 'verified.json'), { force: true });
}

it('a new cache records the CRC-32 of the index and of each shard, named as such, in every record file', async () => {
  const dir = path.join(tmp, 'crc');
  await buildCache(base(dir));
  const m = readJson(path.join(dir, 'manifest.json'));
  expect(m.shards.length).toBeGreaterThan(1);
  for (const entry of [m.index, ...m.shards]) {
    expect(Object.keys(entry)).not.toContain('sha256');
    expect(entry.crc32).toBe(crc32Of(path.join(dir, entry.file)));
  }
  expect(readJson(path.join(dir, 'build.json')).index.crc32).toBe(m.index.crc32);
  const progress = readJson(path.join(dir, 'progress', 'part-0-of-1.json'));
  expect(Object.values(progress.shards)).toEqual(m.shards);
});

it('a cache written with sha256 checksums still opens and verifies; a damaged shard is found and rebuilt with a CRC-32', async () => {
  const dir = path.join(tmp, 'old');
  await buildCache(base(dir));
  const fresh = openCache(dir);
  const example = fresh.readExample(3);
  fresh.close();
  const good = digests(path.join(dir, 'shards'));
  toSha256Records(dir);
  const m = readJson(path.join(dir, 'manifest.json'));
  expect(m.shards[0]).toEqual({ file: 'shards/shard-000000.bin', examples: expect.any(Number), bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

  // Verified with sha256 (every byte read), then remembered: verified.json keeps the algorithm.
  const first = verifyCache(dir, { remembered: true });
  expect(first).toMatchObject({ ok: true, problems: [], shards: m.shards.length });
  expect(first.hashedBytes).toBe(m.totalBytes + fs.statSync(path.join(dir, 'index.bin')).size);
  expect(verifyCache(dir, { remembered: true }).hashedBytes).toBe(0);
  expect(readJson(path.join(dir, 'verified.json')).files['shards/shard-000000.bin'].sha256).toBe(m.shards[0].sha256);
  const old = openCache(dir, { verify: true });
  expect(old.readExample(3)).toEqual(example);
  old.close();
  // A complete cache is left as it is, old checksums included.
  const manifestBytes = fs.readFileSync(path.join(dir, 'manifest.json'));
  notices.length = 0;
  expect(await buildCache(base(dir))).toMatchObject({ complete: true, shardsWritten: 0 });
  expect(notices.join('\n')).toMatch(/already complete for these inputs/);
  expect(fs.readFileSync(path.join(dir, 'manifest.json')).equals(manifestBytes)).toBe(true);

  const shard = path.join(dir, 'shards', 'shard-000001.bin');
  flip(shard);
  expect(verifyCache(dir).problems).toEqual([`${shard}: checksum differs from the manifest (damaged file)`]);
  expect(() => openCache(dir, { verify: 'remembered' })).toThrow(/shard-000001\.bin: checksum differs from the manifest/);

  // The next cache run rebuilds that shard, recorded with a CRC-32; the others keep their sha256 and verify.
  notices.length = 0;
  expect(await buildCache(base(dir))).toMatchObject({ complete: true, shardsWritten: 1 });
  expect(notices.join('\n')).toMatch(/is damaged, rebuilding what is: .*shard-000001\.bin/);
  const mixed = readJson(path.join(dir, 'manifest.json'));
  expect(mixed.shards[1]).toEqual({ ...m.shards[1], sha256: undefined, crc32: crc32Of(shard) });
  expect(mixed.shards.filter((s: { sha256?: string }) => s.sha256).length).toBe(m.shards.length - 1);
  expect(verifyCache(dir).ok).toBe(true);
  expect(digests(path.join(dir, 'shards'))).toEqual(good);
});

it('a manifest entry without a usable checksum is reported as a damaged manifest, naming the file', async () => {
  const dir = path.join(tmp, 'nochecksum');
  await buildCache(base(dir));
  const file = path.join(dir, 'manifest.json');
  const m = readJson(file);
  delete m.shards[0].crc32;
  m.shards[1].crc32 = 'not hex';
  fs.writeFileSync(file, JSON.stringify(m));
  expect(verifyCache(dir).problems).toEqual([
    `${path.join(dir, 'shards', 'shard-000000.bin')}: the manifest records no valid crc32 or sha256 for it (damaged manifest)`,
    `${path.join(dir, 'shards', 'shard-000001.bin')}: the manifest records no valid crc32 or sha256 for it (damaged manifest)`,
  ]);
});
