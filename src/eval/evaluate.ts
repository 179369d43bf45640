import * as tf from '@tensorflow/tfjs';
import { collate, planBatches } from '../data/batching.ts';
import type { Encoded, TaskSpec } from '../data/types.ts';
import { computeTaskMetrics } from '../metrics/metrics.ts';
import { argmax } from './prediction.ts';
import type { Student } from '../student/model.ts';
import { UserError } from '../util/errors.ts';

/** Scores a student on an encoded split with the task's metrics (the trainer's dev evaluation and the CLI's `eval`). */
export interface EvalResult {
  /** Empty when the split has no labels. */
  metrics: Record<string, number>;
  /** Class id (argmax) or regression value, in input order. */
  predictions: number[];
  /** Raw logits per example, in input order. */
  logits: Float32Array[];
}

/** The metric that picks the best checkpoint: the task's first (official) one. */
export function selectionMetric(task: TaskSpec): string {
  const m = task.metrics[0];
  if (!m) throw new UserError(`task ${task.name}: "metrics" is empty; at least one metric is needed to select checkpoints`);
  return m;
}

export function evaluateStudent(
  student: Student,
  encoded: Encoded[],
  labels: (number | undefined)[] | undefined,
  task: TaskSpec,
  batchSize = 32,
): EvalResult {
  if (labels && labels.length !== encoded.length) {
    throw new UserError(`evaluation: ${encoded.length} encoded examples but ${labels.length} labels`);
  }
  const regression = task.labels === null;
  const numOut = student.config.num_labels;
  if (!regression && task.labels && task.labels.length !== numOut) {
    throw new UserError(`evaluation: task ${task.name} has ${task.labels.length} labels, the student's config num_labels is ${numOut}`);
  }
  const predictions = new Array<number>(encoded.length);
  const logits = new Array<Float32Array>(encoded.length);
  // Sorted into length buckets (no shuffling) so padding stays small; results go back by index.
  const plan = planBatches(encoded.map((e) => e.inputIds.length), { batchSize, shuffle: false, seed: 0, bucketSize: 1 << 20 });
  for (const rows of plan) {
    const batch = collate(encoded, rows);
    const out = tf.tidy(() => {
      const shape: [number, number] = [batch.size, batch.seqLen];
      const f = student.forward(
        {
          inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
          attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'),
          tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32'),
        },
        { training: false },
      );
      return f.logits;
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    rows.forEach((i, b) => {
      const row = data.slice(b * numOut, (b + 1) * numOut);
      logits[i] = row;
      predictions[i] = regression ? row[0] : argmax(row);
    });
  }
  const labeled = labels !== undefined && labels.every((l) => l !== undefined);
  const metrics = labeled ? computeTaskMetrics(task, predictions, labels as number[]) : {};
  return { metrics, predictions, logits };
}
