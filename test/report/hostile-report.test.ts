/**
 * The run report stays inert when a run's strings are hostile: label names from a downloaded model's
 * config.json, metric and loss names, model and stage names, config values, file names and notes carry
 * <script>, event-handler attributes and markup breaking out of attributes, <title>, <style> and SVG.
 * Checked in headless Chromium: no injected script runs (a global flag stays unset, no dialog opens),
 * and the page holds no script element and no on* attribute.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { writeReport } from '../../src/report/html.ts';
import type { LogRecord } from '../../src/train/log.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`hostile report test skipped: ${CHROMIUM} not found (apt-get install chromium)`);

/** Each sets window.__pwned (and opens a dialog) if it ever runs. */
const PAYLOADS = [
  '<script>window.__pwned=1;alert(1)</script>',
  '<img src=x onerror="window.__pwned=2;alert(2)">',
  '"><svg onload="window.__pwned=3;alert(3)">',
  "'><body onload='window.__pwned=4'>",
  '</title><script>window.__pwned=5</script>',
  '</style><script>window.__pwned=6</script>',
  ']]><script>window.__pwned=7</script>',
  '<iframe srcdoc="<script>parent.__pwned=8</script>"></iframe>',
  '<a href="javascript:window.__pwned=9">x</a>',
  '<details open ontoggle="window.__pwned=10">',
];
const hostile = (i: number) => `label ${PAYLOADS[i % PAYLOADS.length]}`;

function hostileLog(): LogRecord[] {
  const log: LogRecord[] = [];
  for (let step = 1; step <= 60; step++) {
    const stage = step <= 30 ? hostile(0) : hostile(1);
    log.push({ type: 'step', stage, step, lr: 1e-3, loss: 1 / step, parts: { [hostile(2)]: 1 / step, [hostile(3)]: 0.5 / step }, gradNorm: 1 });
    if (step % 10 === 0) {
      log.push({ type: 'eval', stage, step, model: 'raw', metrics: { [hostile(4)]: step / 100 } });
      log.push({ type: 'eval', stage, step, model: 'ema', metrics: { [hostile(4)]: step / 90 } });
    }
  }
  return log;
}

it.skipIf(!hasChromium)('a report of hostile label, metric, model, stage, config and file names runs no script in Chromium', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-hostile-'));
  const file = path.join(dir, 'report.html');
  const metric = hostile(4);
  writeReport(file, {
    title: `run ${hostile(4)}`,
    createdAt: hostile(5),
    log: hostileLog(),
    models: [
      { name: hostile(6), params: 1000, sizeBytes: 4000, latencyMs: { 1: 1 }, metrics: { [metric]: 0.9 }, runtime: hostile(7) },
      { name: hostile(8), params: 100, sizeBytes: 400, latencyMs: { 1: 0.5 }, metrics: { [metric]: 0.8 }, runtime: hostile(9), confusion: [[3, 1, 0], [1, 3, 0], [0, 0, 2]] },
    ],
    kept: { model: 'ema', step: 50, stage: hostile(1), metric, score: 0.8 },
    stages: [{ stage: hostile(2), runtime: hostile(3), threads: 1, seconds: 1 }],
    labelNames: [hostile(0), hostile(1), hostile(9)],
    primaryMetric: metric,
    latencyBatchSizes: [1],
    notes: [`data file /tmp/${hostile(1)}.tsv`, hostile(6)],
    config: { task: `/tmp/${hostile(0)}.json`, teacher: { dir: hostile(1) }, labels: PAYLOADS },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await page.goto('file://' + file);
    await page.waitForTimeout(300); // onload / onerror / ontoggle handlers would have fired by now
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    const active = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script, iframe, object, embed').length,
      handlers: [...document.querySelectorAll('*')].flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName} ${a.name}`)),
      jsLinks: [...document.querySelectorAll('[href], [src]')].length,
    }));
    expect(active).toEqual({ scripts: 0, handlers: [], jsLinks: 0 });
    // The strings are still shown, as text, literally.
    const body = (await page.textContent('body')) ?? '';
    for (const i of [0, 1, 2, 3, 6, 7, 8, 9]) expect(body).toContain(hostile(i));
    expect(await page.title()).toBe(`run ${hostile(4)}`);
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
