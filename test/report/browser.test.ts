import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import type { LogRecord } from '../../src/train/log.ts';
import { writeReport } from '../../src/report/html.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report browser test skipped: ${CHROMIUM} not found (apt-get install chromium)`);

/** A log shaped like a real two-stage run with EMA evaluations. */
function syntheticLog(): LogRecord[] {
  const log: LogRecord[] = [];
  for (let step = 1; step <= 400; step++) {
    const stage = step <= 200 ? 'intermediate' : 'prediction';
    const decay = Math.exp(-step / 120);
    const parts: Record<string, number> =
      stage === 'intermediate' ? { hidden_mse: 2 * decay + 0.05, attention_mse: decay + 0.02 } : { kd_ce: 0.7 * decay + 0.1 };
    // Noise on top of the trend, as real per-step losses have: the report smooths it.
    const noisy = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v * (1 + 0.3 * Math.sin(step * 1.7))]));
    const lr = 1e-3 * Math.min(1, step / 40) * (1 - step / 400 + 0.01);
    log.push({ type: 'step', stage, step, lr, loss: Object.values(noisy).reduce((a, b) => a + b, 0), parts: noisy, gradNorm: 2 * decay + 0.3 });
    if (stage === 'prediction' && step % 50 === 0) {
      log.push({ type: 'eval', stage, step, model: 'raw', metrics: { accuracy: 0.9 - decay } });
      log.push({ type: 'eval', stage, step, model: 'ema', metrics: { accuracy: 0.91 - decay } });
    }
  }
  return log;
}

