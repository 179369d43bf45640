/**
 * Pure helpers for drawing charts as inline SVG: scales, tick values, path strings, down-sampling.
 * No DOM, no dependencies, so every function is unit-testable with plain numbers.
 */

export type Point = readonly [number, number];

export interface Scale {
  (v: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
  log: boolean;
}

/** Maps [d0, d1] linearly onto [r0, r1]; a zero-width domain maps everything to the range's middle. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const f = ((v: number) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) / (d1 - d0)) * (r1 - r0))) as Scale;
  return Object.assign(f, { domain, range, log: false });
}

/** Log10 scale for strictly positive domains (loss curves span orders of magnitude). */
export function logScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  if (!(domain[0] > 0 && domain[1] > 0)) throw new Error(`logScale needs a positive domain, got [${domain}]`);
  const inner = linearScale([Math.log10(domain[0]), Math.log10(domain[1])], range);
  const f = ((v: number) => inner(Math.log10(v))) as Scale;
  return Object.assign(f, { domain, range, log: true });
}

/** Min and max of the finite values, or undefined when there are none. */
export function extent(values: Iterable<number>): [number, number] | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  if (lo > hi) [lo, hi] = [hi, lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The 1/2/5/10 multiple nearest to the raw step on a log scale (thresholds √2, √10, √50 as in d3).
  const r = raw / mag;
  const step = (r >= Math.sqrt(50) ? 10 : r >= Math.sqrt(10) ? 5 : r >= Math.SQRT2 ? 2 : 1) * mag;
  const ticks: number[] = [];
  // Integer multiples of step, so ticks are exact decimals rather than accumulated float error.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/**
 * Ticks for a log axis: powers of ten when the range spans three decades or more, otherwise also
 * the 2× and 5× values; the two ends when nothing round falls inside.
 */
export function logTicks(lo: number, hi: number): number[] {
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const mantissas = e1 - e0 >= 3 ? [1] : [1, 2, 5];
  const ticks: number[] = [];
  for (let e = e0; e <= e1; e++) {
    for (const m of mantissas) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks.length >= 2 ? ticks : [lo, hi];
}

/** Short tick label: 0.001 → "1e-3", 1500 → "1.5k", 0.25 → "0.25". */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (v === 0) return '0';
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a < 1e-2) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

/**
 * SVG path data through the points. Points with a non-finite coordinate (or ≤ 0 on a log axis)
 * break the line, starting a new "M" segment, instead of drawing to nowhere.
 */
export function linePath(points: readonly Point[], x: Scale, y: Scale): string {
  const parts: string[] = [];
  let penDown = false;
  for (const [px, py] of points) {
    const ok = Number.isFinite(px) && Number.isFinite(py) && (!y.log || py > 0) && (!x.log || px > 0);
    if (!ok) {
      penDown = false;
      continue;
    }
    parts.push(`${penDown ? 'L' : 'M'}${fmt(x(px))},${fmt(y(py))}`);
    penDown = true;
  }
  return parts.join(' ');
}

/**
 * Reduces a long series to at most `maxPoints` by averaging consecutive buckets (x and y), which
 * also smooths noisy per-step losses. Series already short enough are returned as they are.
 */
export function downsample(points: readonly Point[], maxPoints: number): Point[] {
  if (points.length <= maxPoints) return points.slice();
  const out: Point[] = [];
  const size = points.length / maxPoints;
  for (let b = 0; b < maxPoints; b++) {
    const from = Math.floor(b * size);
    const to = Math.floor((b + 1) * size);
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let i = from; i < to; i++) {
      const [px, py] = points[i];
      if (!Number.isFinite(py)) continue;
      sx += px;
      sy += py;
      n++;
    }
    if (n > 0) out.push([sx / n, sy / n]);
  }
  return out;
}

/** Escapes text for use inside SVG/HTML elements and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
