/**
 * The compatibility matrix: every family × exporter in test/fixtures/encoders either gives logits,
 * hidden states and attention equal to PyTorch's (fp32, 1e-4) or is refused with a message naming
 * what was found and what to do. docs/teachers.md lists the same table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Teacher, teacherLogits } from '../../src/teacher/teacher.ts';
import { MATRIX, type Cell } from './encoder-matrix.ts';
import { encoderBatch, readEncoderReference, readManifest, teacherFolder, type EncoderReference } from './encoders.ts';
import { maxAbsDiff } from './helpers.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'encoder-matrix-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Values at real tokens only for [B, L, H] and real query × key blocks for [B, heads, L, L]. */
function realHidden(data: ArrayLike<number>, shape: number[], lengths: number[]): number[] {
  const [, L, H] = shape;
  const out: number[] = [];
  lengths.forEach((n, b) => {
    for (let i = 0; i < n; i++) for (let h = 0; h < H; h++) out.push(data[(b * L + i) * H + h]);
  });
  return out;
}

function realAttention(data: ArrayLike<number>, shape: number[], lengths: number[]): number[] {
  const [, heads, L] = shape;
  const out: number[] = [];
  lengths.forEach((n, b) => {
    for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out.push(data[((b * heads + h) * L + i) * L + j]);
  });
  return out;
}

async function checkFull(family: string, exp: string, ref: EncoderReference, cell: Cell) {
  const dir = teacherFolder(family, exp, work);
  const attention = cell.attention === false ? 'none' : 'probs';
  const teacher = await Teacher.load(dir, { attention, workDir: path.join(dir, 'work'), notice: () => {} });
  try {
    const out = await teacher.run(encoderBatch(ref));
    expect(out.logits!.dims).toEqual(ref.logits[1]);
    expect(maxAbsDiff(out.logits!.data, ref.logits[0])).toBeLessThan(1e-4);
    expect([...out.hidden.keys()]).toEqual(ref.hidden.map((_, i) => i));
    for (const [l, t] of out.hidden) {
      const [values, shape] = ref.hidden[l];
      expect(t.dims).toEqual(shape);
      expect(maxAbsDiff(realHidden(t.data, shape, ref.lengths), realHidden(values, shape, ref.lengths))).toBeLessThan(1e-4);
    }
    if (cell.attention !== false) {
      expect([...out.probs.keys()]).toEqual(ref.attentions.map((_, i) => i + 1));
      for (const [l, t] of out.probs) {
        const [values, shape] = ref.attentions[l - 1];
        expect(t.dims).toEqual(shape);
        expect(maxAbsDiff(realAttention(t.data, shape, ref.lengths), realAttention(values, shape, ref.lengths))).toBeLessThan(1e-4);
      }
    }
  } finally {
    await teacher.dispose();
  }
}

for (const [family, exports] of Object.entries(MATRIX)) {
  describe(`${family}`, () => {
    const ref = readEncoderReference(family);
    const manifest = readManifest(family);
    it('the fixture holds every export the matrix lists (and the matrix lists every export)', () => {
      const made = Object.entries(manifest.exports).filter(([, v]) => !v.error).map(([k]) => k).sort();
      expect(Object.keys(exports).sort()).toEqual(made);
    });
    for (const [exp, cell] of Object.entries(exports)) {
      if (cell.refused) {
        it(`${exp}: refused with a message naming what was found`, async () => {
          const dir = teacherFolder(family, exp, work);
          await expect(Teacher.load(dir, { attention: 'probs', workDir: path.join(dir, 'work'), notice: () => {} })).rejects.toThrow(cell.refused);
        });
        if (cell.logitsOnly) {
          it(`${exp}: logits alone equal PyTorch's`, async () => {
            const teacher = await Teacher.forLogits(teacherFolder(family, exp, work), { notice: () => {} });
            try {
              const [logits] = await teacherLogits(teacher, [encoderBatch(ref)]);
              expect(maxAbsDiff(logits, ref.logits[0])).toBeLessThan(1e-4);
            } finally {
              await teacher.dispose();
            }
          });
        }
        continue;
      }
      it(`${exp}: logits, hidden states${cell.attention === false ? '' : ' and attention'} equal PyTorch's`, () => checkFull(family, exp, ref, cell));
      if (cell.attention === false) {
        it(`${exp}: attention is refused by name`, async () => {
          const dir = teacherFolder(family, exp, work);
          await expect(Teacher.load(dir, { attention: 'probs', workDir: path.join(dir, 'work'), notice: () => {} })).rejects.toThrow(cell.attentionRefused!);
        });
      }
    }
  });
}

describe('graph inputs as declared (bert ts17-inputs: int32 ids, float32 mask, fixed [3, L + 2], unnamed logits)', () => {
  it('feeds the declared types, pads to the fixed length, and takes the only rank-2 output as logits with a warning', async () => {
    const dir = teacherFolder('bert', 'ts17-inputs', work);
    const notices: string[] = [];
    const teacher = await Teacher.load(dir, { attention: 'probs', workDir: path.join(dir, 'w'), notice: (m) => notices.push(m) });
    try {
      const ref = readEncoderReference('bert');
      expect(teacher.inputs.map((i) => [i.name, i.type, i.dims])).toEqual([
        ['input_ids', 'int32', [3, ref.batch.input_ids[0].length + 2]],
        ['attention_mask', 'float32', [3, ref.batch.input_ids[0].length + 2]],
        ['token_type_ids', 'int32', [3, ref.batch.input_ids[0].length + 2]],
      ]);
      expect(teacher.outputs.logits).not.toBe('logits');
      expect(notices.join('\n')).toMatch(/has no output named "logits"; using output ".+" as the logits: it is the only rank-2 output \(\[3, 3\]\), matching num_labels 3/);
      const out = await teacher.run(encoderBatch(ref));
      expect(maxAbsDiff(out.logits!.data, ref.logits[0])).toBeLessThan(1e-4);
      expect(out.hidden.get(2)!.dims).toEqual(ref.hidden[2][1]);
      expect(maxAbsDiff(realHidden(out.hidden.get(2)!.data, ref.hidden[2][1], ref.lengths), realHidden(ref.hidden[2][0], ref.hidden[2][1], ref.lengths))).toBeLessThan(1e-4);
      const [values, shape] = ref.attentions[1];
      expect(maxAbsDiff(realAttention(out.probs.get(2)!.data, shape, ref.lengths), realAttention(values, shape, ref.lengths))).toBeLessThan(1e-4);
      // A fixed batch of 3 also takes a batch of 1 (run in pieces, padded with copies).
      const one = encoderBatch(ref);
      const L = one.seqLen;
      const single = { ...one, size: 1, inputIds: one.inputIds.slice(0, L), attentionMask: one.attentionMask.slice(0, L), tokenTypeIds: one.tokenTypeIds.slice(0, L), lengths: [ref.lengths[0]], indices: [0] };
      const r1 = await teacher.run(single);
      expect(maxAbsDiff(r1.logits!.data, ref.logits[0].slice(0, 3))).toBeLessThan(1e-4);
    } finally {
      await teacher.dispose();
    }
  });
});
