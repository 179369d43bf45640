/**
 * Streaming, strict UTF-8 line reader: reads a file in blocks (so multi-GB files never sit in
 * memory whole), strips a leading BOM and trailing "\r", and reports bad bytes by line and offset.
 */
import * as fs from 'node:fs';
import { UserError } from '../util/errors.ts';

export interface Line {
  /** Decoded text without the line break. */
  text: string;
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte in the file. */
  byteOffset: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Checks that `file` exists and is a regular file; `what` says what it was meant to be. */
export function requireFile(file: string, what: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UserError(`${what} not found: ${file}`);
  }
  if (!stat.isFile()) throw new UserError(`${what} is not a file: ${file}`);
}

export function* readLines(file: string, blockSize = 1 << 20): Generator<Line> {
  if (blockSize < 4) throw new Error('readLines: blockSize must be at least 4 bytes');
  requireFile(file, 'file');
  const fd = fs.openSync(file, 'r');
  try {
    const block = Buffer.allocUnsafe(blockSize);
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = 0; // file offset of carry[0]
    let lineNo = 0;
    let first = true;
    for (;;) {
      const n = fs.readSync(fd, block, 0, blockSize, null);
      const data: Buffer = n > 0 ? Buffer.concat([carry, block.subarray(0, n)]) : carry;
      let start = 0;
      if (first && data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) start = 3;
      first = false;
      for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
        yield decodeLine(file, data.subarray(start, nl), ++lineNo, carryOffset + start);
        start = nl + 1;
      }
      if (n === 0) {
        if (start < data.length) yield decodeLine(file, data.subarray(start), ++lineNo, carryOffset + start);
        return;
      }
      carryOffset += start;
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    fs.closeSync(fd);
  }
}

function decodeLine(file: string, bytes: Uint8Array, line: number, byteOffset: number): Line {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  const body = bytes.subarray(0, end);
  try {
    return { text: decoder.decode(body), line, byteOffset };
  } catch {
    const bad = firstInvalidUtf8(body);
    const at = byteOffset + Math.max(bad, 0);
    const col = Math.max(bad, 0);
    throw new UserError(
      `${file}:${line}: invalid UTF-8 at byte offset ${at} (byte ${col} of the line, value 0x${(body[col] ?? 0)
        .toString(16)
        .padStart(2, '0')}); expected a UTF-8 text file (re-save it as UTF-8)`,
    );
  }
}

/** Index of the first byte that starts an invalid UTF-8 sequence, or -1 when all bytes are valid. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => k < b.length && b[k] >= lo && b[k] <= hi;
  while (i < b.length) {
    const c = b[i];
    let len: number;
    if (c < 0x80) len = 1;
    else if (c >= 0xc2 && c <= 0xdf) len = cont(i + 1) ? 2 : 0;
    else if (c === 0xe0) len = cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
    else if (c === 0xed) len = cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;
    else if (c >= 0xe1 && c <= 0xef) len = cont(i + 1) && cont(i + 2) ? 3 : 0;
    else if (c === 0xf0) len = cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else if (c >= 0xf1 && c <= 0xf3) len = cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else if (c === 0xf4) len = cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else len = 0;
    if (len === 0) return i;
    i += len;
  }
  return -1;
}