it.skipIf(!hasChromium)('the report renders in headless Chromium with every element, non-empty chart paths and no console errors (classification, then regression)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  const file = path.join(dir, 'report.html');
  writeReport(file, {
    title: 'browser test run',
    createdAt: new Date().toISOString(),
    log: syntheticLog(),
    models: [
      { name: 'teacher', params: 4_400_000, sizeBytes: 17_600_000, latencyMs: { 1: 3.1, 32: 40 }, metrics: { accuracy: 0.9 } },
      {
        name: 'student', params: 600_000, sizeBytes: 2_400_000, latencyMs: { 1: 0.8, 32: 7 }, metrics: { accuracy: 0.88 },
        runtime: 'onnxruntime cpu', precision: 'fp32', confusion: [[40, 8], [4, 48]],
      },
      { name: 'student int8', params: 600_000, sizeBytes: 700_000, latencyMs: { 1: 0.6, 32: 5 }, metrics: { accuracy: 0.87 }, runtime: 'onnxruntime cpu', precision: 'int8', agreement: 0.97 },
    ],
    kept: { model: 'ema', step: 350, stage: 'prediction', metric: 'accuracy', score: 0.88 },
    stages: [
      { stage: 'cache', runtime: 'onnxruntime cpu', threads: 2, seconds: 3.2 },
      { stage: 'train', runtime: 'tfjs wasm (2 threads)', threads: 2, seconds: 95.1 },
      { stage: 'eval', runtime: 'onnxruntime cpu', seconds: 4.4 },
    ],
    labelNames: ['negative', 'positive'],
    primaryMetric: 'accuracy',
    latencyBatchSizes: [1, 32],
    config: { task: 'sst2' },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('file://' + file);
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((s) => ({
        paths: [...s.querySelectorAll('path.series')].map((p) => ({
          d: p.getAttribute('d') ?? '',
          length: (p as SVGPathElement).getTotalLength(),
        })),
        width: s.getBoundingClientRect().width,
      })),
    );
    expect(charts).toHaveLength(5); // two loss stages, accuracy, learning rate, gradient norm
    for (const c of charts) {
      expect(c.width).toBeGreaterThan(100);
      expect(c.paths.length).toBeGreaterThan(0);
      for (const p of c.paths) {
        expect(p.d).toMatch(/^M/);
        expect(p.length).toBeGreaterThan(10); // actually drawn, not a degenerate path
      }
    }
    const titles = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => s.getAttribute('aria-label')));
    expect(titles).toEqual(['loss: stage intermediate', 'loss: stage prediction', 'dev accuracy', 'learning rate', 'gradient norm (before clipping)']);
    // Smoothed curves drawn over faint raw lines (same count, raw ones translucent).
    const raw = await page.$$eval('path.series.raw', (ps) => ps.map((p) => getComputedStyle(p).strokeOpacity));
    expect(raw.length).toBe(5); // total, hidden_mse, attention_mse; kd_ce (a single term: no total); grad norm
    expect(raw.every((o) => Number(o) < 0.5)).toBe(true);
    // The kept checkpoint: a marker on every curve whose steps include it, the table's student row, a sentence.
    const markedKept = await page.$$eval('svg.chart', (svgs) => svgs.filter((s) => s.textContent!.includes('kept: EMA @ 350')).map((s) => s.getAttribute('aria-label')));
    expect(markedKept).toEqual(['loss: stage prediction', 'dev accuracy', 'learning rate', 'gradient norm (before clipping)']);
    const rows = await page.$$eval('table.compare:not(.confusion):not(.per-class):not(.stages) tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['teacher', 'student (EMA weights, step 350)', 'student int8']);
    expect(rows[1]).toEqual(expect.arrayContaining(['7.3×', '3.9×', '5.7×'])); // size, speed-up b=1, b=32 vs the teacher
    expect(rows[2]).toEqual(expect.arrayContaining(['97.0%'])); // int8 agreement with fp32
    expect(await page.textContent('p.kept')).toContain('EMA weights at step 350');
    // Confusion matrix, per-class scores, stages.
    expect(await page.$$eval('table.confusion tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)))).toEqual([
      ['negative', '40', '8'],
      ['positive', '4', '48'],
    ]);
    expect(await page.$$eval('table.per-class tbody tr td:first-child', (tds) => tds.map((td) => td.textContent))).toEqual(['negative', 'positive']);
    expect(await page.$$eval('table.stages tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)))).toEqual([
      ['cache', 'onnxruntime cpu', '2', '3.2 s'],
      ['train', 'tfjs wasm (2 threads)', '2', '95.1 s'],
      ['eval', 'onnxruntime cpu', '–', '4.4 s'],
    ]);
    // One self-contained file: no external resources.
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<(script|link|img)\b|src=|href=/);
    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.DISTILL_REPORT_SCREENSHOT) fs.copyFileSync(shot, process.env.DISTILL_REPORT_SCREENSHOT);
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);

    // Regression (STS-B): the predicted-vs-gold scatter instead of the confusion matrix, dots inside the plot.
    const regression = path.join(dir, 'regression.html');
    const gold = Array.from({ length: 50 }, (_, i) => (5 * i) / 49);
    writeReport(regression, {
      title: 'regression run', createdAt: new Date().toISOString(), log: syntheticLog(), latencyBatchSizes: [1], primaryMetric: 'pearson',
      models: [
        { name: 'teacher', metrics: { pearson: 0.88 } },
        { name: 'student', metrics: { pearson: 0.8 }, scatter: { gold, predicted: gold.map((g, i) => g + 0.4 * Math.sin(i)) } },
      ],
    });
    await page.goto('file://' + regression);
    const box = (await page.$('svg.scatter'))!;
    const frame = (await box.boundingBox())!;
    const dots = await page.$$eval('svg.scatter circle.dot', (cs) => cs.map((c) => c.getBoundingClientRect()).map((r) => [r.x + r.width / 2, r.y + r.height / 2]));
    expect(dots).toHaveLength(50);
    for (const [cx, cy] of dots) {
      expect(cx).toBeGreaterThan(frame.x);
      expect(cx).toBeLessThan(frame.x + frame.width);
      expect(cy).toBeGreaterThan(frame.y);
      expect(cy).toBeLessThan(frame.y + frame.height);
    }
    expect(await page.$('table.confusion')).toBeNull();
    await page.screenshot({ path: path.join(dir, 'regression.png'), fullPage: true });
    if (process.env.DISTILL_REPORT_SCREENSHOT) fs.copyFileSync(path.join(dir, 'regression.png'), process.env.DISTILL_REPORT_SCREENSHOT.replace(/(\.png)?$/, '-regression.png'));
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }
});
