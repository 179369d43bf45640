import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportStudent } from '../../src/export/export.ts';
import { saveStudentFolder } from '../../src/student/folder.ts';
import { Student } from '../../src/student/model.ts';
import { UserError } from '../../src/util/errors.ts';
import { maxAbsDiff, runOnnx, tinyVocab, writeTinyTokenizer } from './helpers.ts';
import { randomWeights, referenceForward, tinyConfig } from './reference-bert.ts';

describe('exportStudent from a saved student folder', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'export-saved-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const config = tinyConfig({ vocab_size: tinyVocab().length });
  const weights = randomWeights(config, 41, 0.3);
  const saved = path.join(root, 'student');

  it('reads config.json + model.safetensors + tokenizer and exports the same function', async () => {
    const student = Student.fromWeights(config, weights);
    await saveStudentFolder(student, writeTinyTokenizer(path.join(root, 'tok')), saved);
    student.dispose();
    const outDir = path.join(root, 'exported');
    const res = await exportStudent({ studentFolder: saved, outDir, quantize: true });
    expect(res.files).toContain('onnx/model_quantized.onnx');
    const ids = [[2, 40, 41, 3]];
    const out = await runOnnx(path.join(outDir, 'onnx', 'model.onnx'), ids, [[1, 1, 1, 1]], [[0, 0, 0, 0]]);
    expect(maxAbsDiff(out.logits.data, referenceForward(config, weights, ids, [[1, 1, 1, 1]], [[0, 0, 0, 0]]).logits.flat())).toBeLessThan(1e-4);
  });

  it('refuses a checkpoint that does not match its config.json, writing nothing', async () => {
    const broken = path.join(root, 'broken');
    fs.cpSync(saved, broken, { recursive: true });
    const cfgFile = path.join(broken, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, intermediate_size: 20 }));
    const outDir = path.join(root, 'out-broken');
    const err = await exportStudent({ studentFolder: broken, outDir }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/intermediate\.dense\.weight.*shape/);
    expect(fs.readdirSync(root).filter((f) => f.startsWith('out-broken'))).toEqual([]);
  });

  it('refuses a folder without model.safetensors', async () => {
    const partial = path.join(root, 'partial');
    fs.mkdirSync(partial);
    fs.copyFileSync(path.join(saved, 'config.json'), path.join(partial, 'config.json'));
    fs.copyFileSync(path.join(saved, 'tokenizer.json'), path.join(partial, 'tokenizer.json'));
    await expect(exportStudent({ studentFolder: partial, outDir: path.join(root, 'out-partial') })).rejects.toThrow(/model\.safetensors not found/);
  });
});
