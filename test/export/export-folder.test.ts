import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportStudent } from '../../src/export/export.ts';
import { UserError } from '../../src/util/errors.ts';
import { argmaxRows, fakeStudent, maxAbsDiff, runOnnx, tinyVocab, writeTinyTokenizer } from './helpers.ts';
import { randomWeights, referenceForward, tinyConfig } from './reference-bert.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'export-folder-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const tokDir = writeTinyTokenizer(path.join(root, 'tok'));

describe('exportStudent', () => {
  it('writes config.json, tokenizer files, onnx/model.onnx and model_quantized.onnx', async () => {
    const student = fakeStudent();
    const outDir = path.join(root, 'out1');
    const res = await exportStudent({ student, tokenizer: tokDir, outDir, quantize: true });
    expect(res.files.sort()).toEqual([
      'README.md', 'config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt',
    ]);
    for (const f of res.files) expect(res.sizes[f]).toBe(fs.statSync(path.join(outDir, f)).size);
    expect(res.sizes['onnx/model_quantized.onnx']).toBeLessThan(res.sizes['onnx/model.onnx']);
    const cfg = JSON.parse(fs.readFileSync(path.join(outDir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      model_type: 'bert', architectures: ['BertForSequenceClassification'], num_labels: 2,
      id2label: { 0: 'negative', 1: 'positive' }, label2id: { negative: 0, positive: 1 }, layer_norm_eps: 1e-12,
    });
    expect(fs.readdirSync(root).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const ids = [[2, 40, 41, 3]];
    const out = await runOnnx(path.join(outDir, 'onnx', 'model.onnx'), ids, [[1, 1, 1, 1]], [[0, 0, 0, 0]]);
    const weights = new Map([...student.params].map(([k, v]) => [k, { shape: v.shape, data: v.dataSync() as Float32Array }]));
    const ref = referenceForward(student.config, weights, ids, [[1, 1, 1, 1]], [[0, 0, 0, 0]]);
    expect(maxAbsDiff(out.logits.data, ref.logits.flat())).toBeLessThan(1e-4);
    expect(argmaxRows(out.logits.data, 2)).toEqual(argmaxRows(ref.logits.flat(), 2));
  });

  it('adds intermediate outputs to both models when asked', async () => {
    const outDir = path.join(root, 'out2');
    await exportStudent({ student: fakeStudent(), tokenizer: path.join(tokDir, 'tokenizer.json'), outDir, quantize: true, withIntermediates: true });
    for (const f of ['model.onnx', 'model_quantized.onnx']) {
      const out = await runOnnx(path.join(outDir, 'onnx', f), [[2, 40, 3]], [[1, 1, 1]], [[0, 0, 0]]);
      expect(Object.keys(out).sort()).toEqual(
        ['attention_scores.0', 'attention_scores.1', 'attentions.0', 'attentions.1', 'hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'logits'],
      );
    }
  });

  it('refuses an existing output folder unless forced; force replaces what export writes and keeps other files', async () => {
    const outDir = path.join(root, 'out3');
    fs.mkdirSync(outDir);
    fs.writeFileSync(path.join(outDir, 'keep.txt'), 'x');
    await expect(exportStudent({ student: fakeStudent(), tokenizer: tokDir, outDir })).rejects.toThrow(/already exists \(use --force/);
    expect(fs.readdirSync(outDir)).toEqual(['keep.txt']);
    await exportStudent({ student: fakeStudent(), tokenizer: tokDir, outDir, force: true });
    expect(fs.readFileSync(path.join(outDir, 'keep.txt'), 'utf8')).toBe('x');
    expect(fs.existsSync(path.join(outDir, 'onnx', 'model.onnx'))).toBe(true);
  });

  it('rejects a tokenizer whose vocabulary does not match the student', async () => {
    const config = tinyConfig({ vocab_size: tinyVocab().length + 5 });
    const outDir = path.join(root, 'out4');
    const err = await exportStudent({ student: fakeStudent(config, randomWeights(config, 1)), tokenizer: tokDir, outDir }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(new RegExp(`vocab_size is ${tinyVocab().length + 5} but the tokenizer .* has ${tinyVocab().length} tokens`));
    expect(fs.existsSync(outDir)).toBe(false);
  });

  it('leaves nothing behind when a weight does not match the config', async () => {
    const config = tinyConfig({ vocab_size: tinyVocab().length });
    const weights = randomWeights(config, 1);
    weights.set('pooler.dense.bias', { shape: [8], data: new Float32Array(8) });
    const outDir = path.join(root, 'out5');
    await expect(exportStudent({ student: fakeStudent(config, weights), tokenizer: tokDir, outDir })).rejects.toThrow(
      /pooler\.dense\.bias has shape \[8\] but config\.json implies \[16\]/,
    );
    expect(fs.readdirSync(root).filter((f) => f.startsWith('out5'))).toEqual([]);
  });

  it('gives clear errors for a missing student folder, a missing tokenizer and ambiguous input', async () => {
    const outDir = path.join(root, 'out6');
    await expect(exportStudent({ studentFolder: path.join(root, 'nope'), outDir })).rejects.toThrow(/student folder .*nope does not exist/);
    await expect(exportStudent({ studentFolder: tokDir, outDir })).rejects.toThrow(/config\.json not found/);
    await expect(exportStudent({ student: fakeStudent(), tokenizer: path.join(root, 'none'), outDir })).rejects.toThrow(/tokenizer: .*none.* does not exist/);
    await expect(exportStudent({ student: fakeStudent(), studentFolder: tokDir, outDir })).rejects.toThrow(/exactly one/);
    expect(fs.existsSync(outDir)).toBe(false);
  });
});
