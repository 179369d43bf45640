import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';

/**
 * Multi-threaded tfjs wasm under Node.
 *
 * tfjs switches threads off in Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, tfjs
 * issue 3830) because emscripten starts its pthread workers from a `blob:` URL, which Node's
 * worker_threads refuses. Three things make the threaded-simd build start anyway:
 *  1. a global `Worker` whose constructor swaps that blob URL for wasm-pthread-worker.cjs (a real
 *     file), telling it where the package's wasm-out folder is;
 *  2. the flag set to true before the backend initialises;
 *  3. the core count the build reads (it halves os.cpus().length, assuming hyper-threading, and
 *     caps the pool there) reported as 2·threads while it initialises.
 * The workers are unref'd so they never keep the process alive.
 */

const WORKER_FILE = fileURLToPath(new URL('./wasm-pthread-worker.cjs', import.meta.url));

function wasmOutDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
}

function installWorkerShim(): void {
  const existing = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  if (existing?.get && (existing.get as { shim?: boolean }).shim) return;
  const workerData = { wasmOutDir: wasmOutDir() };
  class PthreadWorker extends NodeWorker {
    constructor(url: string | URL, opts?: WorkerOptions) {
      const isBlob = typeof url === 'string' && url.startsWith('blob:');
      super(isBlob ? WORKER_FILE : url, isBlob ? { ...opts, workerData } : opts);
      if (isBlob) {
        // A pthread worker never keeps the process alive; emscripten re-refs a worker when it
        // starts a thread on it, hence the no-op.
        this.unref();
        this.ref = () => {};
      }
    }
  }
  const get = Object.assign(() => PthreadWorker, { shim: true });
  // emscripten assigns `global.Worker = worker_threads.Worker` when it starts; ignore that.
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get, set: () => {} });
}

/** The threads tfjs wasm would use if it may; `requested` is clamped to [1, 8] (the build's pool). */
export function clampThreads(requested: number | undefined, cores = os.availableParallelism()): number {
  const n = requested ?? cores;
  if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer, got ${requested}`);
  return Math.min(n, 8);
}

/**
 * Starts the wasm backend with `threads` XNNPACK threads (1 = the plain SIMD build, no workers).
 * Returns the thread count the backend reports. Throws if the backend does not start.
 */
export async function startWasm(threads: number): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const multi = threads > 1;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', multi);
  if (multi) installWorkerShim();
  wasm.setThreadsCount(threads);
  const cpus = os.cpus;
  if (multi) os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus()[i % Math.max(cpus().length, 1)]);
  const keepAlive = setInterval(() => {}, 1 << 30); // the workers' first messages must arrive
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
  } finally {
    os.cpus = cpus;
    clearInterval(keepAlive);
  }
  return wasm.getThreadsCount();
}
