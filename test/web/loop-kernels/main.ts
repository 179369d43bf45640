/**
 * The page of test/web/loop-kernels.test.ts: each case runs on tfjs webgpu with the loop kernels installed
 * and on tfjs cpu, from the same inputs; the test compares the two.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { registerLoopKernels } from '../../../web/src/distil/loop-kernels.ts';

type Case = [name: string, inputs: number[][], f: (t: tf.Tensor[]) => tf.Tensor];

/** Inputs by shape, from a fixed seed (tf.randomNormal's seeded stream is the same on both backends). */
const shapes = { x: [704, 64], v: [64], w: [64, 256], h: [704, 256], s: [2816, 22], q: [128, 22, 16], k: [128, 16, 22], x4: [32, 22, 4, 16], odd: [3, 7, 5], odd2: [3, 5, 9], one: [1, 7, 5], b2: [5, 6] };
type Name = keyof typeof shapes;
const cases: [string, Name[], (t: tf.Tensor[]) => tf.Tensor][] = [
  ['add rank-1 operand', ['x', 'v'], ([x, v]) => tf.add(x, v)],
  ['sub rank-1 operand first', ['v', 'x'], ([v, x]) => tf.sub(v, x)],
  ['mul rank-1 operand', ['x', 'v'], ([x, v]) => tf.mul(x, v)],
  ['transpose 2-D', ['x'], ([x]) => tf.transpose(x)],
  ['transpose 3-D', ['q'], ([q]) => tf.transpose(q, [2, 0, 1])],
  ['sum axis 0', ['x'], ([x]) => tf.sum(x, 0)],
  ['sum axis 1', ['x'], ([x]) => tf.sum(x, 1)],
  ['sum all', ['h'], ([h]) => tf.sum(h)],
  ['sum axes [1,2] keepDims', ['x4'], ([t]) => tf.sum(t, [1, 2], true)],
  ['sum scattered axes [0,2] (stock kernel)', ['x4'], ([t]) => tf.sum(t, [0, 2])],
  ['mean last axis keepDims', ['h'], ([h]) => tf.mean(h, -1, true)],
  ['max last axis', ['s'], ([s]) => tf.max(s, -1)],
  ['max axes [0,1]', ['q'], ([q]) => tf.max(q, [0, 1])],
  ['min axis 0', ['s'], ([s]) => tf.min(s, 0)],
  ['softmax 2-D', ['s'], ([s]) => tf.softmax(s)],
  ['softmax 3-D', ['q'], ([q]) => tf.softmax(q)],
  ['matMul', ['x', 'w'], ([x, w]) => tf.matMul(x, w)],
  ['matMul transposeB', ['h', 'w'], ([h, w]) => tf.matMul(h, w, false, true)],
  ['matMul transposeA', ['x', 'h'], ([x, h]) => tf.matMul(x, h, true, false)],
  ['batched matMul', ['q', 'k'], ([q, k]) => tf.matMul(q, k)],
  ['batched matMul both transposed', ['k', 'q'], ([k, q]) => tf.matMul(k, q, true, true)],
  ['batched matMul, sizes not multiples of 4', ['odd', 'odd2'], ([a, b]) => tf.matMul(a, b)],
  ['batched matMul, batch 1 against 3', ['one', 'odd2'], ([a, b]) => tf.matMul(a, b)],
  ['batched matMul against a matrix', ['odd', 'b2'], ([a, b]) => tf.matMul(a, b)],
];

async function run(inputs: Record<Name, number[]>): Promise<{ name: string; shape: number[]; values: number[] }[]> {
  const out = [];
  for (const [name, names, f] of cases) {
    const ts = names.map((n) => tf.tensor(inputs[n], shapes[n]));
    const r = f(ts);
    out.push({ name, shape: r.shape, values: Array.from(await r.data()) });
    tf.dispose([...ts, r]);
  }
  return out;
}

async function check(): Promise<{ adapter: string; installed: string[]; results: { name: string; shapes: [number[], number[]]; maxRelDiff: number }[] } | { skipped: string }> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return { skipped: 'no WebGPU adapter' };
  if (!(await tf.setBackend('webgpu'))) return { skipped: 'the tfjs webgpu backend did not start' };
  const installed = registerLoopKernels();
  // Uniform in [-3, 3) from a small LCG: the same numbers for both backends.
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 6 - 3;
  const inputs = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, Array.from({ length: s.reduce((a, b) => a * b, 1) }, rand)])) as Record<Name, number[]>;
  const gpu = await run(inputs);
  await tf.setBackend('cpu');
  const cpu = await run(inputs);
  const results = gpu.map((g, i) => {
    let worst = 0;
    for (let j = 0; j < cpu[i].values.length; j++) worst = Math.max(worst, Math.abs(g.values[j] - cpu[i].values[j]) / (1 + Math.abs(cpu[i].values[j])));
    return { name: g.name, shapes: [g.shape, cpu[i].shape] as [number[], number[]], maxRelDiff: g.values.length === cpu[i].values.length ? worst : Infinity };
  });
  const info = (adapter as GPUAdapter & { info?: { vendor?: string; architecture?: string } }).info;
  return { adapter: `${info?.vendor ?? ''} ${info?.architecture ?? ''}`.trim(), installed, results };
}

(window as unknown as { check: typeof check }).check = check;
document.title = 'ready';
