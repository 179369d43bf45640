import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collate, encodeExamples } from '../../src/data/batching.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { buildCache, type BuildCacheOptions } from '../../src/cache/writer.ts';
import { openCache } from '../../src/cache/reader.ts';
import { verifyCache } from '../../src/cache/merge.ts';
import { collateCached } from '../../src/cache/collate.ts';
import { recordBytes } from '../../src/cache/format.ts';
import { Teacher } from '../../src/teacher/teacher.ts';
import { UserError } from '../../src/util/errors.ts';
import { fixtureDir, maxAbsDiff } from '../teacher/helpers.ts';
import { digests, snapshot, writeSst2 } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'teacher-cache-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const teacherDir = fixtureDir(17);
const dataDir = writeSst2(path.join(tmp, 'data'), 40);
const quiet = () => {};

const base = (outDir: string, extra: Partial<BuildCacheOptions> = {}): BuildCacheOptions => ({
  teacherDir, task: 'sst2', dataDir, split: 'train', outDir, maxLength: 24, batchSize: 8,
  intraOpThreads: 1, shardBytes: 20_000, notice: quiet, ...extra,
});

describe('teacher cache', () => {
  let teacher: Teacher;
  const reference = new Map<number, Awaited<ReturnType<Teacher['run']>>>();
  const task = loadTask('sst2');
  const examples = readSplit(task, dataDir, 'train');

  beforeAll(async () => {
    // The truth: the teacher run on each example alone (no padding at all).
    teacher = await Teacher.load(teacherDir, { attention: 'both', workDir: path.join(tmp, 'ref'), intraOpThreads: 1, notice: quiet });
    const encoded = encodeExamples(teacher.folder.tokenizer, examples, 24);
    for (const i of [0, 5, 17, 39]) reference.set(i, await teacher.run(collate(encoded, [i])));
  });
  afterAll(() => teacher.dispose());

  it('stores only real tokens and reads back what the teacher computed (float32)', async () => {
    const dir = path.join(tmp, 'f32');
    const r = await buildCache(base(dir, { dtype: 'float32', attention: 'both' }));
    expect(r.complete).toBe(true);
    expect(r.shardsWritten).toBeGreaterThan(2);
    const cache = openCache(dir);
    expect(cache.numExamples).toBe(40);
    expect(cache.manifest.providers).toEqual(['cpu']);
    expect(cache.manifest.layout.hiddenLayers).toEqual([0, 1, 2, 3]);
    expect(r.estimatedBytes).toBe(cache.manifest.totalBytes);
    for (const [i, ref] of reference) {
      const ex = cache.readExample(i);
      const len = ref.hidden.get(0)!.dims[1];
      expect(ex.length).toBe(len);
      expect(maxAbsDiff(ex.logits!, ref.logits!.data)).toBeLessThan(1e-5);
      ex.hidden.forEach((h, k) => expect(maxAbsDiff(h, ref.hidden.get(k)!.data)).toBeLessThan(1e-5));
      expect(ex.attention).toHaveLength(3);
      ex.attention.forEach((a, k) => expect(maxAbsDiff(a, ref.scores.get(k + 1)!.data)).toBeLessThan(1e-4));
      ex.attentionProbs!.forEach((a, k) => expect(maxAbsDiff(a, ref.probs.get(k + 1)!.data)).toBeLessThan(1e-6));
    }
    // Shard sizes add up to the real-token records: no padding is stored.
    const lengths = Array.from({ length: 40 }, (_, i) => cache.lengthOf(i));
    expect(cache.manifest.totalBytes).toBe(lengths.reduce((s, l) => s + recordBytes(cache.manifest.layout, l), 0));
    cache.close();
    expect(verifyCache(dir).ok).toBe(true);
  });

  it('collates cached features for a padded batch: real positions from the teacher, padding zero', async () => {
    const cache = openCache(path.join(tmp, 'f32'));
    const encoded = encodeExamples(teacher.folder.tokenizer, examples, 24);
    const batch = collate(encoded, [3, 17, 0, 22]);
    const got = collateCached(cache, batch);
    const want = await teacher.run(batch);
    const { seqLen: L, lengths } = batch;
    const mask = (b: number, i: number) => i < lengths[b];
    got.hidden.forEach((h, k) => {
      const w = want.hidden.get(k)!.data;
      for (let b = 0; b < 4; b++)
        for (let i = 0; i < L; i++)
          for (let d = 0; d < 32; d += 7) {
            const at = (b * L + i) * 32 + d;
            expect(Math.abs(h[at] - (mask(b, i) ? w[at] : 0))).toBeLessThan(1e-5);
          }
    });
    got.attention.forEach((a, k) => {
      const w = want.scores.get(k + 1)!.data;
      for (let b = 0; b < 4; b++)
        for (let h = 0; h < 4; h++)
          for (let i = 0; i < L; i++)
            for (let j = 0; j < L; j++) {
              const at = ((b * 4 + h) * L + i) * L + j;
              expect(Math.abs(a[at] - (mask(b, i) && mask(b, j) ? w[at] : 0))).toBeLessThan(1e-4);
            }
    });
    expect(maxAbsDiff(got.logits!, want.logits!.data)).toBeLessThan(1e-5);
    // A batch tokenized differently from the cache is refused.
    const wrong = collate(encodeExamples(teacher.folder.tokenizer, examples, 6), [3]);
    expect(() => collateCached(cache, wrong)).toThrow(/example 3 has \d+ tokens in the cache but 6 in the batch/);
    cache.close();
  });

  it('stores float16 by default, a layer subset, and logits only on request', async () => {
    const dir = path.join(tmp, 'f16');
    await buildCache(base(dir, { layers: [0, 3] }));
    const cache = openCache(dir);
    expect(cache.manifest.layout).toMatchObject({ dtype: 'float16', hiddenLayers: [0, 3], attentionLayers: [3], scores: true, probs: false });
    const ex = cache.readExample(17);
    const ref = reference.get(17)!;
    expect(ex.hidden).toHaveLength(2);
    expect(ex.attentionProbs).toBeUndefined();
    // Half precision keeps about 3 significant digits.
    expect(maxAbsDiff(ex.hidden[1], ref.hidden.get(3)!.data)).toBeLessThan(1e-2);
    expect(maxAbsDiff(ex.attention[0], ref.scores.get(3)!.data)).toBeLessThan(2e-2);
    cache.close();

    const logitsDir = path.join(tmp, 'logits');
    await buildCache(base(logitsDir, { logitsOnly: true }));
    const lc = openCache(logitsDir);
    const lx = lc.readExample(5);
    expect(lx.hidden).toEqual([]);
    expect(lx.attention).toEqual([]);
    expect(maxAbsDiff(lx.logits!, reference.get(5)!.logits!.data)).toBeLessThan(1e-5);
    expect(lc.manifest.totalBytes).toBe(40 * 2 * 4);
    lc.close();
  });

  it('refuses a cache above the disk budget before writing anything', async () => {
    const dir = path.join(tmp, 'too-big');
    const err = await buildCache(base(dir, { maxCacheGb: 1e-6 })).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/would take .* above --max-cache-gb/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('refuses a cache built from other inputs, naming what differs', async () => {
    const dir = path.join(tmp, 'f32');
    const before = digests(dir);
    const err = await buildCache(base(dir, { dtype: 'float32', attention: 'both', maxLength: 16 })).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('maxLength (cache: 24, now: 16)');
    const otherData = writeSst2(path.join(tmp, 'data2'), 40, 2);
    const err2 = await buildCache(base(dir, { dtype: 'float32', attention: 'both', dataDir: otherData })).catch((e) => e);
    expect(err2.message).toMatch(/data file \(cache: sha256/);
    expect(digests(dir)).toEqual(before);
  });

  it('refuses a folder of other files, but not one another part has just started (shards/ and progress/ only)', async () => {
    const foreign = path.join(tmp, 'foreign');
    fs.mkdirSync(foreign, { recursive: true });
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    const err = await buildCache(base(foreign)).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/is not a teacher cache \(it holds notes\.txt\)/);
    // The moment a concurrent part has made its folders but not yet written build.json.
    const started = path.join(tmp, 'started');
    fs.mkdirSync(path.join(started, 'shards'), { recursive: true });
    fs.mkdirSync(path.join(started, 'progress'), { recursive: true });
    fs.writeFileSync(path.join(started, 'build.json.123.456.tmp'), '{');
    const built = await buildCache(base(started, { shard: '1/2' }));
    expect(built.shardsWritten).toBeGreaterThan(0);
  });

  it('detects and names a corrupt or truncated shard', async () => {
    const dir = path.join(tmp, 'corrupt');
    await buildCache(base(dir));
    const shard = path.join(dir, 'shards', 'shard-000001.bin');
    const bytes = fs.readFileSync(shard);
    bytes[10] ^= 0xff;
    fs.writeFileSync(shard, bytes);
    const report = verifyCache(dir);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([`${shard}: checksum differs from the manifest (damaged file)`]);
    expect(() => openCache(dir, { verify: true })).toThrow(/shard-000001\.bin: checksum differs/);
    fs.truncateSync(shard, 100);
    expect(() => openCache(dir)).toThrow(/shard-000001\.bin is 100 bytes, expected/);
  });

  it('builds in parts (--shard i/n) that merge into the same bytes as one process', async () => {
    const whole = path.join(tmp, 'whole');
    const parts = path.join(tmp, 'parts');
    await buildCache(base(whole));
    const first = await buildCache(base(parts, { shard: '1/2' }));
    expect(first.complete).toBe(false);
    expect(() => openCache(parts)).toThrow(/not a finished teacher cache/);
    const second = await buildCache(base(parts, { shard: { index: 0, count: 2 } }));
    expect(second.complete).toBe(true);
    // Running again finds the finished cache and does nothing.
    const again = await buildCache(base(parts, { shard: '0/2' }));
    expect(again).toMatchObject({ complete: true, shardsWritten: 0 });
    const skip = ['progress', 'verified.json']; // verified.json records file stats, which differ between folders
    const a = snapshot(whole, skip);
    const b = snapshot(parts, skip);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [f, data] of a) expect(b.get(f)!.equals(data), f).toBe(true);
  });
});
