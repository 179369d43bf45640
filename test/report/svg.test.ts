import { describe, expect, it } from 'vitest';
import { downsample, escapeXml, extent, formatTick, linearScale, linePath, logScale, logTicks, niceTicks } from '../../src/report/svg.ts';

describe('scales', () => {
  it('linearScale maps the domain ends onto the range ends, inverted ranges too', () => {
    const s = linearScale([0, 10], [100, 0]); // SVG y grows downwards
    expect(s(0)).toBe(100);
    expect(s(10)).toBe(0);
    expect(s(2.5)).toBe(75);
  });
  it('linearScale with a zero-width domain maps to the middle of the range', () => {
    expect(linearScale([3, 3], [0, 50])(3)).toBe(25);
  });
  it('logScale puts each decade an equal distance apart', () => {
    const s = logScale([0.01, 10], [0, 300]);
    expect(s(0.01)).toBeCloseTo(0);
    expect(s(0.1)).toBeCloseTo(100);
    expect(s(1)).toBeCloseTo(200);
    expect(s(10)).toBeCloseTo(300);
    expect(() => logScale([0, 1], [0, 1])).toThrow(/positive/);
  });
});

describe('ticks and extents', () => {
  it('extent ignores non-finite values', () => {
    expect(extent([3, NaN, -1, Infinity, 7])).toEqual([-1, 7]);
    expect(extent([NaN])).toBeUndefined();
  });
  it('niceTicks uses 1/2/5 steps and exact decimals', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.1, 0.95, 4)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0, 1000, 4)).toEqual([0, 200, 400, 600, 800, 1000]); // raw step 250 is nearer 200 than 500
    expect(niceTicks(0, 1000, 2)).toEqual([0, 500, 1000]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });
  it('logTicks gives powers of ten over wide ranges, 1-2-5 steps over narrow ones', () => {
    expect(logTicks(0.005, 20)).toEqual([0.01, 0.1, 1, 10]);
    expect(logTicks(2, 3)).toEqual([2, 3]);
    expect(logTicks(0.2, 3)).toEqual([0.2, 0.5, 1, 2]); // under three decades: 1-2-5 steps
  });
  it('formatTick shortens large and small numbers', () => {
    expect(formatTick(1500)).toBe('1.5k');
    expect(formatTick(2_000_000)).toBe('2M');
    expect(formatTick(0.001)).toBe('1e-3');
    expect(formatTick(0.25)).toBe('0.25');
    expect(formatTick(0)).toBe('0');
  });
});

describe('linePath', () => {
  const x = linearScale([0, 10], [0, 100]);
  const y = linearScale([0, 1], [50, 0]);
  it('draws M then L segments in scaled coordinates', () => {
    expect(linePath([[0, 0], [5, 0.5], [10, 1]], x, y)).toBe('M0,50 L50,25 L100,0');
  });
  it('breaks the line at non-finite points', () => {
    expect(linePath([[0, 0], [5, NaN], [10, 1]], x, y)).toBe('M0,50 M100,0');
  });
  it('skips non-positive values on a log axis', () => {
    const ly = logScale([0.1, 10], [100, 0]);
    expect(linePath([[0, 1], [5, 0], [10, 10]], x, ly)).toBe('M0,50 M100,0');
  });
  it('rounds coordinates to two decimals', () => {
    expect(linePath([[1 / 3, 1 / 3]], x, y)).toBe('M3.33,33.33');
  });
});

describe('downsample', () => {
  it('leaves short series alone', () => {
    expect(downsample([[0, 1], [1, 2]], 5)).toEqual([[0, 1], [1, 2]]);
  });
  it('averages buckets of consecutive points', () => {
    const pts = [[0, 1], [1, 3], [2, 5], [3, 7]] as const;
    expect(downsample(pts, 2)).toEqual([[0.5, 2], [2.5, 6]]);
  });
  it('drops non-finite values inside a bucket', () => {
    expect(downsample([[0, 1], [1, NaN], [2, 5], [3, 7]], 2)).toEqual([[0, 1], [2.5, 6]]);
  });
});

it('escapeXml escapes markup characters', () => {
  expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
});
