/**
 * A Hugging Face ONNX folder (an exported student or a teacher) run by onnxruntime-web: the same
 * tokenizer code, label names and length-bucketed batching as the CLI (src/data, src/eval/prediction).
 */
import * as ort from 'onnxruntime-web';
import { parseJsonObject, tokenizerFromJson, type BertTokenizer } from '../../src/data/bert-tokenizer.ts';
import type { Batch, Encoded } from '../../src/data/types.ts';
import { batchedLogits, labelsOfConfig } from '../../src/eval/prediction.ts';
import { UserError } from '../../src/util/errors.ts';
import { has, readBytes, readText, type PickedFolder } from './folder.ts';
import { wasmRuntime, type Runtime } from './runtime.ts';

export type Precision = 'fp32' | 'int8';

export interface AttentionMap {
  heads: number;
  /** Tokens (rows = queries, columns = keys). */
  length: number;
  /** [heads, length, length] probabilities. */
  data: Float32Array;
}

export interface BrowserModel {
  /** e.g. "student-onnx/onnx/model.onnx". */
  file: string;
  sizeBytes: number;
  tokenizer: BertTokenizer;
  labelNames: string[];
  regression: boolean;
  numOutputs: number;
  maxPositions: number;
  runtime: Runtime;
  /** Layers with an `attentions.{i}` output (an export with --with-intermediates), 0 when none. */
  attentionLayers: number;
  /** Logits [n × numOutputs] in input order, batched by length as `distill eval` batches. */
  logits(encoded: readonly Encoded[], batchSize?: number): Promise<Float32Array>;
  /** Attention probabilities of one example at one layer. */
  attention(encoded: Encoded, layer: number): Promise<AttentionMap>;
  /** Median wall time of `runs` single-example runs, after one warm-up run. */
  latencyMs(encoded: Encoded, runs?: number): Promise<number>;
  release(): Promise<void>;
}

/** Where the ONNX file is: onnx/model.onnx (or onnx/model_quantized.onnx for int8), else model.onnx. */
export function onnxFileOf(folder: PickedFolder, precision: Precision): string {
  if (precision === 'int8') {
    if (has(folder, 'onnx/model_quantized.onnx')) return 'onnx/model_quantized.onnx';
    throw new UserError(`${folder.name} has no int8 model (onnx/model_quantized.onnx); export with --quantize to write one`);
  }
  for (const f of ['onnx/model.onnx', 'model.onnx']) if (has(folder, f)) return f;
  throw new UserError(`${folder.name} is not an ONNX model folder: expected onnx/model.onnx or model.onnx`);
}

export type FeedMaker = (batch: Batch) => ort.Tensor;

/** One feed per graph input, typed as the graph declares (int64 unless it says int32). */
export function feedMakers(session: ort.InferenceSession, where: string): Map<string, FeedMaker> {
  const sources: Record<string, (b: Batch) => Int32Array> = {
    input_ids: (b) => b.inputIds,
    attention_mask: (b) => b.attentionMask,
    token_type_ids: (b) => b.tokenTypeIds,
  };
  const types = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : undefined]));
  const out = new Map<string, FeedMaker>();
  for (const name of session.inputNames) {
    const source = sources[name];
    if (!source) throw new UserError(`${where}: input "${name}" is not one this page can feed (expected input_ids, attention_mask, token_type_ids)`);
    const type = types.get(name) ?? 'int64';
    if (type !== 'int64' && type !== 'int32') throw new UserError(`${where}: input "${name}" is ${type}; expected int64 or int32`);
    out.set(name, (b) => {
      const dims = [b.size, b.seqLen];
      const data = source(b);
      return type === 'int32' ? new ort.Tensor('int32', Int32Array.from(data), dims) : new ort.Tensor('int64', BigInt64Array.from(data, (v) => BigInt(v)), dims);
    });
  }
  if (!out.has('input_ids')) throw new UserError(`${where}: the graph has no input_ids input`);
  return out;
}

function logitsName(session: ort.InferenceSession, where: string): string {
  if (session.outputNames.includes('logits')) return 'logits';
  if (session.outputNames.length === 1) return session.outputNames[0];
  throw new UserError(`${where}: no output named "logits" among [${session.outputNames.join(', ')}]`);
}

/** A batch of one example, no padding. */
function single(e: Encoded): Batch {
  const n = e.inputIds.length;
  return {
    size: 1, seqLen: n, inputIds: Int32Array.from(e.inputIds), attentionMask: new Int32Array(n).fill(1),
    tokenTypeIds: Int32Array.from(e.tokenTypeIds), lengths: [n], indices: [0],
  };
}

