/**
 * GLUE metrics as pure functions over plain arrays, all as fractions in [0, 1] (or [-1, 1] for
 * correlations). They follow scikit-learn / SciPy, except where those return NaN: a correlation
 * with a constant side is 0 here (no linear relation can be measured), so a degenerate model
 * scores 0 instead of poisoning averages with NaN.
 */
import type { MetricName, TaskSpec } from '../data/types.ts';

type Numbers = ArrayLike<number>;

function checkPair(name: string, a: Numbers, b: Numbers): void {
  if (a.length !== b.length) throw new Error(`${name}: predictions (${a.length}) and labels (${b.length}) differ in length`);
  if (a.length === 0) throw new Error(`${name}: no examples to score (empty input)`);
}

export function accuracy(predictions: Numbers, labels: Numbers): number {
  checkPair('accuracy', predictions, labels);
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) hits++;
  return hits / labels.length;
}

/** Binary F1 of the positive class 1; 0 when there are no true positives (sklearn zero_division=0). */
export function f1(predictions: Numbers, labels: Numbers): number {
  checkPair('f1', predictions, labels);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predictions[i] === 1;
    const l = labels[i] === 1;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Matthews correlation coefficient, multi-class form (Gorodkin's R_K, as sklearn computes it):
 * (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)), and 0 when either factor is 0
 * (all labels or all predictions in one class).
 */
export function mcc(predictions: Numbers, labels: Numbers): number {
  checkPair('mcc', predictions, labels);
  const predCount = new Map<number, number>();
  const trueCount = new Map<number, number>();
  let correct = 0;
  const s = labels.length;
  for (let i = 0; i < s; i++) {
    predCount.set(predictions[i], (predCount.get(predictions[i]) ?? 0) + 1);
    trueCount.set(labels[i], (trueCount.get(labels[i]) ?? 0) + 1);
    if (predictions[i] === labels[i]) correct++;
  }
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, p] of predCount) {
    pt += p * (trueCount.get(k) ?? 0);
    pp += p * p;
  }
  for (const t of trueCount.values()) tt += t * t;
  const denom = Math.sqrt((s * s - pp) * (s * s - tt));
  return denom === 0 ? 0 : (correct * s - pt) / denom;
}

/** Whether every value is a finite number (a diverged model predicts NaN / Infinity). */
function allFinite(v: Numbers): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

/**
 * Pearson correlation; 0 when either side is constant (SciPy gives NaN there). NaN when any value
 * is not finite: a diverged model has no score (never a perfect one), and callers treat NaN as a failure.
 */
export function pearson(x: Numbers, y: Numbers): number {
  checkPair('pearson', x, y);
  if (!allFinite(x) || !allFinite(y)) return NaN;
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return 0;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** 1-based ranks; tied values share the average of the ranks they span. */
export function averageRanks(values: Numbers): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman rank correlation: Pearson of the average ranks (ties handled as SciPy does). */
export function spearman(x: Numbers, y: Numbers): number {
  checkPair('spearman', x, y);
  // Ranks of NaN are arbitrary (sort comparisons fail): an all-NaN model would rank "perfectly".
  if (!allFinite(x) || !allFinite(y)) return NaN;
  return pearson(averageRanks(x), averageRanks(y));
}

export const METRICS = { accuracy, f1, mcc, pearson, spearman } as const satisfies Record<MetricName, (p: Numbers, l: Numbers) => number>;

/**
 * The task's metrics by name. Classification: `predictions` are class ids; regression (labels
 * null): scores. Class ids outside the task's labels are an error, not silently wrong answers.
 */
export function computeTaskMetrics(task: TaskSpec, predictions: Numbers, labels: Numbers): Record<string, number> {
  checkPair(`${task.name} metrics`, predictions, labels);
  if (task.labels) {
    const k = task.labels.length;
    for (const [what, arr] of [['prediction', predictions], ['label', labels]] as const) {
      for (let i = 0; i < arr.length; i++) {
        if (!Number.isInteger(arr[i]) || arr[i] < 0 || arr[i] >= k) {
          throw new Error(`${task.name}: ${what} ${arr[i]} at row ${i} is not a class id in [0, ${k})`);
        }
      }
    }
  }
  const out: Record<string, number> = {};
  for (const m of task.metrics) out[m] = METRICS[m](predictions, labels);
  return out;
}

/**
 * GLUE score: the mean of each entry's metrics, then the mean over entries. Entries are whatever
 * the caller lists; TinyBERT's tables list MNLI twice ("mnli-m" and "mnli-mm", matched and
 * mismatched dev sets) and leave WNLI out, so their 9-column average is reproduced by passing
 * those keys. Scale follows the input (fractions in, fraction out).
 */
export function glueScore(results: Record<string, Record<string, number>>): number {
  const entries = Object.entries(results);
  if (entries.length === 0) throw new Error('glueScore: no task results');
  let total = 0;
  for (const [task, metrics] of entries) {
    const values = Object.values(metrics);
    if (values.length === 0) throw new Error(`glueScore: task ${task} has no metrics`);
    total += values.reduce((a, b) => a + b, 0) / values.length;
  }
  return total / entries.length;
}
