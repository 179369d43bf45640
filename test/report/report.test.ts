import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/train/log.ts';
import { lineChart } from '../../src/report/chart.ts';
import { comparisonTable, confusionTables, formatBytes, formatCount, percentOf, renderReport } from '../../src/report/html.ts';
import { lossSeriesByStage, metricSeries, smoothPoints, stageBoundaries, withSmoothed } from '../../src/report/series.ts';
import { Rng } from '../../src/util/rng.ts';

export const SAMPLE_LOG: LogRecord[] = [
  { type: 'step', stage: 'intermediate', step: 1, lr: 1e-4, loss: 3, parts: { hidden_mse: 2, attention_mse: 1 } },
  { type: 'step', stage: 'intermediate', step: 2, lr: 1e-4, loss: 2, parts: { hidden_mse: 1.5, attention_mse: 0.5 } },
  { type: 'step', stage: 'prediction', step: 3, lr: 1e-4, loss: 0.7, parts: { kd_ce: 0.7 } },
  { type: 'eval', stage: 'prediction', step: 3, model: 'raw', metrics: { accuracy: 0.8 } },
  { type: 'eval', stage: 'prediction', step: 3, model: 'ema', metrics: { accuracy: 0.82 } },
  { type: 'step', stage: 'prediction', step: 4, lr: 1e-4, loss: 0.5, parts: { kd_ce: 0.5 } },
  { type: 'eval', stage: 'prediction', step: 4, model: 'raw', metrics: { accuracy: 0.85 } },
];

describe('series from the training log', () => {
  it('one loss chart per stage with total and each term; single-term stages skip the duplicate total', () => {
    const s = lossSeriesByStage(SAMPLE_LOG);
    expect(s.map((x) => x.stage)).toEqual(['intermediate', 'prediction']);
    expect(s[0].series.map((x) => x.name)).toEqual(['total', 'hidden_mse', 'attention_mse']);
    expect(s[0].series[1].points).toEqual([[1, 2], [2, 1.5]]);
    expect(s[1].series.map((x) => x.name)).toEqual(['kd_ce']);
  });
  it('raw and EMA metric series, EMA dashed', () => {
    const m = metricSeries(SAMPLE_LOG);
    expect(m).toHaveLength(1);
    expect(m[0].metric).toBe('accuracy');
    expect(m[0].series[0]).toEqual({ name: 'raw', points: [[3, 0.8], [4, 0.85]] });
    expect(m[0].series[1]).toEqual({ name: 'EMA', points: [[3, 0.82]], dashed: true });
  });
  it('stage boundaries at the first step of each later stage', () => {
    expect(stageBoundaries(SAMPLE_LOG)).toEqual([{ x: 3, label: 'prediction' }]);
  });
});

describe('smoothing', () => {
  it('bias-corrected exponential smoothing by hand', () => {
    // w = 0.5: s1 = 0.5·2 / (1 − 0.5) = 2; acc2 = 0.5·1 + 0.5·4 = 2.5, / 0.75 = 3.3333
    const s = smoothPoints([[1, 2], [2, 4]], 0.5);
    expect(s[0][1]).toBeCloseTo(2, 10);
    expect(s[1][1]).toBeCloseTo(10 / 3, 10);
    expect(smoothPoints([[1, 5]], 0)).toEqual([[1, 5]]);
  });
});

describe('smoothed over raw', () => {
  /** Sum of |Δy| between neighbours: how jagged a line looks. */
  const jaggedness = (pts: readonly (readonly [number, number])[]) => pts.slice(1).reduce((a, p, i) => a + Math.abs(p[1] - pts[i][1]), 0);
  it('a short noisy run (200 steps) is drawn as a calm curve over its faint raw line', () => {
    const rng = new Rng(5);
    const points = Array.from({ length: 200 }, (_, i) => [i + 1, Math.exp(-i / 80) * (1 + 0.6 * (rng.next() - 0.5))] as [number, number]);
    const [raw, smooth] = withSmoothed([{ name: 'kd_ce', points }], ['#000']);
    expect(raw).toMatchObject({ name: 'kd_ce (raw)', faint: true, points });
    expect(smooth.faint).toBeUndefined();
    // Averaging over ~4 points (1/50 of 200) kept a fifth of the jaggedness; at least 10 points keep under 15%.
    expect(jaggedness(smooth.points) / jaggedness(raw.points)).toBeLessThan(0.15);
    // Still follows the trend: the last smoothed value is near the last few raw ones.
    const tail = points.slice(-20).reduce((a, p) => a + p[1], 0) / 20;
    expect(Math.abs(smooth.points[199][1] - tail) / tail).toBeLessThan(0.1);
  });
});

