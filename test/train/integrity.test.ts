import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { checkRunKey } from '../../src/train/train-state.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-integrity-'));
const tensors = (v: number) => new Map([['student.x', { shape: [2], data: Float32Array.from([v, v + 1]) }]]);

it('a checkpoint carries the sha256 of its tensors; a flipped bit is refused on load, naming the file', () => {
  const root = tmp();
  const dir = saveCheckpoint(root, 'latest', { step: 5 }, tensors(1));
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  expect(state.tensorsSha256).toMatch(/^[0-9a-f]{64}$/);
  const ck = loadCheckpoint<{ step: number }>(root, 'latest')!;
  expect(ck.state).toEqual({ step: 5 }); // the checksum is not part of the returned state
  const file = path.join(dir, 'tensors.safetensors');
  const b = fs.readFileSync(file);
  b[b.length - 2] ^= 0x01;
  fs.writeFileSync(file, b);
  expect(() => loadCheckpoint(root, 'latest')).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged: its sha256 .* differs from the one recorded in .*state\\.json`));
});

it('a damaged state.json or pointer is a user error naming the file', () => {
  const root = tmp();
  const dir = saveCheckpoint(root, 'latest', { step: 5 }, tensors(1));
  fs.writeFileSync(path.join(dir, 'state.json'), '{"step": 5,');
  expect(() => loadCheckpoint(root, 'latest')).toThrow(/state\.json: checkpoint state is not valid JSON/);
  fs.writeFileSync(path.join(root, 'latest.json'), '{}');
  expect(() => loadCheckpoint(root, 'latest')).toThrow(/latest\.json: checkpoint pointer names no folder/);
});

const key = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ seed: 1, batchSize: 2, stages: 'a:3', trainData: 'x', 'stages[0].lr': 0.001, 'stages[0].losses': [{ loss: 'kd_ce' }], maxGradNorm: 1, 'ema.beta': 0.99, ...over });

it('resume refuses changed settings by name unless allowed; structural ones always', () => {
  expect(checkRunKey(key(), key(), 'ck')).toEqual({ changed: [] });
  expect(() => checkRunKey(key(), key({ 'stages[0].lr': 0.002 }), 'ck')).toThrow(/settings changed since the checkpoint: stages\[0\]\.lr \(0\.001 there, 0\.002 now\).*--allow-changed/);
  expect(() => checkRunKey(key(), key({ 'stages[0].losses': [{ loss: 'kd_kl' }] }), 'ck')).toThrow(/stages\[0\]\.losses/);
  expect(() => checkRunKey(key(), key({ maxGradNorm: 5, 'ema.beta': 0.9 }), 'ck')).toThrow(/maxGradNorm \(1 there, 5 now\), ema\.beta \(0\.99 there, 0\.9 now\)/);
  expect(checkRunKey(key(), key({ 'stages[0].lr': 0.002 }), 'ck', true).changed).toEqual(['stages[0].lr (0.001 there, 0.002 now)']);
  expect(() => checkRunKey(key(), key({ batchSize: 4 }), 'ck', true)).toThrow(/different batchSize \(2 there, 4 now\)/);
  // A checkpoint from before a field existed is not compared on it.
  const old = JSON.stringify({ seed: 1, batchSize: 2, stages: 'a:3', trainData: 'x' });
  expect(checkRunKey(old, key({ 'stages[0].lr': 0.5 }), 'ck')).toEqual({ changed: [] });
});
