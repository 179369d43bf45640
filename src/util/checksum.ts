/**
 * Integrity checksums of files the toolkit writes. They guard against damage (a bad disk, a truncated
 * write, kill -9), not against an adversary, so new files get CRC-32 (zlib's, as in gzip, zip and PNG;
 * about twice as cheap per byte as sha256 here). sha256 is still verified, for files recorded before.
 *
 * A record names its algorithm by its field: `{ "crc32": "cbf43926" }` or `{ "sha256": "ba78…" }`.
 */
import * as zlib from 'node:zlib';
import { UserError } from './errors.ts';
import { forEachFileBlock, sha256File } from './hash.ts';

export type ChecksumAlgorithm = 'crc32' | 'sha256';

export interface Checksum {
  algorithm: ChecksumAlgorithm;
  /** Lowercase hex: 8 digits for crc32, 64 for sha256. */
  value: string;
}

/** How a checksum is recorded in JSON; exactly one field is present. */
export interface ChecksumFields {
  crc32?: string;
  /** Written before CRC-32 replaced it; still verified. */
  sha256?: string;
}

const HEX_DIGITS: Record<ChecksumAlgorithm, number> = { crc32: 8, sha256: 64 };

/** zlib.crc32 arrived in Node 20.15; older versions get a clear error instead of a TypeError. */
export function assertCrc32Available(): void {
  if (typeof zlib.crc32 !== 'function') {
    throw new UserError(`this Node (${process.version}) has no zlib.crc32, which cache checksums use: run Node 20.15 or newer`);
  }
}

export function crc32Hex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/** CRC-32 over chunks added in order (the same value as over their concatenation). */
export class Crc32 {
  private value = 0;

  constructor() {
    assertCrc32Available();
  }

  update(chunk: Uint8Array): this {
    this.value = zlib.crc32(chunk, this.value);
    return this;
  }

  hex(): string {
    return crc32Hex(this.value);
  }
}

/** The checksum recorded for bytes written now. */
export function checksumOf(data: Uint8Array): ChecksumFields {
  return { crc32: new Crc32().update(data).hex() };
}

/** The checksum fields of a record as JSON stores them. */
export function checksumFields(c: Checksum): ChecksumFields {
  return { [c.algorithm]: c.value };
}

/**
 * The checksum a record states (crc32 when both are present), or undefined when it states none or
 * one that is not hex of the algorithm's length (a damaged record).
 */
export function recordedChecksum(record: unknown): Checksum | undefined {
  if (!record || typeof record !== 'object') return undefined;
  const fields = record as Record<string, unknown>;
  for (const algorithm of ['crc32', 'sha256'] as const) {
    const value = fields[algorithm];
    if (value === undefined) continue;
    return typeof value === 'string' && new RegExp(`^[0-9a-f]{${HEX_DIGITS[algorithm]}}$`).test(value) ? { algorithm, value } : undefined;
  }
  return undefined;
}

function crc32File(file: string): string {
  const crc = new Crc32();
  forEachFileBlock(file, (block) => crc.update(block));
  return crc.hex();
}

/** The file's checksum under `algorithm`, streamed in 1 MiB blocks. */
export function fileChecksum(file: string, algorithm: ChecksumAlgorithm): string {
  return algorithm === 'crc32' ? crc32File(file) : sha256File(file);
}
