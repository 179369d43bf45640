/**
 * The web playground, built by Vite exactly as `npm run web:build` builds it, served by a plain static
 * server and driven in headless Chromium: the page's tokenizer gives Node's ids, and its predictions on
 * the demo sentences (student fp32 and int8, and the demo teacher) are the CLI's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/data/tokenizer.ts';
import { predictTexts, type Prediction } from '../../src/eval/predict.ts';
import { DEMO_TASK, DEMO_TEACHER, ROOT, tinyStudentFolders } from '../helpers/tiny-models.ts';
import { serveStatic } from './serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`web playground test skipped: ${CHROMIUM} not found (apt-get install chromium)`);

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
/** The demo task's dev sentences the page classifies. */
const DEMO = fs.readFileSync(path.join(DEMO_TASK, 'dev.tsv'), 'utf8').split('\n').slice(1).filter((l) => l.trim()).slice(0, 40).map((l) => l.split('\t')[0]);

interface PageRow {
  student: { label?: string; probs?: number[] };
  teacher: { label?: string; probs?: number[] };
}

describe.skipIf(!hasChromium)('web playground in headless Chromium', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'web-playground-'));
  let browser: Browser;
  let page: Page;
  let server: Awaited<ReturnType<typeof serveStatic>>;
  let onnxDir = '';
  let attnDir = '';
  const errors: string[] = [];

  beforeAll(async () => {
    const dist = path.join(root, 'dist');
    await build({ configFile: path.join(ROOT, 'web/vite.config.ts'), logLevel: 'warn', build: { outDir: dist, emptyOutDir: true } });
    ({ onnxDir } = await tinyStudentFolders(root, ['negative', 'positive'], 5));
    const { exportStudent } = await import('../../src/export/export.ts');
    attnDir = path.join(root, 'student-attn');
    await exportStudent({ studentFolder: path.join(root, 'student'), outDir: attnDir, withIntermediates: true });
    server = await serveStatic(dist, ISOLATION);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(server.url);
    await waitReady(page);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function waitReady(p: Page): Promise<void> {
    await p.waitForFunction(() => ['ready', 'error'].includes(document.getElementById('status')!.dataset.state ?? ''), null, { timeout: 100_000 });
    const error = await p.textContent('#error');
    if ((await p.getAttribute('#status', 'data-state')) === 'error') throw new Error(`page error: ${error}`);
  }

  async function act(fn: () => Promise<void>): Promise<void> {
    await fn();
    await waitReady(page);
  }

  async function classify(lines: string[]): Promise<PageRow[]> {
    await page.fill('#text', lines.join('\n'));
    await act(() => page.click('#classify'));
    return page.$$eval('#results tbody tr', (trs) =>
      trs.map((tr) => {
        const read = (td: Element) => {
          const d = (td as HTMLElement).dataset;
          return { label: d.label, probs: d.probs ? (JSON.parse(d.probs) as number[]) : undefined };
        };
        return { student: read(tr.children[2]), teacher: read(tr.children[3]) };
      }),
    );
  }

  function expectSame(got: { label?: string; probs?: number[] }[], want: Prediction[]): void {
    expect(got.map((g) => g.label)).toEqual(want.map((w) => w.label));
    for (let i = 0; i < want.length; i++) {
      for (let c = 0; c < want[i].probs!.length; c++) expect(Math.abs(got[i].probs![c] - want[i].probs![c])).toBeLessThan(1e-4);
    }
  }

  it('is cross-origin isolated, so wasm runs on several threads', async () => {
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  });

  it('tokenizes in the page with the same ids as Node', async () => {
    await page.selectOption('#provider', 'wasm');
    await waitReady(page);
    await act(() => page.setInputFiles('#student-folder', onnxDir));
    const node = await loadTokenizer(onnxDir);
    const cases: [string, string?][] = [
      ['the film was not good , but the acting was great !'],
      ['Naïve CAFÉ déjà-vu — “quoted” ΣΊΣΥΦΟΣ 東京 emoji 🎬 x'],
      ['  spaces   and\ttabs  ', 'a second text of a pair'],
      ['unknownwordzzz qwerty', 'the premise looked weak'],
    ];
    for (const [a, b] of cases) {
      const inPage = await page.evaluate(([x, y]) => (window as unknown as { playground: { encode(a: string, b?: string): unknown } }).playground.encode(x!, y), [a, b]);
      expect(inPage, a).toEqual(node.encode(a, b));
    }
  });

  it('classifies the demo sentences with the labels and probabilities of the CLI (student fp32 and int8, teacher), on wasm', async () => {
    await act(() => page.setInputFiles('#teacher-folder', DEMO_TEACHER));
    expect(await page.textContent('#runtime')).toMatch(/onnxruntime-web wasm \(\d+ threads?\)/);
    const rows = await classify(DEMO);
    expect(rows).toHaveLength(DEMO.length);
    const teacher = await predictTexts(DEMO_TEACHER, DEMO);
    expect(new Set(teacher.map((t) => t.label)).size).toBe(2); // the sentences exercise both classes
    expectSame(rows.map((r) => r.teacher), teacher);
    expectSame(rows.map((r) => r.student), await predictTexts(onnxDir, DEMO));
    // Size, latency and the ratios against the teacher.
    const summary = await page.$$eval('#summary tbody tr', (trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
    expect(summary.map((s) => s.model)).toEqual(['student', 'teacher']);
    expect(summary.every((s) => Number(s.latencyMs) > 0 && Number(s.sizeBytes) > 0)).toBe(true);
    expect(await page.textContent('#ratios')).toMatch(/student vs teacher: [\d.]+× smaller, [\d.]+× faster at batch 1/);
    // This export has no attention outputs: the page says how to get them.
    expect(await page.textContent('#attention-note')).toContain('--with-intermediates');

    await page.selectOption('#precision', 'int8');
    await waitReady(page);
    expect(await page.textContent('#student-info')).toContain('onnx/model_quantized.onnx');
    const int8 = await classify(DEMO);
    expectSame(int8.map((r) => r.student), await predictTexts(onnxDir, DEMO, { quantized: true }));
  });

  it('draws the attention map of the chosen layer and head from an export with attention outputs', async () => {
    await page.selectOption('#precision', 'fp32');
    await waitReady(page);
    await act(() => page.setInputFiles('#student-folder', attnDir));
    await classify(DEMO.slice(0, 3));
    expect(await page.$$eval('#layer option', (o) => o.length)).toBe(2);
    expect(await page.$$eval('#head option', (o) => o.length)).toBe(2);
    await page.selectOption('#layer', '1');
    await waitReady(page);
    await page.selectOption('#head', '1');
    await waitReady(page);
    const tokens = await page.$$eval('#tokens span', (s) => s.length);
    expect(tokens).toBe((await loadTokenizer(attnDir)).encode(DEMO[0]).inputIds.length);
    expect(await page.getAttribute('#attention', 'data-tokens')).toBe(String(tokens));
    expect(await page.getAttribute('#attention', 'data-head')).toBe('1');
    // Something was drawn: the heat map has cells of several shades.
    const shades = await page.evaluate(() => {
      const c = document.getElementById('attention') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    });
    expect(shades).toBeGreaterThan(10);
    const shot = path.join(root, 'playground.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.DISTILL_WEB_SCREENSHOT) fs.copyFileSync(shot, process.env.DISTILL_WEB_SCREENSHOT);
  });

  // On SwiftShader, onnxruntime-web's WebGPU provider fails on the exported graph's first Gather ("no GPU data
  // for input"): the page must then fall back to wasm, say why, and still give the CLI's labels. Where WebGPU
  // works (a real GPU), the same case checks the labels on WebGPU.
  it('on "auto" uses WebGPU where it works, else falls back to wasm and says why, with the same labels', async () => {
    const hasAdapter = await page.evaluate(async () => !!(await (navigator as Partial<Navigator>).gpu?.requestAdapter()));
    if (!hasAdapter) {
      console.warn('web playground: this Chromium has no WebGPU adapter; the WebGPU case is not run');
      return;
    }
    await page.selectOption('#provider', 'auto');
    await waitReady(page);
    await act(() => page.setInputFiles('#student-folder', onnxDir));
    const provider = await page.getAttribute('#runtime', 'data-provider');
    const shown = (await page.textContent('#runtime')) ?? '';
    if (provider === 'wasm') expect(shown).toMatch(/WebGPU failed on this model \(.+\): running on wasm/);
    else expect(provider).toBe('webgpu');
    const rows = await classify(DEMO.slice(0, 12));
    const want = await predictTexts(onnxDir, DEMO.slice(0, 12));
    expect(rows.map((r) => r.student.label)).toEqual(want.map((w) => w.label));
    expect(rows.map((r) => r.teacher.label)).toEqual((await predictTexts(DEMO_TEACHER, DEMO.slice(0, 12))).map((w) => w.label));
  });

  it('logged no errors in the page', () => {
    // onnxruntime's own log lines (node placement warnings) come through console.error; they are not errors,
    // nor is the failed WebGPU kernel the page recovered from by falling back to wasm (checked above).
    const recovered = (e: string) => /\[E:onnxruntime:.*(JSEP|WebGPU)/.test(e) || /\[WebGPU\] Kernel .* failed/.test(e);
    expect(errors.filter((e) => !/\[W:onnxruntime:/.test(e) && !recovered(e))).toEqual([]);
  });
});
