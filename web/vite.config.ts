/**
 * The web playground: `npm run web` serves it, `npm run web:build` writes a static site to web/dist.
 * Multi-threaded wasm needs a cross-origin-isolated page, so both servers send COOP/COEP; a static host
 * must send the same two headers (without them everything works on one wasm thread).
 */
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The page shares src/ with the CLI; a Node built-in reached from our own code would be replaced by an
 * empty stub and fail at run time, so the build stops and names the importer instead.
 */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'distill-no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (!importer || importer.includes('node_modules')) return null;
      if (id.startsWith('node:') || builtins.has(id.split('/')[0])) {
        this.error(`${path.relative(path.dirname(here), importer)} imports "${id}": code the web page uses must not use Node I/O (put it behind an interface)`);
      }
      return null;
    },
  };
}

export default defineConfig({
  root: here,
  // Relative asset URLs: the built folder works from any path of any static server.
  base: './',
  plugins: [noNodeBuiltins()],
  server: { headers: ISOLATION_HEADERS, fs: { allow: [path.dirname(here)] } },
  preview: { headers: ISOLATION_HEADERS },
  // onnxruntime-web finds its .wasm next to its own module (import.meta.url); pre-bundling would move it.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { outDir: path.join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
  worker: { format: 'es' },
});
