import { encodeSafetensors, readSafetensors, type SafeTensor } from '../io/safetensors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { sha256 } from '../util/hash.ts';
import { UserError } from '../util/errors.ts';

/**
 * The checkpoint's tensor file: float32 tensors in the project's safetensors codec
 * (src/io/safetensors.ts), with only F32 accepted back so a checkpoint never silently changes precision.
 */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** Writes the file (atomically) and returns its sha256. */
export function writeTensorFile(file: string, tensors: Map<string, NamedTensor>): string {
  const safe = new Map<string, SafeTensor>();
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] holds ${size} values, data has ${t.data.length}`);
    safe.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
  }
  const bytes = encodeSafetensors(safe);
  writeFileAtomic(file, bytes);
  return sha256(bytes);
}

export function readTensorFile(file: string): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [name, t] of readSafetensors(file).tensors) {
    if (t.dtype !== 'F32') throw new UserError(`${file}: not a valid tensor file (tensor ${name} has dtype ${t.dtype}, expected F32)`);
    out.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  return out;
}
