/**
 * The run report: one static HTML file (no server, no scripts, no external assets) with loss
 * curves, dev-metric curves (raw vs EMA), the teacher-vs-student table and the resolved config.
 */
import * as fs from 'node:fs';
import type { LogRecord } from '../train/log.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { perClassScores } from '../eval/analysis.ts';
import { lineChart, PALETTE, scatterChart } from './chart.ts';
import { lossSeriesByStage, metricSeries, optimizerSeries, stageBoundaries, withSmoothed } from './series.ts';
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
  /** The row named "teacher", when there is one, is the baseline of the ratios and "% of teacher". */
  models: readonly ModelRow[];
  /** Metric shown in the table's dev column and used for "% of teacher". */
  primaryMetric?: string;
  latencyBatchSizes: readonly number[];
  config?: unknown;
  notes?: readonly string[];
  /** The checkpoint the run kept (train-summary.json best): marked on the dev curves and in the table. */
  kept?: { model: 'raw' | 'ema'; step: number; stage: string; metric: string; score: number };
  /** Backend / provider, threads and wall time of each stage (stages.json). */
  stages?: readonly StageRecord[];
  /** Class names by id, for the confusion matrix. */
  labelNames?: readonly string[];
}

export interface StageRecord {
  stage: string;
  /** e.g. "onnxruntime cpu", "tfjs wasm (2 threads)". */
  runtime?: string;
  threads?: number;
  seconds?: number;
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

const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(1)}×`);

export function comparisonTable(models: readonly ModelRow[], primaryMetric: string | undefined, batchSizes: readonly number[], kept?: ReportInput['kept']): string {
  const metric = primaryMetric ?? Object.keys(models[0]?.metrics ?? {})[0];
  // Ratios and "% of teacher" only against a scored teacher: another model is no teacher (a lone
  // student would read "100.0% of teacher").
  const teacher = models.find((m) => m.name === 'teacher');
  const base = metric ? teacher?.metrics?.[metric] : undefined;
  const vsTeacher = teacher !== undefined;
  const head = [
    'model',
    'parameters',
    'size on disk',
    ...(vsTeacher ? ['smaller than teacher'] : []),
    ...batchSizes.flatMap((b) => [`latency @ batch ${b}`, ...(vsTeacher ? [`speed-up @ ${b}`] : [])]),
    `dev ${metric ?? 'metric'}`,
    ...(vsTeacher ? ['% of teacher'] : []),
    'same prediction as fp32',
    'runtime',
  ];
  const rows = models.map((m) => {
    const v = metric ? m.metrics?.[metric] : undefined;
    const pct = percentOf(v, base);
    const isTeacher = m === teacher;
    const name = kept && m.name === 'student' ? `student (${kept.model === 'ema' ? 'EMA' : 'raw'} weights, step ${kept.step})` : m.name;
    return [
      name,
      formatCount(m.params),
      formatBytes(m.sizeBytes),
      ...(vsTeacher ? [isTeacher ? '–' : ratio(teacher?.sizeBytes, m.sizeBytes)] : []),
      ...batchSizes.flatMap((b) => [
        m.latencyMs?.[b] === undefined ? '–' : `${m.latencyMs[b].toFixed(2)} ms`,
        ...(vsTeacher ? [isTeacher ? '–' : ratio(teacher?.latencyMs?.[b], m.latencyMs?.[b])] : []),
      ]),
      v === undefined ? '–' : v.toFixed(4),
      ...(vsTeacher ? [pct === undefined ? '–' : `${pct.toFixed(1)}%`] : []),
      m.agreement === undefined ? '–' : `${(100 * m.agreement).toFixed(1)}%`,
      m.runtime ?? '–',
    ];
  });
  const cell = (tag: string, s: string) => `<${tag}>${escapeXml(s)}</${tag}>`;
  return (
    `<table class="compare"><thead><tr>${head.map((h) => cell('th', h)).join('')}</tr></thead><tbody>` +
    rows.map((r, i) => `<tr${models[i].precision === 'int8' ? ' class="int8"' : ''}>${r.map((c) => cell('td', c)).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

/** Confusion matrix (rows gold, columns predicted, shaded by row share) and per-class precision / recall / F1. */
export function confusionTables(confusion: readonly (readonly number[])[], labelNames: readonly string[]): string {
  const names = confusion.map((_, i) => labelNames[i] ?? String(i));
  const matrix =
    '<table class="compare confusion"><thead><tr><th>gold ↓ / predicted →</th>' +
    names.map((n) => `<th>${escapeXml(n)}</th>`).join('') +
    '</tr></thead><tbody>' +
    confusion
      .map((row, g) => {
        const total = row.reduce((a, b) => a + b, 0) || 1;
        return (
          `<tr><th>${escapeXml(names[g])}</th>` +
          row.map((n, p) => `<td style="background:rgba(${p === g ? '0,114,178' : '213,94,0'},${(0.08 + (0.6 * n) / total).toFixed(2)})">${n}</td>`).join('') +
          '</tr>'
        );
      })
      .join('') +
    '</tbody></table>';
  const scores = perClassScores(confusion);
  const perClass =
    '<table class="compare per-class"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>' +
    scores.map((c, i) => `<tr><td>${escapeXml(names[i])}</td><td>${c.precision.toFixed(4)}</td><td>${c.recall.toFixed(4)}</td><td>${c.f1.toFixed(4)}</td><td>${c.support}</td></tr>`).join('') +
    '</tbody></table>';
  return `<div class="pair">${matrix}${perClass}</div>`;
}

export function stagesTable(stages: readonly StageRecord[]): string {
  return (
    '<table class="compare stages"><thead><tr><th>stage</th><th>backend / provider</th><th>threads</th><th>wall time</th></tr></thead><tbody>' +
    stages
      .map((st) => `<tr><td>${escapeXml(st.stage)}</td><td>${escapeXml(st.runtime ?? '–')}</td><td>${st.threads ?? '–'}</td><td>${st.seconds === undefined ? '–' : `${st.seconds.toFixed(1)} s`}</td></tr>`)
      .join('') +
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
.pair{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}tr.int8 td{background:#f4f8fb}
.chart .diagonal{stroke:#999;stroke-dasharray:4 3}.kept{font-weight:600}
`;

function errorAnalysis(r: ReportInput): string {
  const student = r.models.find((m) => m.name === 'student') ?? r.models.find((m) => m.name !== 'teacher');
  if (!student) return '<p>No student scored yet.</p>';
  if (student.confusion) return `<p>${escapeXml(student.name)} on the dev split.</p>` + confusionTables(student.confusion, r.labelNames ?? []);
  if (student.scatter) {
    const points = student.scatter.gold.map((g, i) => [g, student.scatter!.predicted[i]] as const);
    return scatterChart({ title: `${student.name}: predicted vs gold (${points.length} dev examples)`, xLabel: 'gold', yLabel: 'predicted', points });
  }
  return '<p>The scored split had no labels.</p>';
}

export function renderReport(r: ReportInput): string {
  // The kept checkpoint is marked on every curve over the step: where it sits in the losses, the dev
  // scores and the schedule.
  const keptMarker = r.kept ? [{ x: r.kept.step, label: `kept: ${r.kept.model === 'ema' ? 'EMA' : 'raw'} @ ${r.kept.step}` }] : [];
  const markers = [...stageBoundaries(r.log), ...keptMarker];
  const lossCharts = lossSeriesByStage(r.log).map(({ stage, series }) =>
    // Per-step losses are noisy: the smoothed curve over the faint raw values (the JSONL log keeps every value).
    lineChart({ title: `loss: stage ${stage}`, xLabel: 'step', yLabel: 'loss', series: withSmoothed(series, PALETTE), logY: true, maxPoints: 600, markers: keptMarker }),
  );
  const metricCharts = metricSeries(r.log).map(({ metric, series }) =>
    lineChart({ title: `dev ${metric}`, xLabel: 'step', yLabel: metric, series, markers }),
  );
  const opt = optimizerSeries(r.log);
  const optimizerCharts = [
    ...(opt.lr.length ? [lineChart({ title: 'learning rate', xLabel: 'step', yLabel: 'lr', series: opt.lr, markers })] : []),
    ...(opt.gradNorm.length ? [lineChart({ title: 'gradient norm (before clipping)', xLabel: 'step', yLabel: 'norm', series: withSmoothed(opt.gradNorm, PALETTE), logY: true, maxPoints: 600, markers })] : []),
  ];
  const section = (title: string, body: string) => `<h2>${escapeXml(title)}</h2>${body}`;
  const charts = (list: string[], empty: string) => (list.length ? `<div class="charts">${list.join('')}</div>` : `<p>${escapeXml(empty)}</p>`);
  const kept = r.kept
    ? `<p class="kept">Kept: the ${r.kept.model === 'ema' ? 'EMA' : 'raw'} weights at step ${r.kept.step} (stage ${escapeXml(r.kept.stage)}), dev ${escapeXml(r.kept.metric)} ${r.kept.score.toFixed(4)}.</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(r.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeXml(r.title)}</h1>
<p>Generated ${escapeXml(r.createdAt)}.</p>
${(r.notes ?? []).map((n) => `<p class="note">${escapeXml(n)}</p>`).join('\n')}
${section('Teacher vs student', (r.models.length ? comparisonTable(r.models, r.primaryMetric, r.latencyBatchSizes, r.kept) : '<p>No models measured.</p>') + kept)}
${section('Student errors', errorAnalysis(r))}
${section('Training losses', charts(lossCharts, 'No training steps logged.'))}
${section('Dev metric over training (raw vs EMA)', charts(metricCharts, 'No evaluations logged.'))}
${section('Learning rate and gradient norm', charts(optimizerCharts, 'No training steps logged.'))}
${section('Stages', r.stages?.length ? stagesTable(r.stages) : '<p>No stage timings recorded.</p>')}
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
