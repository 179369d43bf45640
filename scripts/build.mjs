#!/usr/bin/env node
// `npm run build`: src/ → dist/ (JavaScript + .d.ts) that plain Node 20 runs without tsx.
// tsc rewrites the sources' relative `.ts` imports to `.js` in the JavaScript (rewriteRelativeImportExtensions)
// but leaves them as written in the .d.ts files; those are rewritten here so the declarations match the files
// that ship. Non-TypeScript files the code loads at run time (the wasm pthread worker) are copied beside it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g;
function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
let rewritten = 0;
for (const file of walk(dist)) {
  if (!file.endsWith('.d.ts')) continue;
  const text = fs.readFileSync(file, 'utf8');
  const out = text.replace(RELATIVE_TS, '$1$2.js$3');
  if (out !== text) {
    fs.writeFileSync(file, out);
    rewritten++;
  }
}
for (const file of walk(path.join(root, 'src'))) {
  if (/\.(ts|tsx)$/.test(file)) continue;
  const target = path.join(dist, path.relative(path.join(root, 'src'), file));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(file, target);
}
fs.chmodSync(path.join(dist, 'cli/bin.js'), 0o755);
const left = walk(dist).filter((f) => f.endsWith('.js') && /from\s*['"]\.{1,2}\/[^'"]*\.ts['"]/.test(fs.readFileSync(f, 'utf8')));
if (left.length) throw new Error(`build: .ts imports left in ${left.join(', ')}`);
console.log(`build: dist/ written (${rewritten} declaration files had their .ts imports rewritten)`);
