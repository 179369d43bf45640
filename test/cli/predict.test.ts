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

  it('cat rows | distill predict --input - --quantized | head: the first rows, then a quiet stop with exit code 0', async () => {
    const file = path.join(dir, 'many.txt');
    fs.writeFileSync(file, Array.from({ length: 5000 }, (_, i) => `line ${i} was fun`).join('\n') + '\n');
    const errFile = path.join(dir, 'pipe.err');
    const statusFile = path.join(dir, 'pipe.status');
    // A real shell pipeline: stdin from cat, stdout into head, which exits after three lines.
    const script = 'cat "$1" 2>/dev/null | "$2" "$3" predict --model "$4" --input - --quantized 2>"$5" | head -n 3; echo "${PIPESTATUS[1]}" > "$6"';
    const head = await new Promise<string>((resolve, reject) => {
      const p = spawn('bash', ['-c', script, 'bash', file, process.execPath, path.join(ROOT, 'bin/distill.mjs'), tiny.onnxDir, errFile, statusFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('error', reject);
      p.on('close', () => resolve(out));
    });
    const err = fs.readFileSync(errFile, 'utf8');
    expect(fs.readFileSync(statusFile, 'utf8').trim(), err).toBe('0');
    const lines = head.trim().split('\n').map((l) => l.split('\t'));
    expect(lines.map((l) => l[0])).toEqual(['id', '0', '1']);
    expect(lines[0]).toEqual(['id', 'label', 'p_negative', 'p_positive']);
    expect(err).toContain('model_quantized.onnx');
    expect(err).toContain('closed the output');
    expect(err).not.toMatch(/EPIPE|internal error|Error/);
  }, 300_000);

  it('regression models write the value (TSV and JSONL); a file input shows progress on stderr, not stdout', async () => {
    const reg = await tinyStudentFolders(path.join(dir, 'reg'), null);
    const file = path.join(dir, 'pairs.tsv');
    fs.writeFileSync(file, 'id\tsentence1\tsentence2\nq1\tprices rise\tprices go up\nq2\ta cat\ta film\n');
    const r = await runCli(['predict', '--model', reg.onnxDir, '--input', file]);
    expect(r.code, r.err).toBe(0);
    const rows = parseTsv(r.out);
    expect(rows[0]).toEqual(['id', 'value']);
    expect(rows.slice(1).map((x) => x[0])).toEqual(['q1', 'q2']);
    const [lib] = await predictTexts(reg.onnxDir, [{ textA: 'prices rise', textB: 'prices go up' }]);
    expect(Number(rows[1][1])).toBeCloseTo(lib.value!, 5);
    expect(r.progress).toMatch(/\[predict\] 2\/2 100%/);
    expect(r.out).not.toContain('predict]');
    const j = await runCli(['predict', '--model', reg.onnxDir, '--input', file, '--output-format', 'jsonl']);
    expect(j.out.trim().split('\n').map((l) => Object.keys(JSON.parse(l)))).toEqual([['id', 'value'], ['id', 'value']]);
  });
});
