/**
 * Measurements for the teacher-vs-student table, taken the same way for both: each model is an
 * ONNX folder run by onnxruntime (the teacher's folder, the exported student), scored on the dev
 * split with the task's metrics, timed at fixed batch sizes, and sized on disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collate, encodeExamples, planBatches } from '../data/batching.ts';
import type { Encoded, Example, TaskSpec } from '../data/types.ts';
import { argmax } from '../eval/prediction.ts';
import { computeTaskMetrics } from '../metrics/metrics.ts';
import { loadModelProto, tensorDims } from '../onnx/proto.ts';
import { findOnnxFile } from '../teacher/folder.ts';
import { Teacher } from '../teacher/teacher.ts';
import { UserError } from '../util/errors.ts';

export interface OnnxRunOptions {
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  notice?: (message: string) => void;
}

/** An ONNX classifier folder opened for logits only (no graph surgery, nothing written). */
export async function openOnnxClassifier(folder: string, opts: OnnxRunOptions = {}): Promise<Teacher> {
  return Teacher.load(folder, {
    hiddenLayers: [],
    attentionLayers: [],
    attention: 'none',
    provider: opts.provider,
    intraOpThreads: opts.threads,
    notice: opts.notice ?? (() => {}),
  });
}

/** Parameters (elements of float initializers) and bytes on disk of a folder's ONNX model (+ external data). */
export function onnxModelStats(folder: string, onnxFile?: string): { params: number; sizeBytes: number; file: string } {
  const file = onnxFile ?? findOnnxFile(folder);
  const model = loadModelProto(file);
  let params = 0;
  const external = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    // 1 FLOAT, 10 FLOAT16, 16 BFLOAT16: weights; integer initializers are shapes and indices.
    if (t.dataType === 1 || t.dataType === 10 || t.dataType === 16) params += tensorDims(t).reduce((a, b) => a * b, 1);
    for (const e of t.externalData ?? []) if (e.key === 'location' && e.value) external.add(e.value);
  }
  let sizeBytes = fs.statSync(file).size;
  for (const f of external) sizeBytes += fs.statSync(path.join(path.dirname(file), f)).size;
  return { params, sizeBytes, file };
}

/** Dev metrics of an ONNX classifier on labeled examples (batched by length, results back in order). */
export async function scoreOnnx(
  model: Teacher,
  task: TaskSpec,
  examples: Example[],
  maxLength: number,
  batchSize = 64,
): Promise<{ metrics: Record<string, number>; predictions: number[] }> {
  const labels = examples.map((e) => e.label);
  if (labels.some((l) => l === undefined)) throw new UserError(`task ${task.name}: the split has unlabeled rows; it cannot be scored`);
  const tok = model.folder.tokenizer;
  const encoded = encodeExamples(tok, examples, maxLength);
  const numLabels = task.labels ? task.labels.length : 1;
  const predictions = new Array<number>(examples.length);
  const plan = planBatches(encoded.map((e) => e.inputIds.length), { batchSize, shuffle: false, seed: 0, bucketSize: 1 << 20 });
  for (const rows of plan) {
    const out = await model.run(collate(encoded, rows, undefined, tok.padId), { logitsOnly: true });
    const logits = out.logits;
    if (!logits || logits.dims[1] !== numLabels) {
      throw new UserError(`${model.folder.onnxPath}: logits have shape [${logits?.dims ?? ''}], task ${task.name} needs ${numLabels} outputs per example`);
    }
    rows.forEach((i, b) => {
      const row = logits.data.subarray(b * numLabels, (b + 1) * numLabels);
      predictions[i] = task.labels ? argmax(row) : row[0];
    });
  }
  return { metrics: computeTaskMetrics(task, predictions, labels as number[]), predictions };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Median wall time (ms) of one forward pass at each batch size, over the first examples of
 * `encoded` (cycled when there are fewer), after two warm-up runs.
 */
export async function latencyMs(model: Teacher, encoded: Encoded[], batchSizes: readonly number[], runs: number): Promise<Record<number, number>> {
  if (encoded.length === 0) throw new UserError('latency: no examples to time');
  const out: Record<number, number> = {};
  for (const b of batchSizes) {
    const rows = Array.from({ length: b }, (_, i) => i % encoded.length);
    const batch = collate(encoded, rows, undefined, model.folder.tokenizer.padId);
    const times: number[] = [];
    for (let r = 0; r < runs + 2; r++) {
      const t0 = performance.now();
      await model.run(batch, { logitsOnly: true });
      if (r >= 2) times.push(performance.now() - t0);
    }
    out[b] = median(times);
  }
  return out;
}
