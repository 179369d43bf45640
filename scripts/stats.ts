/**
 * The statistics of the experiment tables, in one place: mean and sample standard deviation (n − 1).
 * A single value has no spread, so its std is NaN and tables print "–" for it.
 */
export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** A number for a table, "–" for NaN or a missing value. */
export function fixed(x: number | undefined, digits: number): string {
  return x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
}

/** "mean ± std" with `digits` decimals. */
export function meanStd(xs: readonly number[], digits = 4): string {
  return `${fixed(mean(xs), digits)} ± ${fixed(sampleStd(xs), digits)}`;
}
