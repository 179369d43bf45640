import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Features } from '../../src/distill/features.ts';
import { attentionScoreMse, computeDistillLoss, hiddenMse, softCrossEntropy, type Match } from '../../src/distill/losses.ts';
import { Projections, headMixInit, mixHeads } from '../../src/distill/projections.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

const val = (x: tf.Scalar) => x.dataSync()[0];

describe('head mixing', () => {
  it('starts from an even grouping', () => {
    // 2 student heads -> 4 teacher heads: each student head is copied to its two teacher heads.
    expect(Array.from(headMixInit(2, 4))).toEqual([1, 1, 0, 0, 0, 0, 1, 1]);
    // 4 -> 2: each teacher head is compared with the mean of its two student heads.
    expect(Array.from(headMixInit(4, 2))).toEqual([0.5, 0, 0.5, 0, 0, 0.5, 0, 0.5]);
    // 2 -> 3 (no divisor): proportional overlap, columns sum to 1.
    Array.from(headMixInit(2, 3)).forEach((v, i) => expect(v).toBeCloseTo([1, 0.5, 0, 0, 0.5, 1][i], 6));
    expect(Array.from(headMixInit(3, 3))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('mixes heads as out[t] = Σ_s M[s,t] · x[s]', () => {
    // x: head 0 all 1s, head 1 all 10s (L = 1). M [2, 3] = [[1, .5, 0], [0, .5, 1]] -> [1, 5.5, 10].
    const x = tf.tensor4d([[[[1]], [[10]]]]);
    const out = mixHeads(x, tf.tensor2d(headMixInit(2, 3), [2, 3]));
    expect(out.shape).toEqual([1, 3, 1, 1]);
    Array.from(out.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([1, 5.5, 10][i], 5));
  });
});

/** Student: H = 2, 2 heads, 1 layer. Teacher: H = 3, 4 heads, 2 layers. B = 1, L = 2, both tokens real. */
function features(): { s: Features; t: Features } {
  const mask = tf.tensor2d([[1, 1]]);
  const s: Features = {
    hidden: [tf.tensor3d([[[1, 0], [0, 1]]]), tf.tensor3d([[[1, 1], [2, 0]]])],
    attentionScores: [tf.tensor4d([[[[1, 2], [3, 4]], [[0, 0], [1, 1]]]])],
    logits: tf.tensor2d([[0, 0]]),
    mask,
  };
  const t: Features = {
    hidden: [tf.zeros([1, 2, 3]), tf.ones([1, 2, 3]), tf.tensor3d([[[1, 1, 2], [2, 0, 0]]])],
    attentionScores: [tf.zeros([1, 4, 2, 2]), tf.ones([1, 4, 2, 2])],
    logits: tf.tensor2d([[Math.log(3), 0]]),
    mask,
  };
  return { s, t };
}

describe('computeDistillLoss', () => {
  it('projects, mixes heads, weights and reports unweighted parts', () => {
    const { s, t } = features();
    const proj = Projections.create({ studentHidden: 2, teacherHidden: 3, studentHeads: 2, teacherHeads: 4, hiddenLayers: [0, 1], shared: true, seed: 1 });
    // Shared projection: one kernel for both hidden matches. Set it to [[1,0,0],[0,1,0]] + bias [0,0,1] (pads a 1).
    proj.hidden(0)!.kernel.assign(tf.tensor2d([[1, 0, 0], [0, 1, 0]]));
    proj.hidden(0)!.bias.assign(tf.tensor1d([0, 0, 1]));
    expect(proj.hidden(1)).toBe(proj.hidden(0));
    expect([...proj.variables.keys()]).toEqual(['proj.hidden.shared.weight', 'proj.hidden.shared.bias', 'proj.heads.weight']);
    const matches: Match[] = [
      { feature: 'hidden', layerS: 0, layerT: 0, loss: 'hidden_mse', weight: 1 },
      { feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 2 },
      { feature: 'attention', layerS: 0, layerT: 1, loss: 'attention_mse', weight: 1 },
      { feature: 'logits', loss: 'kd_ce', weight: 0.5 },
      { feature: 'labels', loss: 'ce', weight: 0.5 },
    ];
    const { total, parts } = computeDistillLoss(matches, s, t, proj, { labels: tf.tensor1d([0], 'int32'), scales: { attention: 10 } });
    // hidden s0 projected: [[1,0,1],[0,1,1]] vs zeros: (1+0+1+0+1+1)/(2 tokens × 3) = 4/6.
    expect(val(parts['hidden_mse/s0-t0'])).toBeCloseTo(4 / 6, 6);
    // hidden s1 projected: [[1,1,1],[2,0,1]] vs [[1,1,2],[2,0,0]]: (1 + 1)/6 = 1/3.
    expect(val(parts['hidden_mse/s1-t2'])).toBeCloseTo(1 / 3, 6);
    // attention: student heads copied to teacher heads (0,0,1,1): head0 [[1,2],[3,4]], head1 [[0,0],[1,1]] vs 1s.
    // squares head0: 0+1+4+9 = 14, head1: 1+1+0+0 = 2; teacher heads sum 2·14 + 2·2 = 32 over 4 heads × 4 pairs = 2.
    expect(val(parts['attention_mse/s0-t1'])).toBeCloseTo(2, 6);
    // kd_ce: uniform student -> ln 2; ce with label 0: −ln .5 = ln 2.
    expect(val(parts.kd_ce)).toBeCloseTo(Math.LN2, 6);
    expect(val(parts.ce)).toBeCloseTo(Math.LN2, 6);
    expect(val(total)).toBeCloseTo(4 / 6 + 2 / 3 + 10 * 2 + 0.5 * Math.LN2 + 0.5 * Math.LN2, 5);
    proj.dispose();
  });

  it('sends gradients to the projections and the student features', () => {
    const { s, t } = features();
    const proj = Projections.create({ studentHidden: 2, teacherHidden: 3, studentHeads: 2, teacherHeads: 4, hiddenLayers: [1], shared: false, seed: 2 });
    expect([...proj.variables.keys()]).toEqual(['proj.hidden.1.weight', 'proj.hidden.1.bias', 'proj.heads.weight']);
    const matches: Match[] = [
      { feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 1 },
      { feature: 'attention', layerS: 0, layerT: 1, loss: 'attention_kl', weight: 1 },
    ];
    const { grads } = tf.variableGrads(() => computeDistillLoss(matches, s, t, proj).total, [...proj.variables.values()]);
    for (const v of proj.variables.values()) expect(tf.sum(tf.abs(grads[v.name])).dataSync()[0]).toBeGreaterThan(0);
  });

  it('differentiates every loss without extra gradient registrations (stock tfjs)', () => {
    const { s, t } = features();
    const proj = Projections.create({ studentHidden: 2, teacherHidden: 3, studentHeads: 2, teacherHeads: 4, hiddenLayers: [0], shared: false, seed: 3 });
    const x = tf.variable(s.attentionScores[0]);
    const logits = tf.variable(s.logits!);
    for (const loss of ['attention_mse', 'attention_probs_mse', 'attention_kl'] as const) {
      const { grads } = tf.variableGrads(() => {
        const sf: Features = { ...s, attentionScores: [x as tf.Tensor4D], attentionProbs: [tf.softmax(x) as tf.Tensor4D] };
        return computeDistillLoss([{ feature: 'attention', layerS: 0, layerT: 1, loss, weight: 1 }], sf, t, proj).total;
      }, [x]);
      expect(tf.sum(tf.abs(grads[x.name])).dataSync()[0], loss).toBeGreaterThan(0);
    }
    for (const loss of ['kd_ce', 'kd_kl', 'kd_mse'] as const) {
      const { grads } = tf.variableGrads(() => computeDistillLoss([{ feature: 'logits', loss, weight: 1 }], { ...s, logits: logits as tf.Tensor2D }, t, proj).total, [logits]);
      expect(tf.sum(tf.abs(grads[logits.name])).dataSync()[0], loss).toBeGreaterThan(0);
    }
  });

  it('uses the pure functions unchanged when shapes already agree', () => {
    const { s } = features();
    const same: Features = { ...s, logits: tf.tensor2d([[1, 2]]) };
    const matches: Match[] = [
      { feature: 'hidden', layerS: 1, layerT: 0, loss: 'hidden_mse', weight: 1 },
      { feature: 'attention', layerS: 0, layerT: 0, loss: 'attention_mse', weight: 1 },
      { feature: 'logits', loss: 'kd_ce', weight: 1, temperature: 3 },
    ];
    const { parts } = computeDistillLoss(matches, s, same, undefined, { temperature: 2 });
    const ctx = { mask: s.mask, temperature: 2, scaleT2: false };
    expect(val(parts['hidden_mse/s1-t0'])).toBeCloseTo(val(hiddenMse(s.hidden[1], s.hidden[0], ctx)), 6);
    expect(val(parts['attention_mse/s0-t0'])).toBeCloseTo(val(attentionScoreMse(s.attentionScores[0], s.attentionScores[0], ctx)), 6);
    // The option's temperature (a schedule) overrides the match's.
    expect(val(parts.kd_ce)).toBeCloseTo(val(softCrossEntropy(s.logits!, same.logits!, ctx)), 6);
  });

  it('explains what is missing', () => {
    const { s, t } = features();
    const run = (m: Match, tt: Features = t, labels?: tf.Tensor1D) => () => computeDistillLoss([m], s, tt, undefined, { labels });
    expect(run({ feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 1 })).toThrow(/student width 2 differs from teacher width 3 and no projection/);
    expect(run({ feature: 'attention', layerS: 0, layerT: 1, loss: 'attention_mse', weight: 1 })).toThrow(/student has 2 heads, teacher 4/);
    expect(run({ feature: 'hidden', layerS: 5, layerT: 0, loss: 'hidden_mse', weight: 1 })).toThrow(/student hidden index 5 is out of range \(have 2\)/);
    expect(run({ feature: 'logits', loss: 'kd_ce', weight: 1 }, { ...t, logits: undefined })).toThrow(/teacher cache has no logits/);
    expect(run({ feature: 'labels', loss: 'ce', weight: 1 })).toThrow(/no labels/);
    expect(run({ feature: 'logits', loss: 'hidden_mse', weight: 1 } as unknown as Match)).toThrow(/applies to hidden matches, not logits/);
    expect(run({ feature: 'logits', loss: 'nope', weight: 1 } as unknown as Match)).toThrow(/unknown loss "nope"; valid losses/);
  });
});
