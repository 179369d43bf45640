/**
 * Predictions for new text: label names and class probabilities (regression: the value) from any model
 * folder, batched. `predictTexts` is the library entry point; the CLI streams through `predictRows`.
 */
import type { Encoded } from '../data/types.ts';
import { openClassifier, resolveMaxLength, type Classifier, type ClassifierOptions } from './classifier.ts';
import { toPrediction, type Prediction } from './prediction.ts';

export { toPrediction, type Prediction } from './prediction.ts';

export interface PredictInput {
  /** Carried to the output unchanged (a file's id column, else the row number). */
  id?: string;
  textA: string;
  textB?: string;
}

export interface PredictOptions {
  /** Tokens per example, special tokens included (default and maximum: the model's max_position_embeddings). */
  maxLength?: number;
  batchSize?: number;
}

/** Predicts a chunk of rows with an open model (inputs longer than maxLength are truncated, longest first). */
export async function predictRows(model: Classifier, rows: readonly PredictInput[], o: PredictOptions = {}): Promise<Prediction[]> {
  const maxLength = resolveMaxLength(model, o.maxLength);
  const encoded: Encoded[] = rows.map((r) => model.tokenizer.encode(r.textA, r.textB, maxLength));
  const logits = await model.logits(encoded, o.batchSize ?? 32);
  const n = model.numOutputs;
  return rows.map((r, i) => toPrediction(model, logits.subarray(i * n, (i + 1) * n), r.id));
}

/**
 * Opens `modelDir` (an ONNX folder, fp32 or with `quantized` int8, or a saved student folder), predicts
 * `texts` (strings or text pairs) and releases the model.
 */
export async function predictTexts(
  modelDir: string,
  texts: readonly (string | PredictInput)[],
  o: PredictOptions & ClassifierOptions = {},
): Promise<Prediction[]> {
  const model = await openClassifier(modelDir, o);
  try {
    return await predictRows(model, texts.map((t, i) => (typeof t === 'string' ? { id: String(i), textA: t } : t)), o);
  } finally {
    await model.dispose();
  }
}

/** Output columns: id, label and one probability per class; regression: id and value. */
export function predictionTsvHeader(model: Pick<Classifier, 'regression' | 'labelNames'>): string {
  return (model.regression ? ['id', 'value'] : ['id', 'label', ...model.labelNames.map((l) => `p_${l}`)]).join('\t') + '\n';
}

const fmt = (x: number) => Number(x.toPrecision(6)).toString();

export function predictionTsvLine(p: Prediction): string {
  const id = (p.id ?? '').replace(/[\t\n\r]/g, ' ');
  if (p.value !== undefined) return `${id}\t${fmt(p.value)}\n`;
  return [id, p.label ?? '', ...(p.probs ?? []).map(fmt)].join('\t') + '\n';
}

export function predictionJsonLine(model: Pick<Classifier, 'labelNames'>, p: Prediction): string {
  if (p.value !== undefined) return JSON.stringify({ id: p.id, value: Number(fmt(p.value)) }) + '\n';
  const probs = Object.fromEntries((p.probs ?? []).map((v, i) => [model.labelNames[i], Number(fmt(v))]));
  return JSON.stringify({ id: p.id, label: p.label, probs }) + '\n';
}
