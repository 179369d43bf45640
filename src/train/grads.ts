import * as tf from '@tensorflow/tfjs';

/** Gradient plumbing for the trainer: global-norm clipping and accumulation over micro-batches. */

/**
 * Most inputs one AddN takes here. WebGPU binds every input as a storage buffer and devices guarantee only 8
 * per shader (inputs + output): tfjs webgpu's AddN of more fails validation and its command buffer is dropped,
 * so the sum reads back stale memory. 7 is within the guarantee on every backend.
 */
export const ADDN_MAX_INPUTS = 7;

/**
 * Σ of same-shape tensors, left to right: AddN over groups of at most ADDN_MAX_INPUTS, each group starting from
 * the running sum. The additions happen in the order of one AddN over all of them (the wasm and cpu kernels
 * add inputs one after another), so the result has the same bits. Call inside tf.tidy.
 */
export function sumInOrder(xs: tf.Tensor[]): tf.Tensor {
  if (xs.length === 0) throw new Error('sumInOrder: nothing to sum');
  let acc = xs.length === 1 ? xs[0] : tf.addN(xs.slice(0, ADDN_MAX_INPUTS));
  for (let i = ADDN_MAX_INPUTS; i < xs.length; i += ADDN_MAX_INPUTS - 1) acc = tf.addN([acc, ...xs.slice(i, i + ADDN_MAX_INPUTS - 1)]);
  return acc;
}

/** The squared global norm Σ‖g‖², as a scalar tensor. */
function squaredNorm(grads: Map<string, tf.Tensor>): tf.Scalar {
  // Each square is freed as soon as it is summed (an inner tidy), not held until the caller's tidy ends.
  return sumInOrder([...grads.values()].map((g) => tf.tidy(() => tf.sum(tf.square(g))))) as tf.Scalar;
}

/** sqrt(Σ‖g‖²) over all gradients, as a JS number. */
export function globalNorm(grads: Map<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  return tf.tidy(() => tf.sqrt(squaredNorm(grads)).dataSync()[0]);
}

/**
 * Scales all gradients by maxNorm / norm when the global norm exceeds maxNorm (torch's
 * clip_grad_norm_). Returns new tensors (the caller disposes the old ones) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: number } {
  return clipToNorm(grads, globalNorm(grads), maxNorm);
}

/** globalNorm with an asynchronous read-back (GPU backends in a page). */
export async function globalNormAsync(grads: Map<string, tf.Tensor>): Promise<number> {
  if (grads.size === 0) return 0;
  const norm = tf.tidy(() => tf.sqrt(squaredNorm(grads)));
  const value = (await norm.data())[0];
  norm.dispose();
  return value;
}

/** clipByGlobalNorm with an asynchronous read-back of the norm: the same numbers. */
export async function clipByGlobalNormAsync(grads: Map<string, tf.Tensor>, maxNorm: number): Promise<{ grads: Map<string, tf.Tensor>; norm: number }> {
  return clipToNorm(grads, await globalNormAsync(grads), maxNorm);
}

function clipToNorm(grads: Map<string, tf.Tensor>, norm: number, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: number } {
  if (!(maxNorm > 0) || norm <= maxNorm || !Number.isFinite(norm)) {
    return { grads: new Map([...grads].map(([k, g]) => [k, tf.clone(g)])), norm };
  }
  const scale = maxNorm / (norm + 1e-6);
  return { grads: new Map([...grads].map(([k, g]) => [k, tf.mul(g, scale)])), norm };
}

/** Sums gradients over micro-batches, then hands back their mean. Owns its tensors. */
export class GradAccumulator {
  private sums = new Map<string, tf.Tensor>();
  count = 0;

  add(grads: Map<string, tf.Tensor>): void {
    for (const [name, g] of grads) {
      const prev = this.sums.get(name);
      if (prev) {
        this.sums.set(name, tf.add(prev, g));
        prev.dispose();
      } else {
        this.sums.set(name, tf.clone(g));
      }
    }
    this.count += 1;
  }

  /** Mean gradients (new tensors owned by the caller); resets the accumulator. */
  takeMean(): Map<string, tf.Tensor> {
    const n = this.count;
    const out = new Map<string, tf.Tensor>();
    for (const [name, s] of this.sums) {
      out.set(name, n === 1 ? s : tf.div(s, n));
      if (n !== 1) s.dispose();
    }
    this.sums = new Map();
    this.count = 0;
    return out;
  }

  dispose(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.count = 0;
  }
}

export function disposeMap(m: Map<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}
