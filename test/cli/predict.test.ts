/** `distill predict`: formats, ids, agreement with the evaluator, int8, the student folder, and pipes that close early. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Io } from '../../src/cli/args.ts';
import { predictTexts } from '../../src/eval/predict.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { DEMO_TASK, DEMO_TEACHER, ROOT, tinyStudentFolders } from '../helpers/tiny-models.ts';
import { runCli, tempDir } from './helpers.ts';

async function runWithStdin(argv: string[], stdin: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), progressStream: Object.assign(new PassThrough(), { isTTY: false }), stdin: Readable.from([stdin]) };
  const code = await main(argv, io);
  return { code, out, err };
}

const parseTsv = (text: string) => text.trim().split('\n').map((l) => l.split('\t'));

describe('distill predict', () => {
  const dir = tempDir('distill-predict-');
  let tiny: { studentDir: string; onnxDir: string };
  beforeAll(async () => {
    tiny = await tinyStudentFolders(dir, ['negative', 'positive']);
  });

  it('labels a GLUE-layout TSV with the teacher: same accuracy as the evaluator, probabilities that sum to 1', async () => {
    const r = await runCli(['predict', '--model', DEMO_TEACHER, '--input', path.join(DEMO_TASK, 'dev.tsv'), '--batch-size', '16']);
    expect(r.code, r.err).toBe(0);
    const rows = parseTsv(r.out);
    expect(rows[0]).toEqual(['id', 'label', 'p_0', 'p_1']);
    const gold = readSplit(loadTask('sst2'), DEMO_TASK, 'dev');
    expect(rows).toHaveLength(gold.length + 1);
    const body = rows.slice(1);
    expect(body.map((x) => x[0])).toEqual(gold.map((_, i) => String(i)));
    for (const [, label, p0, p1] of body) {
      expect(Number(p0) + Number(p1)).toBeCloseTo(1, 4);
      expect(label).toBe(Number(p1) > Number(p0) ? '1' : '0');
    }
    const correct = body.filter((x, i) => Number(x[1]) === gold[i].label).length;
    // The demo teacher's documented dev accuracy (README, eval): 0.962 on these 500 rows.
    expect(correct / gold.length).toBeCloseTo(0.962, 3);
  });

  it('reads JSONL (text, id keys) and writes JSONL; reads plain lines and text pairs from stdin', async () => {
    const file = path.join(dir, 'rows.jsonl');
    fs.writeFileSync(file, '{"id":"a7","text":"a wonderful film"}\n\n{"id":"b2","text":"not good at all"}\n');
    const r = await runCli(['predict', '--model', tiny.onnxDir, '--input', file]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual(['a7', 'b2']);
    for (const l of lines) {
      expect(Object.keys(l.probs)).toEqual(['negative', 'positive']);
      expect(['negative', 'positive']).toContain(l.label);
    }
    const plain = await runWithStdin(['predict', '--model', tiny.onnxDir, '--input', '-'], 'a wonderful film\nnot good\tat all\n');
    expect(plain.code, plain.err).toBe(0);
    const rows = parseTsv(plain.out);
    expect(rows.map((x) => x[0])).toEqual(['id', '0', '1']);
    // The pair on line 2 is encoded as a pair: same result as the library call with textB.
    const [, pair] = await predictTexts(tiny.onnxDir, ['a wonderful film', { textA: 'not good', textB: 'at all' }]);
    expect(Number(rows[2][2])).toBeCloseTo(pair.probs![0], 5);
    const json = await runWithStdin(['predict', '--model', tiny.onnxDir, '--input', '-'], '{"sentence":"fun"}\n');
    expect(JSON.parse(json.out)).toMatchObject({ id: '0' });
  });

  it('student folder, exported fp32 and --quantized int8 agree; a 500-word input is truncated to the 64 positions', async () => {
    const long = Array.from({ length: 500 }, (_, i) => (i % 2 ? 'good' : 'film')).join(' ');
    const texts = ['a wonderful film', 'not good at all', long];
    const onnx = await predictTexts(tiny.onnxDir, texts);
    const int8 = await predictTexts(tiny.onnxDir, texts, { quantized: true });
    const student = await predictTexts(tiny.studentDir, texts, { backend: 'cpu' });
    for (let i = 0; i < texts.length; i++) {
      for (let c = 0; c < 2; c++) {
        expect(student[i].probs![c]).toBeCloseTo(onnx[i].probs![c], 4);
        expect(Math.abs(int8[i].probs![c] - onnx[i].probs![c])).toBeLessThan(0.05);
      }
    }
    const tooLong = await runCli(['predict', '--model', tiny.onnxDir, '--input', path.join(DEMO_TASK, 'dev.tsv'), '--max-length', '128']);
    expect(tooLong.code).toBe(1);
    expect(tooLong.err).toContain("longer than the model's max_position_embeddings 64");
    const noInt8 = await runCli(['predict', '--model', DEMO_TEACHER, '--input', path.join(DEMO_TASK, 'dev.tsv'), '--quantized']);
    expect(noInt8.code).toBe(1);
    expect(noInt8.err).toContain('no int8 model');
  });

  it('bad input names the file and line', async () => {
    const file = path.join(dir, 'bad.tsv');
    fs.writeFileSync(file, 'a\tb\tc\n');
    const r = await runCli(['predict', '--model', tiny.onnxDir, '--input', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}:1: 3 tab-separated fields`);
    fs.writeFileSync(file, '{"id": 1, "txt": "x"}\n');
    const j = await runCli(['predict', '--model', tiny.onnxDir, '--input', file, '--input-format', 'jsonl']);
    expect(j.code).toBe(1);
    expect(j.err).toContain(`${file}:1: no text key`);
  });

  it('stops quietly with exit code 0 when the reader closes the pipe (| head)', async () => {
    const file = path.join(dir, 'many.txt');
    fs.writeFileSync(file, Array.from({ length: 5000 }, (_, i) => `line ${i} was fun`).join('\n') + '\n');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/distill.mjs'), 'predict', '--model', DEMO_TEACHER, '--input', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(first.startsWith('id\tlabel\tp_0\tp_1\n')).toBe(true);
    expect(err).not.toContain('internal error');
    expect(code).toBe(0);
    expect(err).toContain('closed the output');
  }, 300_000);
});
