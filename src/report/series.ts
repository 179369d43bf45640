/** Turns the trainer's JSONL log records into chart series. */
import type { LogRecord } from '../train/log.ts';
import type { Series } from './chart.ts';
import type { Point } from './svg.ts';

/** Stage names in the order the log first mentions them. */
export function stagesInOrder(log: readonly LogRecord[]): string[] {
  const seen: string[] = [];
  for (const r of log) if (!seen.includes(r.stage)) seen.push(r.stage);
  return seen;
}

/**
 * Exponential smoothing with bias correction (as TensorBoard draws noisy scalars): s_t = w·s_{t−1} + (1−w)·v_t,
 * divided by 1 − w^t so the first points are not pulled towards 0.
 */
export function smoothPoints(points: readonly Point[], weight: number): Point[] {
  if (!(weight >= 0 && weight < 1)) throw new Error(`smoothPoints: weight must be in [0, 1), got ${weight}`);
  let acc = 0;
  let t = 0;
  return points.map(([x, v]) => {
    t++;
    acc = weight * acc + (1 - weight) * v;
    return [x, acc / (1 - weight ** t)] as const;
  });
}

/**
 * Smoothing weight that averages over about 1/50 of the curve, and over at least 10 points: a short run's
 * per-step noise would otherwise survive the smoothing (at most 0.99).
 */
export function smoothingWeight(n: number): number {
  const window = Math.max(10, n / 50);
  return Math.min(0.99, 1 - 1 / window);
}

/** Each series twice: the raw values faint, the smoothed curve on top in the same colour. */
export function withSmoothed(series: readonly Series[], palette: readonly string[]): Series[] {
  return series.flatMap((s, i) => {
    const color = palette[i % palette.length];
    return [
      { name: `${s.name} (raw)`, points: s.points, faint: true, color },
      { name: s.name, points: smoothPoints(s.points, smoothingWeight(s.points.length)), color },
    ];
  });
}

/** Learning rate and (when clipping logs it) the gradient norm before clipping, over the global step. */
export function optimizerSeries(log: readonly LogRecord[]): { lr: Series[]; gradNorm: Series[] } {
  const lr: Point[] = [];
  const grad: Point[] = [];
  for (const r of log) {
    if (r.type !== 'step') continue;
    lr.push([r.step, r.lr]);
    if (r.gradNorm !== undefined) grad.push([r.step, r.gradNorm]);
  }
  return { lr: lr.length ? [{ name: 'learning rate', points: lr }] : [], gradNorm: grad.length ? [{ name: 'grad norm', points: grad }] : [] };
}

/** Per stage: the weighted total and every unweighted loss term, over the global step. */
export function lossSeriesByStage(log: readonly LogRecord[]): { stage: string; series: Series[] }[] {
  return stagesInOrder(log)
    .map((stage) => {
      const steps = log.filter((r) => r.type === 'step' && r.stage === stage);
      const byName = new Map<string, Point[]>([['total', []]]);
      for (const r of steps) {
        if (r.type !== 'step') continue;
        byName.get('total')!.push([r.step, r.loss]);
        for (const [name, v] of Object.entries(r.parts)) {
          if (!byName.has(name)) byName.set(name, []);
          byName.get(name)!.push([r.step, v]);
        }
      }
      // A stage with a single term would draw the same line twice.
      if (byName.size === 2) byName.delete('total');
      return { stage, series: [...byName].map(([name, points]) => ({ name, points })) };
    })
    .filter((s) => s.series.some((x) => x.points.length > 0));
}

/** Per metric name: the raw student's and the EMA student's dev scores over the step. */
export function metricSeries(log: readonly LogRecord[]): { metric: string; series: Series[] }[] {
  const byMetric = new Map<string, { raw: Point[]; ema: Point[] }>();
  for (const r of log) {
    if (r.type !== 'eval') continue;
    for (const [metric, v] of Object.entries(r.metrics)) {
      if (!byMetric.has(metric)) byMetric.set(metric, { raw: [], ema: [] });
      byMetric.get(metric)![r.model].push([r.step, v]);
    }
  }
  return [...byMetric].map(([metric, { raw, ema }]) => ({
    metric,
    series: [
      { name: 'raw', points: raw },
      ...(ema.length ? [{ name: 'EMA', points: ema, dashed: true }] : []),
    ],
  }));
}

/** The first step of each stage after the first, for vertical markers. */
export function stageBoundaries(log: readonly LogRecord[]): { x: number; label: string }[] {
  const out: { x: number; label: string }[] = [];
  let current: string | undefined;
  for (const r of log) {
    if (r.type !== 'step') continue;
    if (current !== undefined && r.stage !== current) out.push({ x: r.step, label: r.stage });
    current = r.stage;
  }
  return out;
}
