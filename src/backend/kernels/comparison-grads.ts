import * as tf from '@tensorflow/tfjs';
import type { GradConfig } from '@tensorflow/tfjs';

/**
 * Zero gradients for the comparison ops tfjs leaves without one (it ships GreaterEqual's only).
 *
 * A comparison is piecewise constant, so its gradient is zero; TensorFlow marks these ops
 * NotDifferentiable. tfjs instead throws "gradient function not found for LessEqual" as soon as a
 * mask is computed from a tensor on the tape, e.g. TinyBERT's `where(scores <= -100, 0, scores)`.
 * Backend-independent (gradients are not per backend).
 */
export const COMPARISON_OPS = ['Less', 'LessEqual', 'Greater', 'Equal', 'NotEqual'] as const;

export function comparisonGradConfig(kernelName: string): GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy, saved) => {
      const [a, b] = saved as tf.Tensor[];
      return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
    },
  };
}
