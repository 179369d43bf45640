/** Finds a python3 that can `import onnx` (CI: Debian python3-onnx or the repository's .venv), or explains why none is usable. */
import { findPython } from '../helpers/python.ts';

export function findPythonWithOnnx(): { python?: string; reason: string } {
  return findPython(['onnx']);
}
