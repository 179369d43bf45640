/**
 * From a model's config.json and logits to labels and probabilities: no file I/O and no runtime, so the
 * CLI (classifier.ts, predict.ts) and the web playground read labels and score rows the same way.
 */
import { collate, planBatches } from '../data/batching.ts';
import type { Encoded } from '../data/types.ts';
import { UserError } from '../util/errors.ts';

/** Label names and output count from a Hugging Face config.json. */
export function labelsOfConfig(config: Record<string, unknown>, where: string): { numOutputs: number; regression: boolean; labelNames: string[] } {
  const id2label = (config.id2label ?? {}) as Record<string, unknown>;
  const numOutputs = typeof config.num_labels === 'number' ? config.num_labels : Object.keys(id2label).length || 2;
  if (!Number.isInteger(numOutputs) || numOutputs < 1) throw new UserError(`${where}: num_labels must be a positive integer, got ${JSON.stringify(config.num_labels)}`);
  const regression = config.problem_type === 'regression' || numOutputs === 1;
  const labelNames = regression ? [] : Array.from({ length: numOutputs }, (_, i) => String(id2label[String(i)] ?? `LABEL_${i}`));
  return { numOutputs, regression, labelNames };
}

/** Runs `encoded` through `run` in length-sorted batches and writes each row's logits back in input order. */
export async function batchedLogits(
  encoded: readonly Encoded[],
  numOutputs: number,
  batchSize: number,
  padId: number,
  run: (batch: ReturnType<typeof collate>) => Promise<Float32Array>,
): Promise<Float32Array> {
  const out = new Float32Array(encoded.length * numOutputs);
  if (encoded.length === 0) return out;
  const plan = planBatches(encoded.map((e) => e.inputIds.length), { batchSize, shuffle: false, seed: 0, bucketSize: 1 << 20 });
  for (const rows of plan) {
    const data = await run(collate(encoded as Encoded[], rows, undefined, padId));
    if (data.length !== rows.length * numOutputs) {
      throw new UserError(`the model returned ${data.length} logits for ${rows.length} examples; config.json implies ${numOutputs} per example`);
    }
    rows.forEach((i, b) => out.set(data.subarray(b * numOutputs, (b + 1) * numOutputs), i * numOutputs));
  }
  return out;
}

export interface Prediction {
  id?: string;
  /** Classification: the argmax class's name (config.json id2label), its id and every class's probability. */
  label?: string;
  labelId?: number;
  probs?: number[];
  /** Regression: the predicted value. */
  value?: number;
}

/** One row of logits → a Prediction. */
export function toPrediction(model: { regression: boolean; labelNames: readonly string[] }, row: ArrayLike<number>, id?: string): Prediction {
  if (model.regression) return { id, value: row[0] };
  const labelId = argmax(row);
  return { id, label: model.labelNames[labelId], labelId, probs: softmax(row) };
}

export function softmax(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}
