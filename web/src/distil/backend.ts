/**
 * The tfjs backend the student trains on in the page: WebGPU when the browser has an adapter and the
 * backend starts, else wasm (XNNPACK; several threads in a cross-origin-isolated page), else cpu.
 * The same extra kernels as in Node (src/backend/register.ts) are installed; on a CPU-emulated WebGPU adapter
 * (SwiftShader), also kernels without workgroup memory (loop-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { setWasmThreadsForBatchMatMul } from '../../../src/backend/kernels/batch-mat-mul.ts';
import { registerExtraKernels } from '../../../src/backend/register.ts';
import { adapterName, webgpuAdapter, wasmThreads } from '../runtime.ts';
import { registerLoopKernels } from './loop-kernels.ts';

export type TrainBackendChoice = 'auto' | 'webgpu' | 'wasm' | 'cpu';

export interface TrainBackend {
  name: 'webgpu' | 'wasm' | 'cpu';
  /** What the page shows, e.g. "tfjs webgpu (google swiftshader, loop kernels)", "tfjs wasm (1 thread)". */
  description: string;
  /** Why not the backend asked for. */
  note?: string;
}

setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });

let started: TrainBackend | undefined;

async function startWebgpu(): Promise<TrainBackend> {
  const { adapter, why } = await webgpuAdapter();
  if (!adapter) throw new Error(why);
  if (!(await tf.setBackend('webgpu'))) throw new Error('the tfjs webgpu backend did not start');
  await tf.ready();
  // A CPU emulation runs tfjs's workgroup-memory kernels 10-100x slower than plain loops (loop-kernels.ts).
  const loops = emulatesOnCpu(adapter);
  if (loops) registerLoopKernels();
  return { name: 'webgpu', description: `tfjs webgpu (${adapterName(adapter)}${loops ? ', loop kernels' : ''})` };
}

/** SwiftShader (Chrome's WebGPU without a GPU), or any adapter the browser marks as a software fallback. */
function emulatesOnCpu(adapter: GPUAdapter): boolean {
  const info = (adapter as GPUAdapter & { info?: { isFallbackAdapter?: boolean } }).info;
  return info?.isFallbackAdapter === true || /swiftshader/i.test(adapterName(adapter));
}

/** wasm with `threads` threads (1: the single-threaded SIMD build Node uses). Fixed once started. */
async function startWasm(threads: number): Promise<TrainBackend> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1 && globalThis.crossOriginIsolated === true);
  setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start');
  await tf.ready();
  const n = getThreadsCount();
  setWasmThreadsForBatchMatMul(n);
  return { name: 'wasm', description: `tfjs wasm (${n} thread${n === 1 ? '' : 's'})` };
}

async function startCpu(): Promise<TrainBackend> {
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', description: 'tfjs cpu (plain JavaScript)' };
}

/**
 * Starts the backend asked for (auto: webgpu, then wasm, then cpu). A page starts one backend once:
 * changing it needs a reload (tfjs's wasm thread count is fixed at start).
 */
export async function startTrainBackend(choice: TrainBackendChoice, threads = wasmThreads()): Promise<TrainBackend> {
  registerExtraKernels();
  if (started) return started;
  const order: TrainBackendChoice[] = choice === 'auto' ? ['webgpu', 'wasm', 'cpu'] : choice === 'webgpu' ? ['webgpu', 'wasm', 'cpu'] : choice === 'wasm' ? ['wasm', 'cpu'] : ['cpu'];
  const failed: string[] = [];
  for (const name of order) {
    try {
      const b = name === 'webgpu' ? await startWebgpu() : name === 'wasm' ? await startWasm(threads) : await startCpu();
      registerExtraKernels(); // the wasm kernels, now that wasm is registered
      if (failed.length) b.note = failed.join('; ');
      started = b;
      return b;
    } catch (e) {
      failed.push(`${name} failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no tfjs backend started: ${failed.join('; ')}`);
}
