import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../../src/export/bert-graph.ts';
import { findPythonWithOnnx } from './python-onnx.ts';
import { randomWeights, tinyConfig } from './reference-bert.ts';

const { python, reason } = findPythonWithOnnx();
if (!python) console.warn(reason);

describe.skipIf(!python)(`onnx.checker via scripts/check_onnx.py (${reason})`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-onnx-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = tinyConfig();
  const weights = randomWeights(config, 5);

  const check = (files: string[]) => {
    const r = spawnSync(python!, ['scripts/check_onnx.py', ...files], { encoding: 'utf8' });
    return { status: r.status, reports: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
  };

  it('accepts the fp32 (with intermediates) and int8 models with full_check', () => {
    const fp = path.join(dir, 'model.onnx');
    const q = path.join(dir, 'model_quantized.onnx');
    fs.writeFileSync(fp, buildOnnxModel(config, weights, { withIntermediates: true }));
    fs.writeFileSync(q, buildOnnxModel(config, weights, { weightFormat: 'int8' }));
    const { status, reports } = check([fp, q]);
    expect(reports.map((r) => r.error ?? 'ok')).toEqual(['ok', 'ok']);
    expect(status).toBe(0);
    expect(reports[0].opset).toBe(17);
    expect(reports[0].outputs[0]).toEqual({ name: 'logits', elem_type: 1, dims: ['batch_size', 2] });
    expect(reports[0].outputs.map((o: { name: string }) => o.name)).toContain('attention_scores.1');
  });

  it('fails (exit 1) on a corrupt file, so the check can catch a broken export', () => {
    const bad = path.join(dir, 'bad.onnx');
    fs.writeFileSync(bad, buildOnnxModel(config, weights).slice(0, 200));
    const { status, reports } = check([bad]);
    expect(status).toBe(1);
    expect(reports[0].ok).toBe(false);
  });
});
