/**
 * Reading and writing ONNX protobuf files, and external data read from the model's folder; the
 * messages themselves and tensor values without file I/O are in proto-core.ts (re-exported here).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { resolveConfined } from '../io/confine.ts';
import { UserError } from '../util/errors.ts';
import { SIZE_LIMITS, formatSize, readFileLimited } from '../util/limits.ts';
import { decodeModelProto, initializerToFloat32 as tensorToFloat32, onnx, type ExternalBytes, type ModelProto, type TensorProto } from './proto-core.ts';

export { DataType, decodeModelProto, onnx, tensorDims, toNumber } from './proto-core.ts';
export type { ExternalBytes, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './proto-core.ts';

export function loadModelProto(file: string): ModelProto {
  if (!fs.existsSync(file)) throw new UserError(`ONNX model ${file} does not exist`);
  return decodeModelProto(readFileLimited(file, 'protobuf'), `ONNX file ${file}`);
}

/** Refuses to write what protobuf (and onnxruntime) could not read back: 2 GB or more. */
export function encodeModelProto(model: ModelProto, what = 'ONNX model'): Uint8Array {
  const bytes = onnx.ModelProto.encode(model).finish();
  const limit = SIZE_LIMITS.protobuf;
  if (bytes.byteLength > limit.bytes) throw new UserError(`${what} would be ${formatSize(bytes.byteLength)}, more than a protobuf can hold: ${limit.hint}`);
  return bytes;
}

/** Writes atomically (temp file, then rename). */
export function saveModelProto(model: ModelProto, file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, encodeModelProto(model, file));
}

/**
 * The file an external-data `location` names, confined to the model's folder: after resolving `..` and
 * symlinks (realpath) it must lie inside `baseDir`, so a model file cannot make the toolkit (or onnxruntime)
 * read anything else on the machine.
 */
export function confinedExternalFile(baseDir: string, location: string, tensor: string): string {
  const refuse = (why: string) => new UserError(`tensor ${tensor}: external data location "${location}" ${why}; a model may only refer to files inside its own folder ${baseDir}`);
  const real = resolveConfined(baseDir, location, refuse);
  if (real === undefined) throw new UserError(`tensor ${tensor}: external data file "${location}" does not exist in ${baseDir}`);
  if (!fs.statSync(real).isFile()) throw refuse('is not a file');
  return real;
}

/** Where a tensor's external bytes are: a confined file, and an offset and length inside it. */
function externalSpan(t: TensorProto, baseDir: string | undefined): { file: string; location: string; offset: number; length: number } {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location || baseDir === undefined) {
    throw new UserError(`tensor ${t.name} is stored in external data but its file could not be located`);
  }
  const file = confinedExternalFile(baseDir, location, t.name ?? '?');
  const size = fs.statSync(file).size;
  const whole = (key: string, fallback: number) => {
    const v = entries.has(key) ? Number(entries.get(key)) : fallback;
    if (!Number.isSafeInteger(v) || v < 0) throw new UserError(`tensor ${t.name}: external data ${key} "${entries.get(key)}" is not a non-negative integer`);
    return v;
  };
  const offset = whole('offset', 0);
  const length = whole('length', size - offset);
  // Checked before allocating: a hostile length must not become a huge Buffer.
  if (offset + length > size) {
    throw new UserError(`tensor ${t.name}: external data ${location} has ${size} bytes, but the model asks for ${length} at offset ${offset}`);
  }
  return { file, location, offset, length };
}

/**
 * Checks every external-data reference of a model (confined location, offset and length inside the file)
 * without reading the bytes: run before the model reaches onnxruntime, which would otherwise follow them.
 */
export function checkExternalData(model: ModelProto, baseDir: string): void {
  for (const t of model.graph?.initializer ?? []) if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) externalSpan(t, baseDir);
}

function readExternal(t: TensorProto, baseDir: string | undefined): Uint8Array {
  const { file, location, offset, length } = externalSpan(t, baseDir);
  const buf = Buffer.alloc(length);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) throw new UserError(`tensor ${t.name}: external data ${location} ended after ${done} of ${length} bytes`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

/** Reads external data from files inside `baseDir` (confined: see confinedExternalFile). */
export function externalDataIn(baseDir: string | undefined): ExternalBytes {
  return (t) => readExternal(t, baseDir);
}

/** A tensor's values as float32; external data is read from files inside `baseDir`. */
export function initializerToFloat32(t: TensorProto, baseDir?: string): Float32Array {
  return tensorToFloat32(t, externalDataIn(baseDir));
}
