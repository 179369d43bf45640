/** Finds a python3 that can `import onnx` (CI: Debian python3-onnx), or explains why none is usable. */
import { spawnSync } from 'node:child_process';

export function findPythonWithOnnx(): { python?: string; reason: string } {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, reason: `onnx ${r.stdout.trim()}` };
  }
  return { reason: 'no python3 with the onnx package (install python3-onnx) - onnx.checker test skipped' };
}
