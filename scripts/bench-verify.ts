/**
 * What integrity on every read costs: writes a synthetic teacher cache of --gb GB (random shards of
 * 256 MB, a manifest with their CRC-32), then times (1) the first verification, which reads every
 * shard, (2) a second one, which finds each file unchanged (size, mtime, ctime, inode in
 * verified.json) and reads nothing, and (3) the second after one shard was rewritten.
 *
 *   npx tsx scripts/bench-verify.ts [--gb 1] [--dir /tmp/x] [--keep]
 *
 * The first pass reads from the page cache when the shards were just written (as here); on a cold
 * cache it is bound by the disk's read speed instead.
 */
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CACHE_FORMAT, CACHE_VERSION, INDEX_ENTRY_BYTES } from '../src/cache/format.ts';
import { verifyCache } from '../src/cache/merge.ts';
import { Crc32, checksumOf } from '../src/util/checksum.ts';

const { values } = parseArgs({ options: { gb: { type: 'string', default: '1' }, dir: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const totalBytes = Math.round(Number(values.gb) * 1e9);
const shardBytes = 256e6;
const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-verify-'));
fs.mkdirSync(path.join(dir, 'shards'), { recursive: true });

const shards: { file: string; examples: number; bytes: number; crc32: string }[] = [];
const block = Buffer.allocUnsafe(1 << 22);
for (let k = 0, left = totalBytes; left > 0; k++) {
  const bytes = Math.min(shardBytes, left);
  const file = `shards/shard-${String(k).padStart(6, '0')}.bin`;
  const fd = fs.openSync(path.join(dir, file), 'w');
  const crc = new Crc32();
  for (let done = 0; done < bytes; ) {
    const n = Math.min(block.length, bytes - done);
    randomFillSync(block, 0, n);
    fs.writeSync(fd, block, 0, n);
    crc.update(block.subarray(0, n));
    done += n;
  }
  fs.closeSync(fd);
  shards.push({ file, examples: 1, bytes, crc32: crc.hex() });
  left -= bytes;
}
const index = Buffer.alloc(shards.length * INDEX_ENTRY_BYTES);
fs.writeFileSync(path.join(dir, 'index.bin'), index);
fs.writeFileSync(
  path.join(dir, 'manifest.json'),
  JSON.stringify({
    complete: true,
    fingerprint: { format: CACHE_FORMAT, version: CACHE_VERSION, numExamples: shards.length },
    index: { file: 'index.bin', ...checksumOf(index), entryBytes: INDEX_ENTRY_BYTES },
    shards,
    totalBytes,
  }),
);

const time = (label: string) => {
  const t0 = performance.now();
  const r = verifyCache(dir, { remembered: true });
  const s = (performance.now() - t0) / 1000;
  if (!r.ok) throw new Error(r.problems.join('; '));
  const rate = r.hashedBytes > 0 ? `, ${(r.hashedBytes / 1e6 / s).toFixed(0)} MB/s` : '';
  console.log(`${label}: ${s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`} (${(r.hashedBytes / 1e6).toFixed(0)} MB hashed${rate})`);
};
console.log(`synthetic cache: ${(totalBytes / 1e9).toFixed(2)} GB in ${shards.length} shards, ${dir}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
time('first open (every shard read)');
time('second open (remembered)');
const touched = path.join(dir, shards[0].file);
const now = new Date();
fs.utimesSync(touched, now, now);
time('after one shard was touched');
if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
