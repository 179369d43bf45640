/**
 * The project's only door to onnxruntime-node: a thin session wrapper that takes plain typed
 * arrays and returns Float32Arrays, picks CUDA when its provider library is installed (else CPU
 * with a one-line notice) and records which provider actually ran.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../util/errors.ts';
import { decodeFloat16 } from '../onnx/float16.ts';

export type ProviderPreference = 'auto' | 'cuda' | 'cpu';
export type ProviderName = 'cuda' | 'cpu';

export interface SessionOptions {
  /** 'auto' (default): CUDA when available, else CPU with a notice. 'cuda' fails if CUDA cannot start. */
  provider?: ProviderPreference;
  /** GPU for the CUDA provider (default 0; CUDA_VISIBLE_DEVICES also works). */
  cudaDeviceId?: number;
  /** Threads for one operator; 0 or absent lets onnxruntime choose. */
  intraOpThreads?: number;
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Where one-line notices go (default: stderr). */
  notice?: (message: string) => void;
}

export interface TensorFeed {
  data: ArrayLike<number> | BigInt64Array;
  dims: number[];
  type: 'int64' | 'int32' | 'float32';
}

export interface OutputTensor {
  /** The values as float32 (float16 outputs are decoded on first access). */
  readonly data: Float32Array;
  dims: number[];
  /** For float16 outputs: the raw half-precision bits, for callers that store them as they are. */
  float16Bits?: Uint16Array;
}

export interface OnnxSession {
  provider: ProviderName;
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Runs the model; `outputs` limits which outputs are computed and returned (default: all). */
  run(feeds: Record<string, TensorFeed>, outputs?: readonly string[]): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
}

/** True when the CUDA provider library was installed next to the binding (ONNXRUNTIME_NODE_INSTALL=cuda12). */
export function cudaProviderInstalled(): boolean {
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    const dir = path.join(path.dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(path.join(dir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

function toOrtTensor(name: string, feed: TensorFeed): ort.Tensor {
  const size = feed.dims.reduce((a, b) => a * b, 1);
  if (feed.data.length !== size) {
    throw new UserError(`input ${name}: ${feed.data.length} values for shape [${feed.dims.join(', ')}]`);
  }
  if (feed.type === 'int64') {
    let data: BigInt64Array;
    if (feed.data instanceof BigInt64Array) data = feed.data;
    else {
      data = new BigInt64Array(size);
      for (let i = 0; i < size; i++) data[i] = BigInt((feed.data as ArrayLike<number>)[i]);
    }
    return new ort.Tensor('int64', data, feed.dims);
  }
  if (feed.type === 'int32') return new ort.Tensor('int32', Int32Array.from(feed.data as ArrayLike<number>), feed.dims);
  const f = feed.data instanceof Float32Array ? feed.data : Float32Array.from(feed.data as ArrayLike<number>);
  return new ort.Tensor('float32', f, feed.dims);
}

function toOutput(name: string, t: ort.Tensor): OutputTensor {
  const dims = [...t.dims];
  const d = t.data;
  if (t.type === 'float16' && d instanceof Uint16Array) {
    let decoded: Float32Array | undefined;
    return {
      dims,
      float16Bits: d,
      get data() {
        return (decoded ??= decodeFloat16(d));
      },
    };
  }
  return { data: toFloat32(name, t), dims };
}

function toFloat32(name: string, t: ort.Tensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof BigInt64Array) return Float32Array.from(d, (v) => Number(v));
  if (ArrayBuffer.isView(d)) return Float32Array.from(d as unknown as ArrayLike<number>);
  throw new Error(`output ${name} has type ${t.type}, which cannot be read as numbers`);
}

async function createWith(model: string | Uint8Array, providers: ProviderName[], opts: SessionOptions): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: providers.map((p) => (p === 'cuda' ? { name: 'cuda', deviceId: opts.cudaDeviceId ?? 0 } : p)),
    graphOptimizationLevel: opts.graphOptimization ?? 'all',
    intraOpNumThreads: opts.intraOpThreads ?? 0,
    logSeverityLevel: 3,
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

export async function createSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<OnnxSession> {
  const pref = opts.provider ?? 'auto';
  const notice = opts.notice ?? ((m: string) => process.stderr.write(m + '\n'));
  const what = typeof model === 'string' ? `ONNX model ${model}` : 'ONNX model';
  let session: ort.InferenceSession | undefined;
  let provider: ProviderName = 'cpu';
  if (pref !== 'cpu') {
    if (cudaProviderInstalled()) {
      try {
        session = await createWith(model, ['cuda', 'cpu'], opts);
        provider = 'cuda';
      } catch (e) {
        if (pref === 'cuda') throw new UserError(`the CUDA execution provider failed to start: ${(e as Error).message}`);
        notice(`CUDA provider failed to start (${(e as Error).message.split('\n')[0]}); running the teacher on CPU`);
      }
    } else if (pref === 'cuda') {
      throw new UserError('the CUDA execution provider is not installed: run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` on a machine with CUDA 12');
    } else {
      notice('onnxruntime CUDA provider not installed; running the teacher on CPU');
    }
  }
  if (!session) {
    try {
      session = await createWith(model, ['cpu'], opts);
    } catch (e) {
      throw new UserError(`onnxruntime could not load ${what}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const s = session;
  return {
    provider,
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds, outputs) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, feed] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(name, feed);
      const result = outputs ? await s.run(ortFeeds, outputs as string[]) : await s.run(ortFeeds);
      const out: Record<string, OutputTensor> = {};
      for (const [name, t] of Object.entries(result)) {
        out[name] = toOutput(name, t);
      }
      return out;
    },
    release: () => s.release(),
  };
}
