import type * as tf from '@tensorflow/tfjs';

/**
 * What distillation compares: the student's forward pass and the cached teacher both produce this,
 * so losses never know which model a tensor came from.
 *
 * Index conventions: hidden[0] is the embedding output (after its LayerNorm), hidden[i] the output of
 * layer i (1-based); attentionScores[i] belongs to layer i+1 (0-based array, one per layer).
 */
export interface Features {
  /** [B, numLabels] (regression: [B, 1]). Absent for encoder-only (general distillation) teachers. */
  logits?: tf.Tensor2D;
  /** numLayers + 1 tensors of [B, L, H]. */
  hidden: tf.Tensor3D[];
  /** numLayers tensors of [B, heads, L, L]: pre-softmax scores with the additive mask applied. */
  attentionScores: tf.Tensor4D[];
  /** numLayers tensors of [B, heads, L, L]: softmax probabilities. Optional for the teacher. */
  attentionProbs?: tf.Tensor4D[];
  /** [B, L], 1 for real tokens, 0 for padding. */
  mask: tf.Tensor2D;
  /**
   * Per layer (0-based, like attentionScores): the query, key and value projections [B, L, H] before
   * the head split and the 1/√d scale (what relation losses compare). Teachers fill only needed layers.
   */
  qkv?: Qkv[];
  /**
   * Teacher only, by hidden index: [B, H] means of that hidden state over each example's own real
   * tokens (sequence-level, so usable when the student tokenizes differently). Filled for needed layers.
   */
  pooled?: tf.Tensor2D[];
}

export interface Qkv {
  query: tf.Tensor3D;
  key: tf.Tensor3D;
  value: tf.Tensor3D;
}
