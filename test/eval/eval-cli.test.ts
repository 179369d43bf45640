/** `distill eval` on one folder: wording without a teacher, --quantized with agreement, max length from the model. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatEvalTable } from '../../src/cli/pipeline-eval.ts';
import { confusionMatrix, perClassScores, regressionSample } from '../../src/eval/analysis.ts';
import { runCli, tempDir } from '../cli/helpers.ts';
import { tinyStudentFolders } from '../helpers/tiny-models.ts';

describe('distill eval --model', () => {
  const dir = tempDir('distill-eval-');
  const data = path.join(dir, 'data');
  let tiny: { studentDir: string; onnxDir: string };
  beforeAll(async () => {
    tiny = await tinyStudentFolders(dir, ['negative', 'positive']);
    fs.mkdirSync(data);
    // 300 words: far past the student's 64 positions, so the default must truncate to the model's length.
    const long = Array.from({ length: 300 }, () => 'good film').join(' ');
    fs.writeFileSync(path.join(data, 'dev.tsv'), `sentence\tlabel\n${long}\t1\nnot good\t0\nfun\t1\nboring film\t0\n`);
  });

  it('scores fp32 and int8 with their agreement; no "% of" anything without a teacher', async () => {
    const r = await runCli(['eval', '--model', tiny.onnxDir, '--task', 'sst2', '--data', data, '--quantized', '--latency', '--json', path.join(dir, 'e.json')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^ {2}student-onnx: accuracy [\d.]+ latency b1 [\d.]+ ms, b32 [\d.]+ ms$/m);
    expect(r.out).toMatch(/^ {2}student-onnx int8: accuracy [\d.]+ \(same prediction as fp32 on [\d.]+%\)/m);
    expect(r.out).not.toContain('% of');
    const e = JSON.parse(fs.readFileSync(path.join(dir, 'e.json'), 'utf8'));
    expect(e.models.map((m: { precision: string }) => m.precision)).toEqual(['fp32', 'int8']);
    expect(e.models[0].maxLength).toBe(64);
    expect(e.models[1].sizeBytes).toBeLessThan(e.models[0].sizeBytes);
    expect(e.models[1].params).toBe(e.models[0].params);
    expect(e.models[0].confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(4);
  });

  it('a --max-length beyond the model is a user error naming the model, not "the teacher"', async () => {
    const r = await runCli(['eval', '--model', tiny.onnxDir, '--task', 'sst2', '--data', data, '--max-length', '128']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("--max-length 128 is longer than the model's max_position_embeddings 64");
    expect(r.err).not.toContain('teacher');
    const s = await runCli(['eval', '--model', tiny.studentDir, '--task', 'sst2', '--data', data, '--backend', 'cpu']);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/student: accuracy/);
  });

  it('"% of teacher" only against a row named teacher', () => {
    const base = { task: 'sst2', split: 'dev', primaryMetric: 'accuracy', latencyBatchSizes: [] };
    expect(formatEvalTable({ ...base, models: [{ name: 'teacher', metrics: { accuracy: 0.8 } }, { name: 'student', metrics: { accuracy: 0.76 } }] })).toContain(
      'student: accuracy 0.7600 (95.0% of teacher)',
    );
    expect(formatEvalTable({ ...base, models: [{ name: 'student-onnx', metrics: { accuracy: 0.964 } }] })).toBe('sst2 dev:\n  student-onnx: accuracy 0.9640\n');
  });
});

describe('error analysis', () => {
  it('confusion matrix and per-class precision / recall / F1 by hand', () => {
    // gold 0 0 0 1 1 2; predicted 0 1 0 1 2 2
    const m = confusionMatrix([0, 1, 0, 1, 2, 2], [0, 0, 0, 1, 1, 2], 3);
    expect(m).toEqual([[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
    const s = perClassScores(m);
    expect(s[0]).toEqual({ precision: 1, recall: 2 / 3, f1: 0.8, support: 3 });
    expect(s[1].precision).toBeCloseTo(0.5);
    expect(s[1].recall).toBeCloseTo(0.5);
    expect(s[2]).toMatchObject({ precision: 0.5, recall: 1, support: 1 });
    expect(s[2].f1).toBeCloseTo(2 / 3);
    expect(perClassScores([[0, 0], [0, 3]])[0]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
  });
  it('regression sample: evenly spaced, at most max pairs', () => {
    expect(regressionSample([10, 11, 12, 13], [0, 1, 2, 3], 2)).toEqual({ gold: [0, 2], predicted: [10, 12] });
    expect(regressionSample([1], [2], 5)).toEqual({ gold: [2], predicted: [1] });
  });
});
