import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import { Crc32, checksumFields, checksumOf, crc32Hex, fileChecksum, recordedChecksum } from '../../src/util/checksum.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'checksum-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const bytes = (s: string) => Buffer.from(s, 'latin1');
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'; // FIPS 180-2 example

it('CRC-32 has the reference check value, whole or in chunks, as 8 lowercase hex digits', () => {
  // The standard check value of CRC-32 (IEEE 802.3, as in zlib, gzip and PNG) is crc32("123456789") = cbf43926.
  expect(new Crc32().update(bytes('123456789')).hex()).toBe('cbf43926');
  expect(new Crc32().update(bytes('1234')).update(bytes('')).update(bytes('56789')).hex()).toBe('cbf43926');
  expect(checksumOf(bytes('123456789'))).toEqual({ crc32: 'cbf43926' });
  expect(new Crc32().hex()).toBe('00000000'); // nothing added: padded to 8 digits
  expect(crc32Hex(0x0000abcd)).toBe('0000abcd');
  expect(crc32Hex(0xffffffff)).toBe('ffffffff');
});

it('a file checksum streams the file and equals the checksum of its bytes, for both algorithms', () => {
  const small = path.join(tmp, 'small');
  fs.writeFileSync(small, '123456789');
  expect(fileChecksum(small, 'crc32')).toBe('cbf43926');
  fs.writeFileSync(small, 'abc');
  expect(fileChecksum(small, 'sha256')).toBe(SHA256_ABC);
  // Longer than the 1 MiB read block, so several blocks are chained.
  const data = Buffer.alloc(3 * (1 << 20) + 5);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const big = path.join(tmp, 'big');
  fs.writeFileSync(big, data);
  expect(fileChecksum(big, 'crc32')).toBe(crc32Hex(zlib.crc32(data)));
  expect(fileChecksum(big, 'sha256')).toBe(createHash('sha256').update(data).digest('hex'));
});

it('a record names its algorithm by its field; crc32 wins over sha256; malformed values count as none', () => {
  expect(recordedChecksum({ file: 'x', crc32: 'cbf43926' })).toEqual({ algorithm: 'crc32', value: 'cbf43926' });
  expect(recordedChecksum({ sha256: SHA256_ABC })).toEqual({ algorithm: 'sha256', value: SHA256_ABC });
  expect(recordedChecksum({ sha256: SHA256_ABC, crc32: 'cbf43926' })).toEqual({ algorithm: 'crc32', value: 'cbf43926' });
  for (const bad of [{}, null, 'cbf43926', { crc32: '' }, { crc32: 'CBF43926' }, { crc32: 'cbf4392' }, { crc32: 123 }, { sha256: 'abc' }, { crc32: '', sha256: SHA256_ABC }]) {
    expect(recordedChecksum(bad), JSON.stringify(bad)).toBeUndefined();
  }
  expect(checksumFields({ algorithm: 'sha256', value: SHA256_ABC })).toEqual({ sha256: SHA256_ABC });
});
