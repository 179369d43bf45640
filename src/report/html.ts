/**
 * The run report: one static HTML file (no server, no scripts, no external assets) with loss
 * curves, dev-metric curves (raw vs EMA), the teacher-vs-student table and the resolved config.
 */
import * as fs from 'node:fs';
import type { LogRecord } from '../train/log.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { lineChart } from './chart.ts';
import { lossSeriesByStage, metricSeries, stageBoundaries } from './series.ts';
import { escapeXml } from './svg.ts';

/** One row of the comparison table. Absent measurements show as "–". */
export interface ModelRow {
  name: string;
  params?: number;
  sizeBytes?: number;
  /** Mean latency in ms, keyed by batch size. */
  latencyMs?: Record<number, number>;
  /** Dev metrics by name (e.g. accuracy, f1). */
  metrics?: Record<string, number>;
  /** What ran it, e.g. "onnxruntime cpu" or "tfjs wasm (2 threads)". */
  runtime?: string;
  precision?: 'fp32' | 'int8';
  /** Tokens per example it was scored with. */
  maxLength?: number;
  /** Seconds to load, score and time it. */
  wallSeconds?: number;
  /** int8 rows: share of examples with the same prediction as the fp32 model. */
  agreement?: number;
  /** Classification: counts[gold][predicted] on the scored split. */
  confusion?: number[][];
  /** Regression: a sample of (gold, predicted) pairs. */
  scatter?: { gold: number[]; predicted: number[] };
}

export interface ReportInput {
  title: string;
  /** ISO time the report was made. */
  createdAt: string;
  log: readonly LogRecord[];
  /** The first row is the baseline that "% of teacher" is measured against. */
  models: readonly ModelRow[];
  /** Metric shown in the table's dev column and used for "% of teacher". */
  primaryMetric?: string;
  latencyBatchSizes: readonly number[];
  config?: unknown;
  notes?: readonly string[];
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '–';
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatCount(n: number | undefined): string {
  if (n === undefined) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** Student score as a percentage of the baseline's; undefined when either is missing or the baseline is 0. */
export function percentOf(value: number | undefined, baseline: number | undefined): number | undefined {
  if (value === undefined || baseline === undefined || baseline === 0) return undefined;
  return (100 * value) / baseline;
}

export function comparisonTable(models: readonly ModelRow[], primaryMetric: string | undefined, batchSizes: readonly number[]): string {
  const metric = primaryMetric ?? Object.keys(models[0]?.metrics ?? {})[0];
  const base = metric ? models[0]?.metrics?.[metric] : undefined;
  const head = [
    'model',
    'parameters',
    'size on disk',
    ...batchSizes.map((b) => `latency @ batch ${b}`),
    `dev ${metric ?? 'metric'}`,
    '% of teacher',
  ];
  const rows = models.map((m) => {
    const v = metric ? m.metrics?.[metric] : undefined;
    const pct = percentOf(v, base);
    return [
      m.name,
      formatCount(m.params),
      formatBytes(m.sizeBytes),
      ...batchSizes.map((b) => (m.latencyMs?.[b] === undefined ? '–' : `${m.latencyMs[b].toFixed(2)} ms`)),
      v === undefined ? '–' : v.toFixed(4),
      pct === undefined ? '–' : `${pct.toFixed(1)}%`,
    ];
  });
  const cell = (tag: string, s: string) => `<${tag}>${escapeXml(s)}</${tag}>`;
  return (
    `<table class="compare"><thead><tr>${head.map((h) => cell('th', h)).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => cell('td', c)).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1600px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{background:#fff;border:1px solid #e4e4e4}
.chart .title{font-size:13px;font-weight:600}.chart .tick,.chart .legend{font-size:10px;fill:#444}
.chart .label{font-size:11px;fill:#333}.chart .grid{stroke:#eee}.chart .axis{stroke:#888}
.chart .marker{stroke:#999;stroke-dasharray:2 3}
table.compare{border-collapse:collapse}table.compare td,table.compare th{border:1px solid #ccc;padding:4px 10px;text-align:right}
table.compare td:first-child,table.compare th:first-child{text-align:left}
pre{background:#f6f6f6;padding:12px;overflow:auto;font-size:12px}
`;

export function renderReport(r: ReportInput): string {
  const markers = stageBoundaries(r.log);
  const lossCharts = lossSeriesByStage(r.log).map(({ stage, series }) =>
    // Per-step losses are noisy: ~200 bucket means show the trend (the raw values stay in the JSONL log).
    lineChart({ title: `loss: stage ${stage}`, xLabel: 'step', yLabel: 'loss', series, logY: true, maxPoints: 200 }),
  );
  const metricCharts = metricSeries(r.log).map(({ metric, series }) =>
    lineChart({ title: `dev ${metric}`, xLabel: 'step', yLabel: metric, series, markers }),
  );
  const section = (title: string, body: string) => `<h2>${escapeXml(title)}</h2>${body}`;
  const charts = (list: string[], empty: string) => (list.length ? `<div class="charts">${list.join('')}</div>` : `<p>${escapeXml(empty)}</p>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(r.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeXml(r.title)}</h1>
<p>Generated ${escapeXml(r.createdAt)}.</p>
${(r.notes ?? []).map((n) => `<p class="note">${escapeXml(n)}</p>`).join('\n')}
${section('Teacher vs student', r.models.length ? comparisonTable(r.models, r.primaryMetric, r.latencyBatchSizes) : '<p>No models measured.</p>')}
${section('Training losses', charts(lossCharts, 'No training steps logged.'))}
${section('Dev metric over training (raw vs EMA)', charts(metricCharts, 'No evaluations logged.'))}
${section('Resolved configuration', `<pre>${escapeXml(JSON.stringify(r.config ?? {}, null, 2))}</pre>`)}
</body></html>
`;
}

/** Renders and writes the report atomically; returns its size in bytes. */
export function writeReport(file: string, input: ReportInput): number {
  const html = renderReport(input);
  writeFileAtomic(file, html);
  return fs.statSync(file).size;
}
