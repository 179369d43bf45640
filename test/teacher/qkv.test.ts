import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCache } from '../../src/cache/writer.ts';
import { openCache } from '../../src/cache/reader.ts';
import { recordBytes, type CacheLayout } from '../../src/cache/format.ts';
import { Teacher } from '../../src/teacher/teacher.ts';
import { extractBertWeights } from '../../src/teacher/weights.ts';
import { fixtureDir, maxAbsDiff, readReference, referenceBatch } from './helpers.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'teacher-qkv-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** x [rows, in] · w [in, out] + b, row-major plain arrays. */
function affine(x: Float32Array, rows: number, w: Float32Array, b: Float32Array): Float32Array {
  const out = b.length;
  const inn = w.length / out;
  const y = new Float32Array(rows * out);
  for (let r = 0; r < rows; r++) for (let o = 0; o < out; o++) {
    let s = b[o];
    for (let i = 0; i < inn; i++) s += x[r * inn + i] * w[i * out + o];
    y[r * out + o] = s;
  }
  return y;
}

describe('query / key / value projections exposed by graph surgery', () => {
  const dir = fixtureDir(17);
  it('equal hidden[l − 1] · W + b of layer l for query, key and value', async () => {
    const teacher = await Teacher.load(dir, { hiddenLayers: [1], attention: 'none', qkvLayers: [2], workDir: path.join(work, 't'), notice: () => {} });
    try {
      const batch = referenceBatch(readReference(17));
      const out = await teacher.run(batch);
      const h = out.hidden.get(1)!;
      const [B, L, H] = h.dims;
      const weights = extractBertWeights(path.join(dir, 'onnx', 'model.onnx')).weights;
      for (const part of ['query', 'key', 'value'] as const) {
        const t = out[part].get(2)!;
        expect(t.dims).toEqual([B, L, H]);
        const p = (n: string) => weights.get(`encoder.layer.1.attention.self.${part}.${n}`)!.data;
        expect(maxAbsDiff(t.data, affine(h.data, B * L, p('weight'), p('bias')))).toBeLessThan(1e-4);
      }
    } finally {
      await teacher.dispose();
    }
  });

  it('refuses a layer the teacher does not have', async () => {
    await expect(Teacher.load(dir, { hiddenLayers: [], attention: 'none', qkvLayers: [4], workDir: path.join(work, 'bad'), notice: () => {} })).rejects.toThrow(/query\/key\/value layer 4 does not exist .*valid are 1 to 3/);
  });
});

describe('the cache stores Q/K/V with the size rules of hidden states', () => {
  it('record size: 3 × length × hidden per stored layer, in the estimate', () => {
    const base: CacheLayout = { numLabels: 2, hiddenSize: 8, numHeads: 2, numLayers: 3, dtype: 'float16', logits: true, hiddenLayers: [], attentionLayers: [], scores: false, probs: false };
    expect(recordBytes({ ...base, qkvLayers: [3] }, 5) - recordBytes(base, 5)).toBe(3 * 2 * 5 * 8);
    expect(recordBytes({ ...base, qkvLayers: [1, 3] }, 5) - recordBytes(base, 5)).toBe(2 * 3 * 2 * 5 * 8);
  });

  it('builds, refuses over budget, and reads back what the teacher gives ("last" = its last layer)', async () => {
    const dir = fixtureDir(17);
    const dataDir = path.join(work, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'train.tsv'), 'sentence\tlabel\nthe film is good\t1\na dull and tired plot\t0\nfine\t1\n');
    const common = { teacherDir: dir, task: 'sst2', dataDir, split: 'train', maxLength: 16, dtype: 'float32' as const, hiddenLayers: [2], attention: 'none' as const, qkvLayers: ['last' as const], notice: () => {} };
    await expect(buildCache({ ...common, outDir: path.join(work, 'tiny'), maxCacheGb: 1e-9 })).rejects.toThrow(/above --max-cache-gb/);
    const outDir = path.join(work, 'cache');
    await buildCache({ ...common, outDir });
    const cache = openCache(outDir);
    try {
      expect(cache.manifest.layout.qkvLayers).toEqual([3]);
      expect(cache.manifest.fingerprint.qkvLayers).toEqual([3]);
      const teacher = await Teacher.load(dir, { hiddenLayers: [2], attention: 'none', qkvLayers: [3], workDir: path.join(work, 't2'), notice: () => {} });
      const weights = extractBertWeights(path.join(dir, 'onnx', 'model.onnx')).weights;
      const ex = cache.readExample(1);
      const H = cache.manifest.layout.hiddenSize;
      expect(ex.qkv).toHaveLength(1);
      expect(ex.qkv![0].length).toBe(3 * ex.length * H);
      // The cached query of layer 3 is hidden[2] · Wq + bq over the example's real tokens.
      const p = (n: string) => weights.get(`encoder.layer.2.attention.self.query.${n}`)!.data;
      expect(maxAbsDiff(ex.qkv![0].subarray(0, ex.length * H), affine(ex.hidden[0], ex.length, p('weight'), p('bias')))).toBeLessThan(1e-4);
      await teacher.dispose();
    } finally {
      cache.close();
    }
  });
});
