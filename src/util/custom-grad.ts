/**
 * tf.customGrad with its inputs as an array. tfjs declares the function it takes as one rest parameter
 * mixing tensors and the save function, so each custom op would otherwise need a cast; the ops here
 * (student layers, losses, fake quantisation, stop-gradient) state their arity once instead.
 */
import * as tf from '@tensorflow/tfjs';

export type CustomForward = (
  inputs: tf.Tensor[],
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };

/** An op of `arity` tensor inputs whose gradient is `f`'s gradFunc (only saved tensors outlive the forward pass). */
export function withGradient(arity: number, f: CustomForward): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => f(args.slice(0, arity) as tf.Tensor[], args[arity] as tf.GradSaveFunc)) as Parameters<typeof tf.customGrad>[0]);
}
