import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Io } from '../../src/cli/args.ts';
import { main } from '../../src/cli/main.ts';

/** Runs the CLI in-process, capturing what it writes. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string; progress: string }> {
  let out = '';
  let err = '';
  let progress = '';
  const progressStream = Object.assign(new PassThrough(), { isTTY: false });
  progressStream.on('data', (d) => (progress += d));
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), progressStream };
  const code = await main(argv, io);
  return { code, out, err, progress };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A minimal valid config (paths need not exist for parsing). */
export const MINIMAL = { task: 'sst2', teacher: { dir: 'teacher' }, data: { dir: 'data' } };

export function writeConfig(dir: string, value: unknown, name = 'config.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}
