/**
 * The exported student can serve as the next teacher: src/teacher loads the folder, its graph
 * surgery finds the same layers, and the features it exposes equal the ones the export itself
 * writes with --with-intermediates (and the reference equations).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/data/types.ts';
import { exportStudent } from '../../src/export/export.ts';
import { Teacher } from '../../src/teacher/teacher.ts';
import { extractBertWeights } from '../../src/teacher/weights.ts';
import { fakeStudent, maxAbsDiff, runOnnx, tinyVocab, writeTinyTokenizer } from './helpers.ts';
import { randomWeights, referenceForward, tinyConfig } from './reference-bert.ts';

const ids = [[2, 40, 41, 42, 3, 43, 3], [2, 44, 3, 0, 0, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0]];
const types = [[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0]];

function batchOf(): Batch {
  return {
    size: 2, seqLen: 7, lengths: [7, 3], indices: [0, 1],
    inputIds: Int32Array.from(ids.flat()), attentionMask: Int32Array.from(mask.flat()), tokenTypeIds: Int32Array.from(types.flat()),
  };
}

describe('exported student as a teacher', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'export-teacher-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const config = tinyConfig({ vocab_size: tinyVocab().length, num_hidden_layers: 3 });
  const weights = randomWeights(config, 33, 0.3);
  const tok = writeTinyTokenizer(path.join(root, 'tok'));

  for (const withIntermediates of [false, true]) {
    it(`Teacher.load finds every layer (export ${withIntermediates ? 'with' : 'without'} intermediates)`, async () => {
      const outDir = path.join(root, `student-${withIntermediates}`);
      await exportStudent({ student: fakeStudent(config, weights), tokenizer: tok, outDir, withIntermediates });
      const teacher = await Teacher.load(outDir, { workDir: path.join(root, `work-${withIntermediates}`), attention: 'both', provider: 'cpu', notice: () => {} });
      try {
        const t = await teacher.run(batchOf());
        const ref = referenceForward(config, weights, ids, mask, types);
        expect(maxAbsDiff(t.logits!.data, ref.logits.flat())).toBeLessThan(1e-4);
        expect([...t.hidden.keys()]).toEqual([0, 1, 2, 3]);
        expect([...t.scores.keys()]).toEqual([1, 2, 3]);
        for (let i = 0; i <= 3; i++) expect(maxAbsDiff(t.hidden.get(i)!.data, ref.hidden[i].flat(2))).toBeLessThan(1e-4);
        for (let i = 1; i <= 3; i++) expect(maxAbsDiff(t.scores.get(i)!.data, ref.scores[i - 1].flat(3))).toBeLessThan(1e-3);
        if (withIntermediates) {
          // The export's own named outputs are exactly what surgery exposes.
          const own = await runOnnx(path.join(outDir, 'onnx', 'model.onnx'), ids, mask, types);
          for (let i = 1; i <= 3; i++) {
            expect(maxAbsDiff(own[`attention_scores.${i - 1}`].data, t.scores.get(i)!.data)).toBe(0);
            expect(maxAbsDiff(own[`attentions.${i - 1}`].data, t.probs.get(i)!.data)).toBe(0);
            expect(maxAbsDiff(own[`hidden_states.${i}`].data, t.hidden.get(i)!.data)).toBe(0);
          }
        }
      } finally {
        await teacher.dispose();
      }
    });
  }

  it('weight extraction from the exported graph gives back the student parameters', async () => {
    const outDir = path.join(root, 'student-false');
    const { weights: back, missing } = extractBertWeights(path.join(outDir, 'onnx', 'model.onnx'));
    expect(missing).toEqual([]);
    for (const [name, w] of weights) {
      expect(back.get(name)?.shape, name).toEqual(w.shape);
      expect(maxAbsDiff(back.get(name)!.data, w.data), name).toBe(0);
    }
  });
});
