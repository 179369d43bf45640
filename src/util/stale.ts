/**
 * Temporary files carry their writer's pid (`file.<pid>.<ms>.tmp`, `folder.<pid>.tmp`,
 * `.latest-00000100.<pid>.tmp`): a kill at the wrong moment leaves one behind. The next run removes
 * those whose process is gone; a live process's temporaries are left alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pidAlive } from './lock.ts';

const TEMP = /\.(\d+)(?:\.\d+)?\.tmp$/;

/** The pid a temporary name carries, or undefined for other names. */
export function tempOwner(name: string): number | undefined {
  const m = TEMP.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Removes `dir`'s temporaries (optionally only those whose name starts with `prefix`) left by dead processes; returns their names. */
export function removeStaleTemps(dir: string, prefix = ''): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = tempOwner(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Removes `dir` and its empty sub-folders when they hold no file (a failed first run leaves nothing). */
export function removeIfNoFiles(dir: string): void {
  const hasFile = (d: string): boolean => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory() || hasFile(path.join(d, e.name))) return true;
    }
    return false;
  };
  try {
    if (!hasFile(dir)) fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // already gone or unreadable: nothing to tidy
  }
}
