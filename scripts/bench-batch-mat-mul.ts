/**
 * Micro-benchmark of the batched attention products on wasm: the shipped BatchMatMul behind the
 * transpose-first wrapper with batches left to the shipped kernel ("old") against the current
 * wrapper, which runs each slice through the XNNPACK path ("new"). Same process, same inputs,
 * alternating runs, best of each.
 *
 *   npx tsx scripts/bench-batch-mat-mul.ts --threads 1 [--reps 5] [--ballast-mb 0]
 *
 * "new" slices only on a single-threaded module (see the kernel); --ballast-mb fills the heap first.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { clampThreads, startWasm } from '../src/backend/wasm-threads.ts';
import { wrapBatchMatMul } from '../src/backend/kernels/batch-mat-mul.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const shipped = tf.getKernel('BatchMatMul', 'wasm')!;
const transpose = tf.getKernel('Transpose', 'wasm')!;
const kernels = {
  old: wrapBatchMatMul(shipped, transpose, { sliceBatches: false }),
  new: wrapBatchMatMul(shipped, transpose),
};
const threads = await startWasm(clampThreads(args.includes('--threads') ? opt('--threads', 1) : undefined));
const reps = opt('--reps', 5);
const ballast = Array.from({ length: opt('--ballast-mb', 0) / 16 }, () => tf.zeros([4 << 20]));

function use(config: tf.KernelConfig): void {
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel(config);
}

// [label, a shape, b shape, transposeA, transposeB]; batch·heads slices of seq × headDim.
const cases: [string, number[], number[], boolean, boolean][] = [];
for (const [model, bh, d] of [['tinybert4', 32 * 12, 26], ['small', 32 * 4, 32]] as const) {
  cases.push([`${model} q·kᵀ`, [bh, 64, d], [bh, 64, d], false, true]);
  cases.push([`${model} p·v`, [bh, 64, 64], [bh, 64, d], false, false]);
  cases.push([`${model} pᵀ·dY`, [bh, 64, 64], [bh, 64, d], true, false]);
  cases.push([`${model} dS·k`, [bh, 64, 64], [bh, 64, d], false, false]);
  cases.push([`${model} dSᵀ·q`, [bh, 64, 64], [bh, 64, d], true, false]);
}
console.log(`tfjs ${tf.version.tfjs}, wasm ${threads} thread(s), best of ${reps} after a warm-up, each kernel run twice alternately`);
for (const [label, sa, sb, ta, tb] of cases) {
  const a = tf.randomNormal(sa);
  const b = tf.randomNormal(sb);
  const m = ta ? sa[2] : sa[1];
  const k = ta ? sa[1] : sa[2];
  const n = tb ? sb[1] : sb[2];
  const flops = 2 * sa[0] * m * k * n;
  const best: Record<string, number> = { old: Infinity, new: Infinity };
  const results: Record<string, Float32Array> = {};
  for (const name of ['old', 'new', 'old', 'new'] as const) {
    use(kernels[name]);
    const warm = tf.matMul(a, b, ta, tb);
    results[name] = warm.dataSync() as Float32Array;
    warm.dispose();
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const out = tf.matMul(a, b, ta, tb);
      out.dataSync();
      best[name] = Math.min(best[name], performance.now() - t0);
      out.dispose();
    }
  }
  let diff = 0;
  for (let i = 0; i < results.old.length; i++) diff = Math.max(diff, Math.abs(results.old[i] - results.new[i]));
  const g = (ms: number) => (flops / ms / 1e6).toFixed(2);
  console.log(`${label.padEnd(16)} [${sa}]${ta ? 'ᵀ' : ''} · [${sb}]${tb ? 'ᵀ' : ''}: old ${best.old.toFixed(1)} ms ` +
    `(${g(best.old)} GFLOP/s), new ${best.new.toFixed(1)} ms (${g(best.new)} GFLOP/s), ` +
    `${(best.old / best.new).toFixed(2)}x, max |diff| ${diff.toExponential(1)}`);
  tf.dispose([a, b]);
}
use(kernels.new);
