import * as fs from 'node:fs';
import * as path from 'node:path';
import { withPath } from './system-errors.ts';

/** writeSync may write less than asked (full disk, signals, pipes); loop until every byte is out. */
export function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += fs.writeSync(fd, data, offset, data.byteLength - offset);
}

/** Writes a file so that readers see either the old content or the new, never a half-written one. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // a full disk leaves no half-written temp behind
    throw withPath(e, file);
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Builds a folder in a temporary sibling and renames it into place at the end, so a crash never
 * leaves a half-written output folder. `force` replaces an existing folder (with `ownEntriesOnly`,
 * only the entries built now: unrelated files in it are kept); otherwise it is refused.
 */
export async function writeFolderAtomic(
  target: string,
  force: boolean,
  build: (tmpDir: string) => Promise<void> | void,
  opts: { ownEntriesOnly?: boolean } = {},
): Promise<void> {
  const { UserError } = await import('./errors.ts');
  if (fs.existsSync(target) && !force) throw new UserError(`output folder ${target} already exists (use --force to replace it)`);
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) throw new UserError(`output folder ${target} is a file; expected a folder (or a free name)`);
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const { removeStaleTemps } = await import('./stale.ts');
  removeStaleTemps(path.dirname(path.resolve(target)), `${path.basename(target)}.`); // left by a killed run
  const tmp = `${target}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await build(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (fs.existsSync(target) && opts.ownEntriesOnly) {
    // Replace only what was just built: other files the user keeps in the folder stay.
    for (const entry of fs.readdirSync(tmp)) {
      fs.rmSync(path.join(target, entry), { recursive: true, force: true });
      fs.renameSync(path.join(tmp, entry), path.join(target, entry));
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    return;
  }
  if (fs.existsSync(target)) fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(tmp, target);
}
