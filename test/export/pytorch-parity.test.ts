/**
 * Independent check against PyTorch: the teacher fixture (a BERT written in torch, exported by
 * torch.onnx) has reference outputs from torch itself. Rebuilding the model from its weights with
 * our builder must reproduce them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../../src/export/bert-graph.ts';
import type { BertConfig } from '../../src/student/config.ts';
import { extractBertWeights } from '../../src/teacher/weights.ts';
import { maxAbsDiff, runOnnx } from './helpers.ts';

const FIXTURE = path.resolve('test/fixtures/tiny-bert-opset17');

describe('builder vs PyTorch reference outputs', () => {
  it('reproduces torch logits, hidden states and masked attention scores', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'config.json'), 'utf8')) as BertConfig;
    const ref = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'reference.json'), 'utf8'));
    const { weights, missing } = extractBertWeights(path.join(FIXTURE, 'onnx', 'model.onnx'));
    expect(missing).toEqual([]);
    const out = await runOnnx(buildOnnxModel(config, weights, { withIntermediates: true }), ref.inputIds, ref.attentionMask, ref.tokenTypeIds);
    expect(maxAbsDiff(out.logits.data, ref.logits.flat())).toBeLessThan(1e-4);
    for (let i = 0; i <= config.num_hidden_layers; i++) {
      expect(maxAbsDiff(out[`hidden_states.${i}`].data, ref.hidden[i].flat(2))).toBeLessThan(1e-4);
    }
    for (let i = 0; i < config.num_hidden_layers; i++) {
      // The fixture masks with float32 min (newer HF), the student and export with -10000 (BERT's
      // original): compare real keys exactly and require both sides to be hugely negative elsewhere.
      const got = out[`attention_scores.${i}`].data;
      const want = ref.attentionScores[i].flat(3) as number[];
      const L = ref.inputIds[0].length;
      let realDiff = 0;
      for (let j = 0; j < want.length; j++) {
        const b = Math.floor(j / (config.num_attention_heads * L * L));
        if (ref.attentionMask[b][j % L] === 1) realDiff = Math.max(realDiff, Math.abs(got[j] - want[j]));
        else expect(got[j] < -9000 && want[j] < -9000).toBe(true);
      }
      expect(realDiff).toBeLessThan(1e-4);
      expect(maxAbsDiff(out[`attentions.${i}`].data, ref.attentionProbs[i].flat(3))).toBeLessThan(1e-5);
    }
  });
});
