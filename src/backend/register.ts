import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { unsortedSegmentSumConfig } from './kernels/unsorted-segment-sum.ts';
import { wrapBatchMatMul } from './kernels/batch-mat-mul.ts';
import { COMPARISON_OPS, comparisonGradConfig } from './kernels/comparison-grads.ts';

/** Marks kernels this module installed, so a second call (or a second copy of this module) is a no-op. */
const OURS = Symbol.for('distill-ts.backend.extra-kernel');

function isOurs(config: KernelConfig | undefined): boolean {
  return config != null && (config.kernelFunc as unknown as Record<symbol, unknown>)[OURS] === true;
}

function mark(config: KernelConfig): KernelConfig {
  (config.kernelFunc as unknown as Record<symbol, unknown>)[OURS] = true;
  return config;
}

/** Kernels the wasm backend lacks for training, added as new registrations. */
const ADDED: KernelConfig[] = [unsortedSegmentSumConfig];

/**
 * Installs what training needs beyond stock tfjs: zero gradients for comparison ops (every
 * backend), and the extra and replacement wasm kernels. Idempotent; call it after
 * `@tensorflow/tfjs-backend-wasm` has been imported (initBackend does). Returns the names of the
 * wasm kernels it (re)registered on this call, for logging and tests.
 */
export function registerExtraKernels(): string[] {
  for (const op of COMPARISON_OPS) {
    if (!tf.getGradient(op)) tf.registerGradient(comparisonGradConfig(op));
  }
  const done: string[] = [];
  for (const config of ADDED) {
    const existing = tf.getKernel(config.kernelName, config.backendName);
    if (existing) continue; // ours already, or a future tfjs ships its own
    tf.registerKernel(mark({ ...config }));
    done.push(config.kernelName);
  }

  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (batchMatMul && transpose && !isOurs(batchMatMul)) {
    const wrapped = mark(wrapBatchMatMul(batchMatMul, transpose));
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel(wrapped);
    done.push('BatchMatMul');
  }
  return done;
}
