import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFloat16 } from '../../src/onnx/float16.ts';
import { GraphIndex } from '../../src/onnx/graph.ts';
import { loadModelProto } from '../../src/onnx/proto.ts';
import { findBertStructure, findLayerNorms } from '../../src/teacher/structure.ts';
import { Teacher, teacherLogits } from '../../src/teacher/teacher.ts';
import { fixtureDir, maxAbsDiff, OPSETS, readReference, referenceBatch } from './helpers.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'teacher-surgery-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.each(OPSETS)('tiny BERT exported at opset %i', (opset) => {
  const dir = fixtureDir(opset);
  const onnxPath = path.join(dir, 'onnx', 'model.onnx');
  const ref = readReference(opset);

  it('finds 3 layers, 7 LayerNorms of the expected kind and the attention Softmaxes', () => {
    const g = new GraphIndex(loadModelProto(onnxPath).graph!);
    const norms = findLayerNorms(g);
    expect(norms).toHaveLength(7);
    expect(new Set(norms.map((n) => n.kind))).toEqual(new Set([opset === 17 ? 'fused' : 'decomposed']));
    const s = findBertStructure(g, 'fixture');
    expect(s.numLayers).toBe(3);
    expect(s.hidden).toHaveLength(4);
    expect(s.hidden[0]).toBe(s.embeddingNorm.output);
  });

  it("exposes hidden states and attention that match torch's values", async () => {
    const teacher = await Teacher.load(dir, { attention: 'both', workDir: path.join(work, `o${opset}`), notice: () => {} });
    try {
      expect(teacher.provider).toBe('cpu');
      // The user's file is untouched; the modified copy lives in workDir.
      expect(teacher.runPath.startsWith(work)).toBe(true);
      const out = await teacher.run(referenceBatch(ref));
      expect(maxAbsDiff(out.logits!.data, ref.logits.flat())).toBeLessThan(1e-4);
      expect([...out.hidden.keys()]).toEqual([0, 1, 2, 3]);
      for (const [l, t] of out.hidden) {
        expect(t.dims).toEqual([3, 8, 32]);
        expect(maxAbsDiff(t.data, ref.hidden[l].flat(2))).toBeLessThan(1e-4);
      }
      for (const l of [1, 2, 3]) {
        const scores = out.scores.get(l)!;
        const probs = out.probs.get(l)!;
        expect(scores.dims).toEqual([3, 4, 8, 8]);
        expect(maxAbsDiff(probs.data, ref.attentionProbs[l - 1].flat(3))).toBeLessThan(1e-5);
        // Compare the real L×L block of each row: masked entries are ~-3.4e38 on both sides.
        const expected = ref.attentionScores[l - 1];
        ref.lengths.forEach((len, b) => {
          for (let h = 0; h < 4; h++)
            for (let i = 0; i < len; i++)
              for (let j = 0; j < len; j++) {
                const got = scores.data[((b * 4 + h) * 8 + i) * 8 + j];
                expect(Math.abs(got - expected[b][h][i][j])).toBeLessThan(1e-4);
              }
          if (len < 8) expect(scores.data[((b * 4) * 8) * 8 + len]).toBeLessThan(-1e30);
        });
      }
    } finally {
      await teacher.dispose();
    }
  });

  it('emits float16 features (clipped, cast by onnxruntime) equal to rounding the float32 ones', async () => {
    const f32 = await Teacher.load(dir, { attention: 'both', workDir: path.join(work, `a${opset}`), notice: () => {} });
    const f16 = await Teacher.load(dir, { attention: 'both', float16: true, workDir: path.join(work, `h${opset}`), notice: () => {} });
    try {
      const [a, b] = [await f32.run(referenceBatch(ref)), await f16.run(referenceBatch(ref))];
      expect(b.logits!.float16Bits).toBeUndefined(); // logits stay float32
      for (const [l, t] of a.hidden) {
        const bits = b.hidden.get(l)!.float16Bits!;
        expect(bits).toBeInstanceOf(Uint16Array);
        const js = encodeFloat16(t.data);
        // Same rounding up to one unit in the last place (onnxruntime's kernels may differ in the last float32 bit).
        expect(Math.max(...Array.from(bits, (h, i) => Math.abs(h - js[i])))).toBeLessThanOrEqual(1);
      }
      // Masked scores (~-3.4e38) are clipped to the most negative half, not -Infinity.
      const scores = b.scores.get(1)!.data;
      expect(Math.min(...scores)).toBe(-65504);
      expect(maxAbsDiff(b.probs.get(2)!.data, a.probs.get(2)!.data)).toBeLessThan(1e-3);
    } finally {
      await f32.dispose();
      await f16.dispose();
    }
  });

  it('runs the plain model for logits without writing anything', async () => {
    const teacher = await Teacher.load(dir, { hiddenLayers: [], attention: 'none', notice: () => {} });
    try {
      expect(teacher.runPath).toBe(onnxPath);
      const [logits] = await teacherLogits(teacher, [referenceBatch(ref)]);
      expect(maxAbsDiff(logits, ref.logits.flat())).toBeLessThan(1e-4);
    } finally {
      await teacher.dispose();
    }
  });
});
