/**
 * Finds a Python interpreter that can import the given modules, for tests that cross-check against the
 * Python reference stack (onnx, torch, transformers, tensorflow). Looked for, in order: $DISTILL_PYTHON,
 * the repository's `.venv` (made by `.ci/run` from the machine's package index), python3, /usr/bin/python3.
 * Tests skip with the returned reason when none is usable: Python is never a requirement of the toolkit.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export function pythonCandidates(): string[] {
  const venv = path.join(ROOT, '.venv/bin/python');
  return [process.env.DISTILL_PYTHON, fs.existsSync(venv) ? venv : undefined, 'python3', '/usr/bin/python3']
    .filter((p): p is string => !!p);
}

export function findPython(modules: string[]): { python?: string; reason: string } {
  const probe = `import importlib; print(' '.join(getattr(importlib.import_module(m), '__version__', '?') for m in ${JSON.stringify(modules)}))`;
  for (const python of pythonCandidates()) {
    const r = spawnSync(python, ['-c', probe], { encoding: 'utf8' });
    if (r.status === 0) return { python, reason: `${modules.join(', ')} ${r.stdout.trim()}` };
  }
  return { reason: `no Python with ${modules.join(', ')} (run .ci/run's venv step or set DISTILL_PYTHON) - skipped` };
}
