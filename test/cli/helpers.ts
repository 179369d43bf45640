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

const ROOT = path.resolve(import.meta.dirname, '../..');
/**
 * A run on the tiny ONNX fixture teacher and the SST-2 layout fixture, on the cpu backend with a
 * 1-layer student: seconds per command. Callers add `out`, `distill` and whatever else they test.
 */
export const TINY_RUN = {
  task: 'sst2',
  teacher: { dir: path.join(ROOT, 'test/fixtures/tiny-bert-opset17') },
  data: { dir: path.join(ROOT, 'test/fixtures/glue/SST-2'), maxLength: 32 },
  backend: 'cpu',
  cache: { dtype: 'float32', batchSize: 2 },
  student: { hiddenSize: 16, numLayers: 1, numHeads: 4, intermediateSize: 32, maxPositions: 40 },
};

/** TinyBERT's two stages, two updates each, batch 2: the distill block of a whole tiny run. */
export const TINY_STAGES = {
  batchSize: 2,
  evalEvery: 2,
  stages: [
    { name: 'intermediate', steps: 2, lr: 1e-3, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
    { name: 'prediction', steps: 2, lr: 1e-3, losses: [{ name: 'kd_ce' }] },
  ],
};

export function writeConfig(dir: string, value: unknown, name = 'config.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}
