/**
 * Which tfjs backends the backend-parity tests (backend, student, trainer, export parity) run on:
 * `wasm` always, and the native `tensorflow` backend where tfjs-node's addon is built
 * (`npm run setup:native`). DISTILL_TEST_BACKENDS=wasm,tensorflow overrides the list; asking for
 * `tensorflow` there when it is not built fails the tests instead of skipping them.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export type TestBackend = 'wasm' | 'tensorflow';

/** True when @tensorflow/tfjs-node resolves and its compiled addon is present. Does not load it. */
export function nativeBackendBuilt(): boolean {
  try {
    const pkg = createRequire(path.join(ROOT, 'package.json')).resolve('@tensorflow/tfjs-node/package.json');
    const lib = path.join(path.dirname(pkg), 'lib');
    return fs.existsSync(lib) && fs.readdirSync(lib).some((d) => fs.existsSync(path.join(lib, d, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

let noticeShown = false;

export function testBackends(): TestBackend[] {
  const env = process.env.DISTILL_TEST_BACKENDS;
  if (env) {
    const list = env.split(',').map((s) => s.trim()).filter(Boolean);
    for (const b of list) {
      if (b !== 'wasm' && b !== 'tensorflow') throw new Error(`DISTILL_TEST_BACKENDS: unknown backend "${b}" (wasm, tensorflow)`);
    }
    return list as TestBackend[];
  }
  if (nativeBackendBuilt()) return ['wasm', 'tensorflow'];
  if (!noticeShown) {
    noticeShown = true;
    console.warn('tfjs-node is not built here (npm run setup:native): backend-parity tests run on wasm only, tensorflow skipped');
  }
  return ['wasm'];
}
