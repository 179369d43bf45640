import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { collateTeacherFeatures, type CachedExample } from '../../src/distill/teacher-features.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

/** H = 2, heads = 1, one layer; values encode (example, position) so placement can be checked. */
function example(id: number, L: number): CachedExample {
  const hidden = [0, 1].map((layer) => Float32Array.from({ length: L * 2 }, (_, i) => id * 100 + layer * 10 + i + 1));
  const attention = [Float32Array.from({ length: L * L }, (_, i) => id * 100 + i + 1)];
  return { length: L, hidden, attention, logits: Float32Array.from([id, -id]) };
}

describe('collateTeacherFeatures', () => {
  it('pads hidden and attention with zeros at the right places', () => {
    const ex = [example(1, 2), example(2, 3)];
    const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1]]);
    const f = collateTeacherFeatures(ex, [2, 3], [7, 8], 3, { hiddenSize: 2, numHeads: 1 }, { hidden: [1], attention: [0], logits: true }, mask);
    expect(f.hidden[0]).toBeUndefined();
    expect(f.hidden[1].arraySync()).toEqual([
      [[111, 112], [113, 114], [0, 0]],
      [[211, 212], [213, 214], [215, 216]],
    ]);
    expect(f.attentionScores[0].arraySync()[0][0]).toEqual([[101, 102, 0], [103, 104, 0], [0, 0, 0]]);
    expect(f.attentionScores[0].arraySync()[1][0]).toEqual([[201, 202, 203], [204, 205, 206], [207, 208, 209]]);
    expect(f.logits!.arraySync()).toEqual([[1, -1], [2, -2]]);
  });
  it('names the example when cached and batch lengths disagree', () => {
    const mask = tf.tensor2d([[1, 1, 1]]);
    expect(() => collateTeacherFeatures([example(1, 2)], [3], [42], 3, { hiddenSize: 2, numHeads: 1 }, { hidden: [0], attention: [], logits: false }, mask)).toThrow(
      /example 42 has 2 tokens in the cache but 3/,
    );
  });
  it('names missing layers and logits', () => {
    const mask = tf.tensor2d([[1, 1]]);
    const dims = { hiddenSize: 2, numHeads: 1 };
    expect(() => collateTeacherFeatures([example(1, 2)], [2], [5], 2, dims, { hidden: [4], attention: [], logits: false }, mask)).toThrow(/no hidden state 4/);
    const noLogits = { ...example(1, 2), logits: undefined };
    expect(() => collateTeacherFeatures([noLogits], [2], [5], 2, dims, { hidden: [], attention: [], logits: true }, mask)).toThrow(/example 5 has no logits/);
  });
});
