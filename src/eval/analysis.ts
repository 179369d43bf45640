/** Error analysis of predictions against gold labels: confusion matrix, per-class scores, a regression sample. Pure functions. */

/** counts[gold][predicted]. */
export function confusionMatrix(predictions: readonly number[], labels: readonly number[], numClasses: number): number[][] {
  if (predictions.length !== labels.length) throw new Error(`confusionMatrix: ${predictions.length} predictions, ${labels.length} labels`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const g = labels[i];
    const p = predictions[i];
    if (!(g >= 0 && g < numClasses && p >= 0 && p < numClasses)) throw new Error(`confusionMatrix: class id out of range at ${i} (gold ${g}, predicted ${p})`);
    m[g][p]++;
  }
  return m;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Gold examples of the class. */
  support: number;
}

/** Per-class precision, recall and F1 from a confusion matrix (0 where undefined, as sklearn's zero_division=0). */
export function perClassScores(confusion: readonly (readonly number[])[]): ClassScores[] {
  return confusion.map((row, c) => {
    const tp = row[c];
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + r[c], 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision, recall, f1, support };
  });
}

/** Up to `max` (gold, predicted) pairs, evenly spaced through the split (deterministic). */
export function regressionSample(predicted: readonly number[], gold: readonly number[], max: number): { gold: number[]; predicted: number[] } {
  const n = Math.min(predicted.length, gold.length);
  const k = Math.min(n, max);
  const out = { gold: [] as number[], predicted: [] as number[] };
  for (let j = 0; j < k; j++) {
    const i = Math.floor((j * n) / k);
    out.gold.push(gold[i]);
    out.predicted.push(predicted[i]);
  }
  return out;
}
