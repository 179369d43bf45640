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
    log.push({ type: 'step', stage, step, lr: 1e-4, loss: Object.values(parts).reduce((a, b) => a + b, 0), parts });
    if (stage === 'prediction' && step % 50 === 0) {
      log.push({ type: 'eval', stage, step, model: 'raw', metrics: { accuracy: 0.9 - decay } });
      log.push({ type: 'eval', stage, step, model: 'ema', metrics: { accuracy: 0.91 - decay } });
    }
  }
  return log;
}

it.skipIf(!hasChromium)('the report renders in headless Chromium with non-empty chart paths and no console errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  const file = path.join(dir, 'report.html');
  writeReport(file, {
    title: 'browser test run',
    createdAt: new Date().toISOString(),
    log: syntheticLog(),
    models: [
      { name: 'teacher', params: 4_400_000, sizeBytes: 17_600_000, latencyMs: { 1: 3.1, 32: 40 }, metrics: { accuracy: 0.9 } },
      { name: 'student', params: 600_000, sizeBytes: 2_400_000, latencyMs: { 1: 0.8, 32: 7 }, metrics: { accuracy: 0.88 } },
    ],
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
    expect(charts).toHaveLength(3); // two loss stages + accuracy
    for (const c of charts) {
      expect(c.width).toBeGreaterThan(100);
      expect(c.paths.length).toBeGreaterThan(0);
      for (const p of c.paths) {
        expect(p.d).toMatch(/^M/);
        expect(p.length).toBeGreaterThan(10); // actually drawn, not a degenerate path
      }
    }
    expect(await page.$$eval('table.compare tbody tr', (rows) => rows.length)).toBe(2);
    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }
});
