import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { runCli, tempDir, writeConfig } from '../cli/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TEACHER = path.join(ROOT, 'test/fixtures/tiny-bert-opset17');

/** `distill general` from a task config, then `distill train --init` from its student, on the tiny fixtures. */
it('distill general → distill train --init, with shape mismatches and missing flags as user errors', async () => {
  const dir = tempDir('cli-general-');
  const corpus = path.join(dir, 'corpus.txt');
  fs.writeFileSync(corpus, ['the movie was good', 'a very boring film', '', 'the plot is great fun', 'i love this story', 'bad acting'].join('\n') + '\n');
  const config = writeConfig(dir, {
    task: 'sst2',
    teacher: { dir: TEACHER, threads: 1 },
    data: { dir: path.join(ROOT, 'test/fixtures/glue/SST-2'), maxLength: 32 },
    out: 'task',
    backend: 'cpu',
    student: { hiddenSize: 16, numLayers: 1, numHeads: 4, intermediateSize: 32, maxPositions: 40 },
    distill: { batchSize: 2, stages: [{ name: 'labels', steps: 2, lr: 1e-3, losses: [{ name: 'ce' }] }] },
  });
  const gen = path.join(dir, 'general');
  const g = await runCli(['general', '--config', config, '--corpus', corpus, '--out', gen, '--steps', '2', '--batch-size', '2', '--quiet']);
  expect(g.err).not.toContain('internal error');
  expect(g.code).toBe(0);
  expect(g.err).toMatch(/general distillation: cached mode \(auto\): teacher cache [\d.]+ kB for 5 windows fits the budget of 5\.00 GB/);
  expect(g.progress).toMatch(/\[general\] 2\/2 100%/);
  const cfg = JSON.parse(fs.readFileSync(path.join(gen, 'student', 'config.json'), 'utf8'));
  expect(cfg).toMatchObject({ hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 32, max_position_embeddings: 40, vocab_size: 122 });
  expect(JSON.parse(fs.readFileSync(path.join(gen, 'general-summary.json'), 'utf8'))).toMatchObject({ mode: 'cached', steps: 2 });

  const t = await runCli(['train', '--config', config, '--init', path.join(gen, 'student'), '--quiet']);
  expect(t.err).not.toContain('internal error');
  expect(t.code).toBe(0);
  expect(t.err).toContain(`student initialised from ${path.join(gen, 'student')}`);

  const wide = await runCli(['train', '--config', config, '--init', path.join(gen, 'student'), '--set', 'student.hiddenSize=32', '--force', '--quiet']);
  expect(wide.code).toBe(1);
  expect(wide.err).toMatch(/does not match the student's shape: hidden_size is 16 there but 32 in the student config/);

  const both = await runCli(['train', '--config', config, '--init', path.join(gen, 'student'), '--set', 'student.init=teacher', '--quiet']);
  expect(both.code).toBe(1);
  expect(both.err).toContain('give either student.init "teacher" or student.initFolder, not both');

  const noTeacher = await runCli(['general', '--corpus', corpus, '--out', gen, '--steps', '2']);
  expect(noTeacher.code).toBe(1);
  expect(noTeacher.err).toContain('--teacher is required');
  const badMode = await runCli(['general', '--teacher', TEACHER, '--corpus', corpus, '--out', gen, '--steps', '2', '--mode', 'sometimes']);
  expect(badMode.code).toBe(1);
  expect(badMode.err).toContain('--mode must be one of auto, cached, online, got "sometimes"');
  const again = await runCli(['general', '--config', config, '--corpus', corpus, '--out', gen, '--steps', '2', '--quiet']);
  expect(again.code).toBe(1);
  expect(again.err).toContain('holds a general-distillation run');
});
