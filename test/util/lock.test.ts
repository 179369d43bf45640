import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { acquireLock } from '../../src/util/lock.ts';
import { removeIfNoFiles, removeStaleTemps } from '../../src/util/stale.ts';
import { systemErrorMessage } from '../../src/util/system-errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A pid that existed and has exited (a finished child). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

const owner = (pid: number, host = os.hostname()) => JSON.stringify({ pid, host, started: '2026-01-01T00:00:00Z', command: 'cache --config x' });

it('one writer per folder: a live holder is named, a dead one on this host is taken over, another host is never taken over', () => {
  const dir = path.join(tmp, 'a');
  const lock = acquireLock(dir, 'train.lock', 'training run');
  expect(JSON.parse(fs.readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
  expect(() => acquireLock(dir, 'train.lock', 'training run')).toThrow(new RegExp(`training run .* is being written by process ${process.pid} on ${os.hostname()}`));
  lock.release();
  expect(fs.existsSync(lock.file)).toBe(false);

  // A live process (our parent) holds it.
  fs.writeFileSync(path.join(dir, 'train.lock'), owner(process.ppid));
  expect(() => acquireLock(dir, 'train.lock', 'training run')).toThrow(new RegExp(`process ${process.ppid} on .*cache --config x`));
  // A dead one: taken over.
  fs.writeFileSync(path.join(dir, 'train.lock'), owner(deadPid()));
  const taken = acquireLock(dir, 'train.lock', 'training run');
  expect(JSON.parse(fs.readFileSync(taken.file, 'utf8')).pid).toBe(process.pid);
  taken.release();
  // Another host: cannot be checked, so refused with the file to delete.
  fs.writeFileSync(path.join(dir, 'train.lock'), owner(deadPid(), 'other-host'));
  expect(() => acquireLock(dir, 'train.lock', 'training run')).toThrow(/other-host .*delete .*train\.lock/);
});

it('a whole-cache builder and a part builder refuse each other', () => {
  const dir = path.join(tmp, 'b');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'cache.lock.part-1-of-2'), owner(process.ppid));
  expect(() => acquireLock(dir, 'cache.lock', 'teacher cache', (o) => o.startsWith('cache.lock.part-'))).toThrow(/teacher cache .* is being written by process/);
  expect(fs.existsSync(path.join(dir, 'cache.lock'))).toBe(false);
  const part = acquireLock(dir, 'cache.lock.part-0-of-2', 'teacher cache', (o) => o === 'cache.lock');
  part.release();
});

it('removes temporaries of dead processes only', () => {
  const dir = path.join(tmp, 'c');
  const folder = `student.${deadPid()}.tmp`;
  fs.mkdirSync(path.join(dir, folder), { recursive: true });
  fs.writeFileSync(path.join(dir, folder, 'x'), '1');
  const dead = `manifest.json.${deadPid()}.1700000000000.tmp`;
  const live = `latest.json.${process.ppid}.1700000000000.tmp`;
  const mine = `eval.json.${process.pid}.1.tmp`;
  for (const f of [dead, live, mine, 'notes.tmp', 'keep.txt']) fs.writeFileSync(path.join(dir, f), '');
  const removed = removeStaleTemps(dir);
  expect(removed.sort()).toEqual([dead, folder].sort());
  expect(fs.readdirSync(dir).sort()).toEqual([live, mine, 'keep.txt', 'notes.tmp'].sort());
  const empty = path.join(tmp, 'd');
  fs.mkdirSync(path.join(empty, 'x', 'y'), { recursive: true });
  removeIfNoFiles(empty);
  expect(fs.existsSync(empty)).toBe(false);
});

it('file-system failures become one line naming the path and the cause', () => {
  const err = (code: string, syscall = 'write') => Object.assign(new Error('x'), { code, path: '/data/run/cache/shards/shard-000003.bin', syscall });
  expect(systemErrorMessage(err('ENOSPC'))).toBe('cannot use /data/run/cache/shards/shard-000003.bin: no space left on the device (free some space or choose another folder) (write, ENOSPC)');
  expect(systemErrorMessage(err('EACCES', 'open'))).toMatch(/shard-000003\.bin: permission denied \(open, EACCES\)/);
  expect(systemErrorMessage(err('EISDIR', 'read'))).toMatch(/it is a folder, a file was expected/);
  expect(systemErrorMessage(err('ENOTDIR', 'mkdir'))).toMatch(/a part of the path is a file/);
  expect(systemErrorMessage(err('EEXIST', 'mkdir'))).toMatch(/already exists/);
  expect(systemErrorMessage(new Error('plain bug'))).toBeUndefined();
  expect(systemErrorMessage(err('ECONNRESET'))).toBeUndefined();
});