describe('table', () => {
  it('formats sizes and counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 2)).toBe('3.00 MiB');
    expect(formatCount(14_500_000)).toBe('14.50M');
    expect(formatCount(undefined)).toBe('–');
  });
  it('percentOf is relative to the baseline, undefined without one', () => {
    expect(percentOf(0.9, 0.95)).toBeCloseTo(94.7368, 3);
    expect(percentOf(0.9, 0)).toBeUndefined();
    expect(percentOf(undefined, 1)).toBeUndefined();
  });
  it('computes % of teacher against the teacher row', () => {
    const html = comparisonTable(
      [
        { name: 'teacher', params: 4_000_000, sizeBytes: 16_000_000, latencyMs: { 1: 2.5, 32: 20 }, metrics: { accuracy: 0.9 } },
        { name: 'student', params: 1_000_000, latencyMs: { 1: 1 }, metrics: { accuracy: 0.87 } },
      ],
      'accuracy',
      [1, 32],
    );
    expect(html).toContain('<td>96.7%</td>');
    expect(html).toContain('<td>100.0%</td>');
    expect(html).toContain('<td>2.50 ms</td>');
    expect(html).toContain('<th>latency @ batch 32</th>');
    expect(html).toContain('<td>2.5×</td>'); // speed-up at batch 1: 2.5 ms / 1 ms
    expect(html).toContain('<th>smaller than teacher</th>');
  });
  it('size and speed-up ratios against the teacher row, int8 agreement, the kept checkpoint named', () => {
    const html = comparisonTable(
      [
        { name: 'teacher', sizeBytes: 1000, latencyMs: { 1: 3 }, metrics: { accuracy: 0.9 } },
        { name: 'student', sizeBytes: 250, latencyMs: { 1: 1 }, metrics: { accuracy: 0.9 } },
        { name: 'student int8', sizeBytes: 100, latencyMs: { 1: 2 }, metrics: { accuracy: 0.88 }, agreement: 0.96, precision: 'int8' },
      ],
      'accuracy',
      [1],
      { model: 'ema', step: 400, stage: 'prediction', metric: 'accuracy', score: 0.9 },
    );
    expect(html).toContain('<td>student (EMA weights, step 400)</td><td>–</td><td>250 B</td><td>4.0×</td><td>1.00 ms</td><td>3.0×</td>');
    expect(html).toContain('<tr class="int8"><td>student int8</td><td>–</td><td>100 B</td><td>10.0×</td><td>2.00 ms</td><td>1.5×</td><td>0.8800</td><td>97.8%</td><td>96.0%</td>');
  });
  it('no teacher row: no "% of teacher" and no ratios (a lone student is not 100% of itself)', () => {
    const html = comparisonTable(
      [
        { name: 'student-onnx', sizeBytes: 250, latencyMs: { 1: 1 }, metrics: { accuracy: 0.964 } },
        { name: 'student-onnx int8', sizeBytes: 100, latencyMs: { 1: 2 }, metrics: { accuracy: 0.96 }, agreement: 0.99, precision: 'int8' },
      ],
      'accuracy',
      [1],
    );
    expect(html).not.toContain('teacher');
    expect(html).not.toContain('100.0%');
    expect(html).not.toContain('×');
    expect(html).toContain('<tr><td>student-onnx</td><td>–</td><td>250 B</td><td>1.00 ms</td><td>0.9640</td><td>–</td><td>–</td></tr>');
    expect(html).toContain('<td>99.0%</td>'); // int8 agreement still shown
  });
  it('confusion matrix and per-class table', () => {
    const html = confusionTables([[3, 1], [0, 4]], ['negative', 'positive']);
    expect(html).toContain('<th>negative</th>');
    // negative: precision 3/3, recall 3/4, F1 6/7
    expect(html).toContain('<tr><td>negative</td><td>1.0000</td><td>0.7500</td><td>0.8571</td><td>4</td></tr>');
  });
});

describe('chart', () => {
  it('draws one path per series and says "no data" when empty', () => {
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[0, 1], [1, 2]] }, { name: 'b', points: [[0, 2], [1, 1]] }] });
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg).toMatch(/d="M[\d.]+,[\d.]+ L/);
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toContain('no data');
  });
  it('escapes series names', () => {
    const svg = lineChart({ title: '<t>', xLabel: 'x', yLabel: 'y', series: [{ name: 'a<b', points: [[0, 1], [1, 2]] }] });
    expect(svg).toContain('a&lt;b');
    expect(svg).not.toContain('<t>');
  });
});

it('renderReport includes every section and the escaped config', () => {
  const html = renderReport({
    title: 'run',
    createdAt: '2024-01-01T00:00:00Z',
    log: SAMPLE_LOG,
    models: [{ name: 'teacher', metrics: { accuracy: 0.9 } }],
    primaryMetric: 'accuracy',
    latencyBatchSizes: [1, 32],
    config: { task: '<sst2>' },
  });
  expect(html.match(/<svg /g)).toHaveLength(4); // two loss charts + one metric chart + learning rate
  expect(html).toContain('&quot;task&quot;: &quot;&lt;sst2&gt;&quot;');
  expect(html).toContain('Teacher vs student');
});

it('regression: a predicted-vs-gold scatter instead of the confusion matrix', () => {
  const html = renderReport({
    title: 'stsb', createdAt: 'now', log: [], latencyBatchSizes: [],
    models: [{ name: 'teacher' }, { name: 'student', scatter: { gold: [0, 2.5, 5], predicted: [0.4, 2.2, 4.1] } }],
  });
  expect(html).toContain('class="chart scatter"');
  expect(html.match(/<circle class="dot"/g)).toHaveLength(3);
  expect(html).not.toContain('table class="compare confusion"');
});
