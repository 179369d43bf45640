/**
 * The web playground: `npm run web` serves it, `npm run web:build` writes a static site to web/dist.
 * Multi-threaded wasm needs a cross-origin-isolated page, so both servers send COOP/COEP; a static host
 * must send the same two headers (without them everything works on one wasm thread).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { noNodeBuiltins } from './no-node-builtins.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: here,
  // Relative asset URLs: the built folder works from any path of any static server.
  base: './',
  plugins: [noNodeBuiltins(path.dirname(here))],
  server: { headers: ISOLATION_HEADERS, fs: { allow: [path.dirname(here)] } },
  preview: { headers: ISOLATION_HEADERS },
  // onnxruntime-web finds its .wasm next to its own module (import.meta.url); pre-bundling would move it.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
    // Its wasm threads start workers from the module's own URL: in the app's chunk they would run the page.
    // Two pages: the playground (index.html) and in-page distillation (distil.html).
    rollupOptions: { input: { main: path.join(here, 'index.html'), distil: path.join(here, 'distil.html') }, output: { manualChunks: (id) => (id.includes('/onnxruntime-web/') ? 'onnxruntime-web' : undefined) } },
  },
  worker: { format: 'es' },
});
