import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { loadConfig, run } from '../../src/index.ts';
import { loadModelProto } from '../../src/onnx/proto.ts';
import { findOnnxFile } from '../../src/teacher/folder.ts';
import { sha256File } from '../../src/util/hash.ts';
import { runCli, tempDir, TINY_RUN, TINY_STAGES, writeConfig } from './helpers.ts';

/** Tiny fixture teacher (3 layers × 32) → assistant (3 × 24) → TINY_RUN's student (1 × 16). */
const CHAIN_RUN = {
  ...TINY_RUN,
  out: 'run',
  assistants: [{ hiddenSize: 24, numLayers: 3, numHeads: 4, intermediateSize: 48, maxPositions: 40, distill: { evalEvery: 1 } }],
  distill: TINY_STAGES,
  eval: { latencyBatchSizes: [1], latencyRuns: 1 },
  report: { enabled: false },
};

const cacheTeacherSha = (cacheDir: string): string => JSON.parse(fs.readFileSync(path.join(cacheDir, 'manifest.json'), 'utf8')).fingerprint.teacherSha256;
const logSteps = (dir: string) => fs.readFileSync(path.join(dir, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'step');

it('distill run with an assistant: teacher → assistant (exported with intermediates) → student; a rerun reuses the assistant', async () => {
  const dir = tempDir('cli-ta-');
  const config = writeConfig(dir, CHAIN_RUN);
  const r = await runCli(['run', '--config', config, '--quiet']);
  expect(r.err).not.toContain('internal error');
  expect(r.code).toBe(0);
  const out = path.join(dir, 'run');
  const assistant = path.join(out, 'assistant-1');

  // The assistant: its own run folder, trained from the teacher's cache, exported as a full teacher.
  for (const f of ['cache/manifest.json', 'train-log.jsonl', 'train-summary.json', 'student/model.safetensors', 'student-onnx/onnx/model.onnx', 'assistant.json']) {
    expect(fs.existsSync(path.join(assistant, f)), f).toBe(true);
  }
  const teacherSha = sha256File(findOnnxFile(TINY_RUN.teacher.dir));
  expect(cacheTeacherSha(path.join(assistant, 'cache'))).toBe(teacherSha);
  const assistantOnnx = path.join(assistant, 'student-onnx', 'onnx', 'model.onnx');
  const outputs = loadModelProto(assistantOnnx).graph!.output!.map((o) => o.name);
  expect(outputs).toEqual(expect.arrayContaining(['logits', 'hidden_states.0', 'hidden_states.3', 'attentions.2']));
  expect(JSON.parse(fs.readFileSync(path.join(assistant, 'student-onnx', 'config.json'), 'utf8'))).toMatchObject({ hidden_size: 24, num_hidden_layers: 3 });
  expect(logSteps(assistant)).toHaveLength(4);

  // The student learnt from the assistant: its cache is the assistant's outputs (hidden states of 3 layers).
  const studentCache = JSON.parse(fs.readFileSync(path.join(out, 'cache', 'manifest.json'), 'utf8')).fingerprint;
  expect(studentCache.teacherSha256).toBe(sha256File(assistantOnnx));
  expect(studentCache.teacherSha256).not.toBe(teacherSha);
  expect(studentCache.hiddenLayers).toEqual([0, 1, 2, 3]);
  expect(logSteps(out)).toHaveLength(4);
  expect(fs.existsSync(path.join(out, 'student-onnx', 'onnx', 'model.onnx'))).toBe(true);

  // Eval: the run's teacher, the assistant and the student, each as a share of the teacher.
  const ev = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8'));
  expect(ev.models.map((m: { name: string }) => m.name)).toEqual(['teacher', 'assistant 1', 'student']);
  expect(ev.models[1].params).toBeLessThan(ev.models[0].params);
  expect(ev.models[2].params).toBeLessThan(ev.models[1].params);
  expect(r.out).toMatch(/assistant 1: accuracy [\d.]+ \([\d.]+% of teacher\)/);
  expect(r.out).toMatch(/student: accuracy [\d.]+ \([\d.]+% of teacher\)/);
  expect(r.err).toMatch(/assistants\[0\] \(3 layers, hidden 24\): best dev accuracy [\d.]+; exported with hidden states and attention/);
  // The run folder describes the run as configured (the run's teacher, the chain), not its last link.
  const resolved = JSON.parse(fs.readFileSync(path.join(out, 'resolved-config.json'), 'utf8'));
  expect(resolved.teacher.dir).toBe(TINY_RUN.teacher.dir);
  expect(resolved.assistants).toHaveLength(1);
  expect(fs.readFileSync(path.join(out, 'student-onnx', 'README.md'), 'utf8')).toContain('through a teacher assistant (3 layers × hidden 24)');

  // Rerun: the finished assistant is reused as it is; the student's finished run is only saved and evaluated.
  const assistantLog = fs.readFileSync(path.join(assistant, 'train-log.jsonl'), 'utf8');
  // (through the library's run(), which drives the same pipeline)
  const lines: string[] = [];
  const again = await run(loadConfig(config), { resume: true, progress: false, onMessage: (l) => lines.push(l) });
  const said = lines.join('\n');
  expect(said).toMatch(/assistants\[0\] \(3 layers, hidden 24\): finished earlier in .*assistant-1; best dev accuracy [\d.]+; reused/);
  expect(said).not.toContain('distilling from the teacher');
  expect(fs.readFileSync(path.join(assistant, 'train-log.jsonl'), 'utf8')).toBe(assistantLog);
  expect(again.assistants).toMatchObject([{ number: 1, out: assistant, skipped: true, exported: path.join(assistant, 'student-onnx') }]);
  expect(again.assistants[0].train?.best?.score).toBeGreaterThanOrEqual(0);
  expect(again.eval.models.map((m) => m.name)).toEqual(['teacher', 'assistant 1', 'student']);

  // A finished assistant made with other settings is not silently reused.
  const changed = await runCli(['run', '--config', config, '--quiet', '--resume', '--set', 'assistants.0.dropout=0.2']);
  expect(changed.code).toBe(1);
  expect(changed.err).toContain('was distilled with other settings than this config\'s:\n  assistants[0].dropout: 0.1 → 0.2\n--force redoes the chain');

  // One-teacher commands refuse the chain's config.
  const train = await runCli(['train', '--config', config, '--quiet']);
  expect(train.code).toBe(1);
  expect(train.err).toContain('`distill run` distils the chain');
});

it('distill run: an assistant wider than the teacher is refused before any work', async () => {
  const dir = tempDir('cli-ta-bad-');
  const config = writeConfig(dir, { ...CHAIN_RUN, assistants: [{ ...CHAIN_RUN.assistants[0], hiddenSize: 64 }] });
  const r = await runCli(['run', '--config', config, '--quiet']);
  expect(r.code).toBe(1);
  expect(r.err).toContain('the teacher-assistant chain does not fit the teacher in');
  expect(r.err).toContain('assistants[0].hiddenSize: 64 makes the first assistant wider than the teacher it learns from (hidden_size 32)');
  expect(fs.existsSync(path.join(dir, 'run', 'assistant-1'))).toBe(false);
});
