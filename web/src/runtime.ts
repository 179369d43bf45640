/**
 * Which onnxruntime-web execution provider runs the models: WebGPU when the browser has an adapter, wasm
 * otherwise (or when asked), with as many wasm threads as a cross-origin-isolated page allows.
 */
import * as ort from 'onnxruntime-web';

export type ProviderChoice = 'auto' | 'webgpu' | 'wasm';
export type Provider = 'webgpu' | 'wasm';

export interface Runtime {
  provider: Provider;
  /** What the page shows, e.g. "onnxruntime-web webgpu (google swiftshader)" or "onnxruntime-web wasm (4 threads)". */
  description: string;
  /** Why this provider, when it is not the one asked for. */
  note?: string;
}

/** The WebGPU adapter, or why there is none. */
export async function webgpuAdapter(): Promise<{ adapter?: GPUAdapter; why?: string }> {
  const gpu = (navigator as Partial<Navigator>).gpu;
  if (!gpu) return { why: 'this browser has no WebGPU (navigator.gpu)' };
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? { adapter } : { why: 'WebGPU found no adapter' };
  } catch (e) {
    return { why: `WebGPU adapter request failed: ${(e as Error).message}` };
  }
}

/** GPUAdapter.info (Chrome 114+; older TypeScript DOM types lack it). */
type AdapterInfo = { vendor?: string; architecture?: string; description?: string };

export function adapterName(a: GPUAdapter): string {
  const i = (a as GPUAdapter & { info?: AdapterInfo }).info;
  return [i?.vendor, i?.architecture, i?.description].filter((x) => x).join(' ') || 'unknown adapter';
}

/** wasm threads: several only in a cross-origin-isolated page (SharedArrayBuffer), at most 4. */
export function wasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

let configured = false;

/** The wasm runtime, with why it was chosen when another was asked for. */
export function wasmRuntime(note?: string): Runtime {
  const n = ort.env.wasm.numThreads ?? 1;
  return { provider: 'wasm', description: `onnxruntime-web wasm (${n} thread${n === 1 ? '' : 's'})`, note };
}

export async function chooseRuntime(choice: ProviderChoice): Promise<Runtime> {
  if (!configured) {
    ort.env.wasm.numThreads = wasmThreads();
    configured = true;
  }
  const wasm = wasmRuntime;
  if (choice === 'wasm') return wasm();
  const { adapter, why } = await webgpuAdapter();
  if (!adapter) {
    if (choice === 'webgpu') return wasm(`WebGPU asked for, but ${why}: running on wasm`);
    return wasm(why);
  }
  return { provider: 'webgpu', description: `onnxruntime-web webgpu (${adapterName(adapter)})` };
}