/** A session on one provider; a refusal names the file and the provider. */
export async function createSession(bytes: Uint8Array, where: string, provider: Runtime['provider']): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new UserError(`${where}: onnxruntime-web (${provider}) cannot load it: ${(e as Error).message}`);
  }
}

export async function openBrowserModel(folder: PickedFolder, precision: Precision, chosen: Runtime): Promise<BrowserModel> {
  const configText = await readText(folder, 'config.json');
  const config = parseJsonObject(configText, `${folder.name}/config.json`, 'the model config');
  const { numOutputs, regression, labelNames } = labelsOfConfig(config, `${folder.name}/config.json`);
  if (!has(folder, 'tokenizer.json')) {
    throw new UserError(`${folder.name}: no tokenizer.json (the page reads tokenizer.json; the CLI's export writes one)`);
  }
  const tokenizerJson = parseJsonObject(await readText(folder, 'tokenizer.json'), `${folder.name}/tokenizer.json`, 'tokenizer.json');
  const tokenizerConfig = has(folder, 'tokenizer_config.json')
    ? parseJsonObject(await readText(folder, 'tokenizer_config.json'), `${folder.name}/tokenizer_config.json`, 'tokenizer_config.json')
    : null;
  const tokenizer = tokenizerFromJson(tokenizerJson, tokenizerConfig, `${folder.name}/tokenizer.json`);
  const onnxFile = onnxFileOf(folder, precision);
  const where = `${folder.name}/${onnxFile}`;
  const bytes = await readBytes(folder, onnxFile);
  // WebGPU can have an adapter and still fail on a kernel this graph needs (SwiftShader's Gather, some
  // drivers): the model then moves to wasm once, says why, and the page shows what actually runs.
  let runtime = chosen;
  const fallBack = async (e: unknown): Promise<void> => {
    await session?.release().catch(() => undefined);
    runtime = wasmRuntime(`WebGPU failed on this model (${String((e as Error)?.message ?? e).split('\n')[0]}): running on wasm`);
    session = await createSession(bytes, where, 'wasm');
  };
  let session: ort.InferenceSession | undefined;
  try {
    session = await createSession(bytes, where, runtime.provider);
  } catch (e) {
    if (runtime.provider !== 'webgpu') throw e;
    await fallBack(e);
  }
  const feeds = feedMakers(session!, where);
  const logitsOut = logitsName(session!, where);
  let attentionLayers = 0;
  while (session!.outputNames.includes(`attentions.${attentionLayers}`)) attentionLayers++;
  const feed = (b: Batch) => Object.fromEntries([...feeds].map(([name, make]) => [name, make(b)]));
  const run = async (b: Batch, name: string): Promise<ort.Tensor> => {
    try {
      return (await session!.run(feed(b), [name]))[name];
    } catch (e) {
      if (runtime.provider !== 'webgpu') throw e;
      await fallBack(e);
      return (await session!.run(feed(b), [name]))[name];
    }
  };
  const runLogits = async (b: Batch): Promise<Float32Array> => {
    const t = await run(b, logitsOut);
    const data = (await t.getData()) as Float32Array;
    t.dispose();
    return data;
  };
  // One padded batch at open time, so a failing provider is found before the first sentence.
  const maxPositions = Number(config.max_position_embeddings) || 512;
  const probe = [tokenizer.encode('a', undefined, maxPositions), tokenizer.encode('a b c', undefined, maxPositions)];
  await batchedLogits(probe, numOutputs, 2, tokenizer.padId, runLogits);
  return {
    file: where,
    sizeBytes: bytes.byteLength,
    tokenizer,
    labelNames,
    regression,
    numOutputs,
    maxPositions,
    get runtime() {
      return runtime;
    },
    attentionLayers,
    logits: (encoded, batchSize = 32) => batchedLogits(encoded, numOutputs, batchSize, tokenizer.padId, runLogits),
    async attention(encoded, layer) {
      if (layer < 0 || layer >= attentionLayers) throw new UserError(`${where}: no attentions.${layer} output (${attentionLayers} layers have one)`);
      const name = `attentions.${layer}`;
      const t = await run(single(encoded), name);
      const data = (await t.getData()) as Float32Array;
      const [, heads, length] = t.dims;
      t.dispose();
      return { heads, length, data };
    },
    async latencyMs(encoded, runs = 10) {
      const b = single(encoded);
      await runLogits(b);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await runLogits(b);
        times.push(performance.now() - t0);
      }
      times.sort((x, y) => x - y);
      return times[Math.floor(times.length / 2)];
    },
    release: () => session!.release(),
  };
}
