import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportStudent } from '../../src/export/export.ts';
import { quantizedLinears } from '../../src/quant/linears.ts';
import { fakeStudent, tinyVocab, writeTinyTokenizer } from './helpers.ts';
import { randomWeights, referenceForward, tinyConfig } from './reference-bert.ts';

const TEXTS = ['a good movie', 'the film was bad', 'very boring and not fun', 'it is great', 'awful', 'the movie is not good'];

describe('transformers.js loads the exported folder', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'export-tjs-'));
  const config = tinyConfig({ vocab_size: tinyVocab().length, hidden_size: 32, intermediate_size: 48 });
  const weights = randomWeights(config, 21, 0.3);
  const modelId = 'tiny-student';
  const qatId = 'tiny-student-qat';

  beforeAll(async () => {
    await exportStudent({ student: fakeStudent(config, weights), tokenizer: writeTinyTokenizer(path.join(root, 'tok')), outDir: path.join(root, modelId), quantize: true });
    // A quantisation-aware student: the same weights with observed input ranges (QDQ model_quantized.onnx).
    const ranges = new Map(quantizedLinears(config).map((k) => [k, { min: -3, max: 5, observations: 1 }]));
    const qat = { ...fakeStudent(config, weights), quantization: { active: true, options: { emaDecay: 0.99, reduceRange: false }, ranges: () => ranges } };
    await exportStudent({ student: qat, tokenizer: path.join(root, 'tok'), outDir: path.join(root, qatId) });
    env.allowRemoteModels = false;
    env.localModelPath = root;
    env.useFSCache = false;
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** Labels and top scores from the reference equations, on transformers.js's own token ids. */
  async function expected(): Promise<{ label: string; score: number }[]> {
    const tokenizer = await AutoTokenizer.from_pretrained(modelId);
    return TEXTS.map((text) => {
      const enc = tokenizer(text);
      const ids = Array.from(enc.input_ids.data as BigInt64Array, Number);
      const logits = referenceForward(config, weights, [ids], [ids.map(() => 1)], [ids.map(() => 0)]).logits[0];
      const z = logits.map((l) => Math.exp(l - Math.max(...logits)));
      const best = logits.indexOf(Math.max(...logits));
      return { label: config.id2label[best], score: z[best] / z.reduce((a, b) => a + b, 0) };
    });
  }

  it('fp32 (onnx/model.onnx): same labels and scores as the student', async () => {
    const classify = await pipeline('text-classification', modelId, { dtype: 'fp32' });
    const want = await expected();
    expect(new Set(want.map((w) => w.label)).size).toBe(2); // the inputs really exercise both labels
    for (let i = 0; i < TEXTS.length; i++) {
      const [got] = (await classify(TEXTS[i])) as { label: string; score: number }[];
      expect(got.label).toBe(want[i].label);
      expect(Math.abs(got.score - want[i].score)).toBeLessThan(1e-4);
    }
    await classify.dispose();
  });

  it('q8 (onnx/model_quantized.onnx) loads and runs', async () => {
    const classify = await pipeline('text-classification', modelId, { dtype: 'q8' });
    const want = await expected();
    let agree = 0;
    for (let i = 0; i < TEXTS.length; i++) {
      const [got] = (await classify(TEXTS[i])) as { label: string; score: number }[];
      expect(['negative', 'positive']).toContain(got.label);
      if (got.label === want[i].label) agree++;
    }
    expect(agree).toBeGreaterThanOrEqual(TEXTS.length - 1);
    await classify.dispose();
  });

  it('q8 of a quantisation-aware export (QDQ): the scores onnxruntime gives for the same file', async () => {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(path.join(root, qatId, 'onnx', 'model_quantized.onnx'));
    const classify = await pipeline('text-classification', qatId, { dtype: 'q8' });
    const tokenizer = await AutoTokenizer.from_pretrained(qatId);
    for (const text of TEXTS) {
      const ids = tokenizer(text).input_ids.data as BigInt64Array;
      const dims = [1, ids.length];
      const feeds = {
        input_ids: new ort.Tensor('int64', ids, dims),
        attention_mask: new ort.Tensor('int64', ids.map(() => 1n), dims),
        token_type_ids: new ort.Tensor('int64', ids.map(() => 0n), dims),
      };
      const logits = Array.from((await session.run(feeds)).logits.data as Float32Array);
      const best = logits.indexOf(Math.max(...logits));
      const z = logits.map((l) => Math.exp(l - logits[best]));
      const [got] = (await classify(text)) as { label: string; score: number }[];
      expect(got.label).toBe(config.id2label[best]);
      expect(Math.abs(got.score - z[best] / z.reduce((a, b) => a + b, 0))).toBeLessThan(1e-5);
    }
    await classify.dispose();
  });
});
