import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Student, paramShapes } from '../../src/student/model.ts';
import { allParamNames } from '../../src/student/param-names.ts';
import { Rng } from '../../src/util/rng.ts';
import { inputsFrom, tinyConfig, useCpu } from './helpers.ts';
import { referenceForward } from './reference.ts';

beforeAll(useCpu);

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

/** Random non-trivial weights (biases and LN too) so the reference comparison exercises every parameter. */
function randomize(student: Student, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, v] of student.params) {
    const data = Float32Array.from({ length: v.size }, () => (name.includes('LayerNorm.weight') ? 1 : 0) + rng.normal() * 0.3);
    v.assign(tf.tensor(data, v.shape));
  }
}

describe('Student', () => {
  it('creates exactly the param-names parameters with config shapes and BERT init', () => {
    const config = tinyConfig();
    const s = Student.create(config, 1);
    expect([...s.params.keys()]).toEqual(allParamNames(config.num_hidden_layers));
    for (const [name, shape] of paramShapes(config)) expect(s.params.get(name)!.shape).toEqual(shape);
    expect(s.params.get('classifier.weight')!.shape).toEqual([8, 3]); // [in, out]
    expect(arr(s.params.get('embeddings.LayerNorm.weight')!)).toEqual(new Array(8).fill(1));
    expect(arr(s.params.get('encoder.layer.0.attention.self.query.bias')!)).toEqual(new Array(8).fill(0));
    const word = arr(s.params.get('embeddings.word_embeddings.weight')!);
    expect(word.slice(0, 8)).toEqual(new Array(8).fill(0)); // padding row (pad_token_id 0)
    const rest = word.slice(8);
    const std = Math.sqrt(rest.reduce((a, v) => a + v * v, 0) / rest.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    // Same seed, same weights; different seed, different weights.
    expect(arr(Student.create(config, 1).params.get('classifier.weight')!)).toEqual(arr(s.params.get('classifier.weight')!));
    expect(arr(Student.create(config, 2).params.get('classifier.weight')!)).not.toEqual(arr(s.params.get('classifier.weight')!));
  });

  it('rejects a config whose hidden size does not divide into heads, naming the keys', () => {
    expect(() => Student.create(tinyConfig({ num_attention_heads: 3 }), 1)).toThrow(/hidden_size 8 .* num_attention_heads 3/);
    expect(() => Student.create(tinyConfig({ num_hidden_layers: 0 }), 1)).toThrow(/num_hidden_layers/);
  });

  it('returns Features of the documented shapes', () => {
    const s = Student.create(tinyConfig(), 1);
    const out = s.forward(inputsFrom([[2, 3, 4, 5], [6, 7, 0, 0]], [4, 2]), { training: false });
    expect(out.logits.shape).toEqual([2, 3]);
    expect(out.hidden.map((h) => h.shape)).toEqual([[2, 4, 8], [2, 4, 8], [2, 4, 8]]);
    expect(out.attentionScores.map((a) => a.shape)).toEqual([[2, 2, 4, 4], [2, 2, 4, 4]]);
    expect(out.attentionProbs.map((a) => a.shape)).toEqual([[2, 2, 4, 4], [2, 2, 4, 4]]);
    expect(arr(out.mask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    // Masked keys carry the additive −10000; probabilities over them are ~0 and rows sum to 1.
    const scores = out.attentionScores[0].arraySync()[1][0];
    expect(scores[0][2]).toBeLessThan(-9999);
    const probs = out.attentionProbs[0].arraySync()[1][1];
    expect(probs[2][3]).toBeLessThan(1e-6);
    expect(probs[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('matches a naive loop implementation of BERT', () => {
    const config = tinyConfig({ num_labels: 2 });
    const s = Student.create(config, 3);
    randomize(s, 4);
    const ids = [1, 5, 9, 4, 0];
    const types = [0, 0, 1, 1, 1];
    const mask = [1, 1, 1, 1, 0];
    const out = s.forward(
      {
        inputIds: tf.tensor2d([ids], [1, 5], 'int32'),
        attentionMask: tf.tensor2d([mask], [1, 5], 'int32'),
        tokenTypeIds: tf.tensor2d([types], [1, 5], 'int32'),
      },
      { training: false },
    );
    const weights = new Map([...s.params].map(([n, v]) => [n, v.dataSync() as Float32Array]));
    const ref = referenceForward(config, weights, ids, types, mask);
    const got = out.hidden[2].arraySync()[0];
    for (let i = 0; i < 5; i++) for (let h = 0; h < 8; h++) expect(got[i][h]).toBeCloseTo(ref.lastHidden[i][h], 4);
    const scores = out.attentionScores[1].arraySync()[0];
    for (let h = 0; h < 2; h++) for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(scores[h][i][j]).toBeCloseTo(ref.scores[1][h][i][j], 3);
    arr(out.logits).forEach((v, i) => expect(v).toBeCloseTo(ref.logits[i], 4));
  });

  it('padding does not change the outputs of real tokens', () => {
    const s = Student.create(tinyConfig(), 5);
    randomize(s, 6);
    const short = s.forward(inputsFrom([[2, 3, 4]]), { training: false });
    const padded = s.forward(inputsFrom([[2, 3, 4, 7, 9, 0]], [3]), { training: false });
    const a = short.hidden[2].arraySync()[0];
    const b = padded.hidden[2].arraySync()[0];
    for (let i = 0; i < 3; i++) for (let h = 0; h < 8; h++) expect(b[i][h]).toBeCloseTo(a[i][h], 5);
    arr(padded.logits).forEach((v, i) => expect(v).toBeCloseTo(arr(short.logits)[i], 5));
  });

  it('sends a gradient to every parameter', () => {
    const s = Student.create(tinyConfig(), 7);
    const inputs = inputsFrom([[2, 3, 4, 5], [6, 7, 8, 0]], [4, 3]);
    const { grads } = tf.variableGrads(() => {
      const out = s.forward(inputs, { training: true, rng: new Rng(1) });
      // logits reach the head; hidden[0] and the attention scores reach the embeddings and every layer.
      return tf.addN([tf.sum(tf.square(out.logits)), tf.sum(tf.square(out.hidden[1])), tf.sum(tf.square(out.attentionScores[1]))]) as tf.Scalar;
    }, [...s.params.values()]);
    for (const [name, v] of s.params) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(g.shape, name).toEqual(v.shape);
      expect(tf.sum(tf.abs(g)).dataSync()[0], name).toBeGreaterThan(0);
    }
  });

  it('dropout is reproducible from the rng and off at evaluation', () => {
    const s = Student.create(tinyConfig({ hidden_dropout_prob: 0.3, attention_probs_dropout_prob: 0.3 }), 8);
    const inputs = inputsFrom([[2, 3, 4, 5]]);
    const run = (training: boolean, seed: number) => arr(s.forward(inputs, { training, rng: new Rng(seed) }).logits);
    expect(run(true, 1)).toEqual(run(true, 1));
    expect(run(true, 1)).not.toEqual(run(true, 2));
    expect(run(false, 1)).toEqual(run(false, 2));
    expect(run(true, 1)).not.toEqual(run(false, 1));
  });

  it('leaves no tensors behind when run inside tidy', () => {
    const s = Student.create(tinyConfig(), 9);
    const inputs = inputsFrom([[2, 3, 4, 5]]);
    const step = () => tf.tidy(() => void s.forward(inputs, { training: true }));
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    s.dispose();
    expect(s.params.size).toBe(0);
  });

  it('rejects sequences longer than max_position_embeddings', () => {
    const s = Student.create(tinyConfig({ max_position_embeddings: 3 }), 1);
    expect(() => s.forward(inputsFrom([[2, 3, 4, 5]]), { training: false })).toThrow(/max_position_embeddings 3/);
  });
});
