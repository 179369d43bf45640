/**
 * The WebGPU loop kernels (web/src/distil/loop-kernels.ts) in headless Chromium's WebGPU (SwiftShader here):
 * each replaced op, over the shapes the demo student trains with and the edge cases of each kernel (reduction
 * axes, transposes, batch broadcasting, sizes that are not multiples of the 4×4 matMul block), gives the cpu
 * backend's values and shapes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/tiny-models.ts';
import { serveStatic } from './serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);

describe.skipIf(!hasChromium)('WebGPU loop kernels, headless Chromium', () => {
  it('every replaced op gives the cpu backend\'s shapes and values (float32 sums in another order: 1e-4 relative)', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'web-loop-kernels-'));
    const dist = path.join(root, 'dist');
    await build({ root: path.join(ROOT, 'test/web/loop-kernels'), configFile: false, logLevel: 'warn', base: './', build: { outDir: dist, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 } });
    const server = await serveStatic(dist, {});
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}index.html`);
      await page.waitForFunction(() => document.title === 'ready', null, { timeout: 60_000 });
      const r = await page.evaluate('window.check()') as { skipped?: string; adapter?: string; installed?: string[]; results?: { name: string; shapes: [number[], number[]]; maxRelDiff: number }[] };
      if (r.skipped) {
        console.warn(`WebGPU loop kernels not checked: ${r.skipped}`);
        return;
      }
      expect(r.installed).toEqual(expect.arrayContaining(['Sum', 'Mean', 'Max', 'Min', 'Softmax', 'BatchMatMul', 'Transpose', 'Add', 'Sub', 'Multiply']));
      for (const c of r.results!) {
        expect(c.shapes[0], c.name).toEqual(c.shapes[1]);
        expect(c.maxRelDiff, c.name).toBeLessThan(1e-4);
      }
      expect(r.results!.length).toBe(24);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 900_000);
});
