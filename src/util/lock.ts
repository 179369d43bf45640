/**
 * One writer per folder: a lock file created exclusively (O_EXCL) holding the owner's pid, host and
 * command. A second process is refused with the holder named; a lock left by a dead process on this
 * host (kill -9, power loss) is taken over. A lock from another host cannot be checked and is
 * never taken over: the message says which file to delete once that process is known to be gone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from './errors.ts';

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  command: string;
}

export interface Lock {
  file: string;
  release(): void;
}

/** Lock files this module writes: `<name>.lock`, optionally with a suffix (`cache.lock.part-0-of-4`). */
export function isLockFile(name: string): boolean {
  return /^[\w-]+\.lock(\.[\w-]+)?$/.test(name);
}

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return typeof o?.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner is known to be gone (same host, no such pid, or an unreadable lock from a crash mid-write). */
function isStale(owner: LockOwner | undefined, file: string): boolean {
  if (!owner) {
    // Written non-atomically by O_EXCL create + write: give a live writer a moment to finish.
    try {
      return Date.now() - fs.statSync(file).mtimeMs > 5000;
    } catch {
      return true;
    }
  }
  return owner.host === os.hostname() && owner.pid !== process.pid && !pidAlive(owner.pid);
}

export function describeOwner(o: LockOwner | undefined): string {
  return o ? `process ${o.pid} on ${o.host} (${o.command}, since ${o.started})` : 'an unknown process';
}

const held = new Set<string>();
let exitHook = false;

/**
 * Takes `<dir>/<name>` for this process. `what` names the folder's role in the refusal
 * ("teacher cache", "training run"). `conflicts` lists other lock names in `dir` that must not be
 * held by a live process at the same time (e.g. a whole-cache builder and a part builder).
 */
export function acquireLock(dir: string, name: string, what: string, conflicts: (other: string) => boolean = () => false): Lock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  for (const other of fs.readdirSync(dir)) {
    if (other === name || !isLockFile(other) || !conflicts(other)) continue;
    const f = path.join(dir, other);
    const o = readOwner(f);
    if (!isStale(o, f)) throw new UserError(`${what} ${dir} is being written by ${describeOwner(o)} (lock ${f}); wait for it to finish, or delete the lock if that process is gone`);
  }
  const me: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command: process.argv.slice(2, 4).join(' ') || 'distill' };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, JSON.stringify(me) + '\n');
      } finally {
        fs.closeSync(fd);
      }
      held.add(file);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => {
          for (const f of held) releaseFile(f);
        });
      }
      return { file, release: () => releaseFile(file) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(file);
    if (!isStale(owner, file)) {
      const hint = owner && owner.host !== os.hostname() ? `; if that process is gone, delete ${file}` : '; wait for it to finish';
      throw new UserError(`${what} ${dir} is being written by ${describeOwner(owner)} (lock ${file})${hint}`);
    }
    // Take over: move the stale lock aside (atomic, one winner), check it was the one judged stale.
    const aside = `${file}.${process.pid}.stale`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue; // someone else moved it: try to create again
    }
    const moved = readOwner(aside);
    if (owner && moved && (moved.pid !== owner.pid || moved.host !== owner.host)) {
      // We moved a fresh lock another process had just taken: put it back and refuse.
      try {
        fs.renameSync(aside, file);
      } catch {
        /* it is theirs to recreate */
      }
      throw new UserError(`${what} ${dir} is being written by ${describeOwner(moved)} (lock ${file}); wait for it to finish`);
    }
    fs.rmSync(aside, { force: true });
  }
  throw new UserError(`${what} ${dir}: could not take the lock ${file} (another process keeps taking it)`);
}

function releaseFile(file: string): void {
  if (!held.delete(file)) return;
  const o = readOwner(file);
  if (o && o.pid === process.pid && o.host === os.hostname()) fs.rmSync(file, { force: true });
}
