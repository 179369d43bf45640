import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** Hands a file to `onBlock` in 1 MiB blocks (one reused buffer), so large files are never loaded whole. */
export function forEachFileBlock(file: string, onBlock: (block: Buffer) => void): void {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) onBlock(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

/** sha256 of a file, streamed in 1 MiB blocks. */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  forEachFileBlock(file, (block) => hash.update(block));
  return hash.digest('hex');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
