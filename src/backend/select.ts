import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { setWasmThreadsForBatchMatMul } from './kernels/batch-mat-mul.ts';
import { registerExtraKernels } from './register.ts';
import { clampThreads, startWasm } from './wasm-threads.ts';

export type BackendPreference = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendOptions {
  /**
   * wasm: XNNPACK threads (default: all cores, at most 8); 1 selects the single-threaded build.
   * tensorflow: the size of TensorFlow's intra-op pool (default: all cores), applied when the library loads.
   */
  threads?: number;
}

export interface BackendInfo {
  /** tfjs backend name: 'tensorflow' | 'wasm' | 'cpu'. */
  name: string;
  /** Threads the backend computes with (tensorflow: its intra-op pool). */
  threads: number;
  /** True only when TensorFlow really computes on a GPU (tfjs-node-gpu and a CUDA device found). */
  gpu: boolean;
  /** tensorflow backends: the libtensorflow version that runs (TF_Version()), e.g. "2.21.0". */
  libVersion?: string;
  /** tensorflow-gpu only: the package loaded but TensorFlow found no usable GPU, so it computes on the CPU. */
  gpuMissing?: boolean;
  /** Kernels registered or replaced on this backend by registerExtraKernels. */
  extraKernels: string[];
}

type Concrete = Exclude<BackendPreference, 'auto'>;
const AUTO_ORDER: Concrete[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

let current: { key: string; info: BackendInfo } | undefined;

/**
 * One line for logs, e.g. "wasm (2 threads)", "tensorflow (libtensorflow 2.21.0, 2 threads)" or
 * "tensorflow (libtensorflow 2.9.1, GPU)".
 */
export function describeBackend(info: BackendInfo): string {
  const parts: string[] = [];
  if (info.libVersion) parts.push(`libtensorflow ${info.libVersion}`);
  if (info.gpu) parts.push('GPU');
  else parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.gpuMissing) parts.push('tfjs-node-gpu found no GPU: computing on the CPU');
  return `${info.name} (${parts.join(', ')})`;
}

/** TensorFlow's intra-op pool size: TF_NUM_INTRAOP_THREADS when it is a positive integer, else one per core. */
export function intraOpThreads(env: string | undefined, cores = os.availableParallelism()): number {
  const n = Number(env);
  return Number.isInteger(n) && n > 0 ? n : cores;
}

/** What tfjs-node's backend object exposes about the native library (not in tfjs-core's types). */
interface NativeBackend {
  isUsingGpuDevice?: boolean;
  binding?: { TF_Version?: string };
}

/** Reads what libtensorflow really runs and on which device, from the started tensorflow backend. */
export function nativeBackendInfo(backend: unknown): { libVersion?: string; usingGpu: boolean } {
  const b = (backend ?? {}) as NativeBackend;
  return { libVersion: b.binding?.TF_Version, usingGpu: b.isUsingGpuDevice === true };
}

/** True when `pkg` (tfjs-node or tfjs-node-gpu) resolves and has a compiled tfjs_binding.node. */
function addonBuilt(pkg: string): boolean {
  try {
    const lib = path.join(path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'lib');
    return fs.readdirSync(lib).some((d) => fs.existsSync(path.join(lib, d, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

/**
 * tfjs's cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js ... install our
 * node backend" on its first use in Node. The backend choice is logged by the caller instead.
 */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

async function start(name: Concrete, opts: BackendOptions): Promise<BackendInfo> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      // TensorFlow's INFO/WARNING lines at load (CPU feature guard and the like); users can still set it.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      // TensorFlow sizes its intra-op pool from this variable when the library loads. Two jobs on two cores
      // with two threads each spin against each other; `threads` lets each job keep to its share.
      if (opts.threads) process.env.TF_NUM_INTRAOP_THREADS = String(opts.threads);
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      // A package whose addon was never built registers half its kernels before failing, and the other
      // package's kernels then collide with them: check for the addon before importing.
      if (!addonBuilt(pkg)) throw new Error(`${pkg} is not installed or its native addon is not built`);
      await import(pkg as string);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      await tf.ready();
      const native = nativeBackendInfo(tf.backend());
      return {
        name: 'tensorflow',
        threads: intraOpThreads(process.env.TF_NUM_INTRAOP_THREADS),
        gpu: native.usingGpu,
        libVersion: native.libVersion,
        ...(name === 'tensorflow-gpu' && !native.usingGpu ? { gpuMissing: true } : {}),
        extraKernels: [],
      };
    }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      const extraKernels = registerExtraKernels(); // before init too: the kernels carry their setup
      const wanted = clampThreads(opts.threads);
      let threads: number;
      try {
        threads = await startWasm(wanted);
      } catch (e) {
        if (wanted === 1) throw e;
        console.warn(`wasm with ${wanted} threads did not start (${(e as Error).message}); using 1 thread`);
        threads = await startWasm(1);
      }
      setWasmThreadsForBatchMatMul(threads);
      return { name: 'wasm', threads, gpu: false, extraKernels };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
      await tf.ready();
      return { name: 'cpu', threads: 1, gpu: false, extraKernels: [] };
    }
  }
}

const INSTALL_HINT: Record<Concrete, string> = {
  'tensorflow-gpu': 'npm install @tensorflow/tfjs-node-gpu@4.22.0 (needs CUDA)',
  tensorflow: 'npm install @tensorflow/tfjs-node@4.22.0',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm@4.22.0',
  cpu: 'reinstall @tensorflow/tfjs',
};

/**
 * Starts the fastest tfjs backend that loads here (tensorflow-gpu > tensorflow > wasm > cpu), or
 * the one asked for, and installs the extra kernels training needs. Callers log
 * describeBackend(info). Calling it again with the same arguments returns the same info; the
 * wasm thread count is fixed once wasm has started.
 */
export async function initBackend(pref: BackendPreference = 'auto', opts: BackendOptions = {}): Promise<BackendInfo> {
  if (!BACKEND_PREFERENCES.includes(pref)) {
    throw new UserError(`backend must be one of ${BACKEND_PREFERENCES.join(', ')}; got "${pref}"`);
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new UserError(`threads must be a positive integer; got ${opts.threads}`);
  }
  const key = JSON.stringify([pref, opts.threads ?? null]);
  if (current?.key === key && tf.getBackend() === current.info.name) return current.info;

  const order = pref === 'auto' ? AUTO_ORDER : [pref];
  const failures: string[] = [];
  for (const name of order) {
    try {
      const info = await start(name, opts);
      silenceNodeBanner();
      current = { key, info };
      return info;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (pref !== 'auto') {
    throw new UserError(`tfjs backend "${pref}" could not start (${failures[0]}); try: ${INSTALL_HINT[pref]}, or --backend auto`);
  }
  throw new Error(`no tfjs backend could start:\n  ${failures.join('\n  ')}`);
}
