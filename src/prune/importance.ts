/**
 * Importance of attention heads and feed-forward units (Michel et al. 2019, "Are Sixteen Heads Really
 * Better than One?"): a mask ξ multiplies each head's context output and each unit's activation; at
 * ξ = 1 the model is unchanged and I = E_batches |∂L/∂ξ| estimates how much the loss would move if the
 * head or unit were removed. L is whatever loss the caller differentiates (the stage's distillation
 * loss in the trainer). Per-layer L2 normalisation, as the paper, makes scores comparable across layers.
 */
import * as tf from '@tensorflow/tfjs';
import { layerHeadCount, layerIntermediateSize, type BertConfig } from '../student/config.ts';
import type { PruningMasks, Student } from '../student/model.ts';

export interface Importance {
  heads: number[][];
  ffn: number[][];
}

/** Mask variables at 1, named "mask.heads.<i>" / "mask.ffn.<i>" (the names their gradients come back under). */
export function onesMasks(config: BertConfig): { masks: PruningMasks; variables: Map<string, tf.Variable> } {
  const variables = new Map<string, tf.Variable>();
  const masks: PruningMasks = { heads: [], ffn: [] };
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const h = tf.tidy(() => tf.variable(tf.ones([layerHeadCount(config, i)]), true));
    const f = tf.tidy(() => tf.variable(tf.ones([layerIntermediateSize(config, i)]), true));
    variables.set(`mask.heads.${i}`, h);
    variables.set(`mask.ffn.${i}`, f);
    masks.heads.push(h as tf.Tensor1D);
    masks.ffn.push(f as tf.Tensor1D);
  }
  return { masks, variables };
}

/** Divides each layer's scores by their L2 norm (Michel et al.'s normalisation); an all-zero layer stays zero. */
export function normalizePerLayer(scores: number[][]): number[][] {
  return scores.map((s) => {
    const norm = Math.sqrt(s.reduce((a, x) => a + x * x, 0));
    return s.map((x) => x / (norm + 1e-20));
  });
}

/**
 * Mean over `batches` of |∂L/∂ξ| for every head and feed-forward unit. `maskGrads` runs one batch's loss
 * with the student's masks set and returns the gradients by variable name (it owns the batch choice);
 * the returned tensors are disposed here. The student's masks are removed afterwards, even on error.
 */
export async function measureImportance(
  student: Student,
  batches: number,
  maskGrads: (variables: Map<string, tf.Variable>) => Promise<Map<string, tf.Tensor>> | Map<string, tf.Tensor>,
  opts: { normalize?: boolean } = {},
): Promise<Importance> {
  const c = student.config;
  const { masks, variables } = onesMasks(c);
  const sums = new Map<string, Float64Array>([...variables].map(([k, v]) => [k, new Float64Array(v.size)]));
  student.masks = masks;
  try {
    for (let b = 0; b < batches; b++) {
      const grads = await maskGrads(variables);
      for (const [name, sum] of sums) {
        const g = grads.get(name);
        // A head no loss term reaches (e.g. before the matched layer) has no gradient: importance 0.
        if (g) {
          const data = g.dataSync();
          for (let j = 0; j < sum.length; j++) sum[j] += Math.abs(data[j]);
        }
      }
      for (const g of grads.values()) g.dispose();
    }
  } finally {
    student.masks = undefined;
    for (const v of variables.values()) v.dispose();
  }
  const mean = (name: string) => Array.from(sums.get(name)!, (x) => x / batches);
  const layers = [...Array(c.num_hidden_layers).keys()];
  const out: Importance = { heads: layers.map((i) => mean(`mask.heads.${i}`)), ffn: layers.map((i) => mean(`mask.ffn.${i}`)) };
  return opts.normalize ? { heads: normalizePerLayer(out.heads), ffn: normalizePerLayer(out.ffn) } : out;
}
