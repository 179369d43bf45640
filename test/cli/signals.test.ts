import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { runCli, tempDir, TINY_RUN, writeConfig } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

it('SIGINT during training finishes the step, writes a checkpoint, exits 130 and says how to resume', async () => {
  const dir = tempDir('cli-signal-');
  const config = writeConfig(dir, {
    ...TINY_RUN,
    out: 'run',
    distill: { batchSize: 2, checkpointEvery: 100000, stages: [{ name: 'p', steps: 100000, lr: 1e-3, losses: [{ name: 'kd_ce' }] }] },
  });
  expect((await runCli(['cache', '--config', config, '--quiet'])).code).toBe(0);
  const log = path.join(dir, 'run', 'train-log.jsonl');
  const p = spawn(process.execPath, [path.join(ROOT, 'bin/distill.mjs'), 'train', '--config', config, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  const steps = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length : 0);
  while (steps() < 2) {
    if (p.exitCode !== null) throw new Error(`train ended early: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  p.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(err).toMatch(/SIGINT: finishing the current step and writing a checkpoint/);
  expect(err).toMatch(/interrupted by SIGINT after step (\d+) of 100000; checkpoint at step \1 saved in .*checkpoints/);
  expect(err).toMatch(/resume with: distill train --config .*config\.json --quiet --resume/);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'run', 'checkpoints', 'latest.json'), 'utf8'));
  expect(saved.step).toBe(Number(/after step (\d+)/.exec(err)![1]));
  expect(fs.existsSync(path.join(dir, 'run', 'train.lock'))).toBe(false);
}, 120_000);
