/**
 * Reading and writing ONNX protobuf files (onnx-proto, protobufjs-generated) and turning tensors
 * (initializers, Constant node values) into Float32Arrays.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import { writeFileAtomic } from '../util/atomic.ts';
import { resolveConfined } from '../io/confine.ts';
import { UserError } from '../util/errors.ts';
import { SIZE_LIMITS, formatSize, readFileLimited } from '../util/limits.ts';
import { float16BitsToFloat32 } from './float16.ts';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** ONNX TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;

/** int64 fields decode as Long objects (or numbers); this gives a plain number. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function decodeModelProto(bytes: Uint8Array, what = 'model'): ModelProto {
  try {
    const model = onnx.ModelProto.decode(bytes);
    if (!model.graph) throw new Error('no graph');
    return model;
  } catch (e) {
    throw new UserError(`${what} is not a readable ONNX model: ${(e as Error).message}`);
  }
}

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

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number));
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

/** A tensor's values as float32 (float, float16, double, int32, int64 supported). */
export function initializerToFloat32(t: TensorProto, baseDir?: string): Float32Array {
  const count = tensorDims(t).reduce((a, b) => a * b, 1);
  const type = t.dataType ?? 0;
  let raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = readExternal(t, baseDir);
  const out = new Float32Array(count);
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = { [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [DataType.DOUBLE]: 8, [DataType.INT32]: 4, [DataType.INT64]: 8 }[type];
    if (!width) throw new UserError(`tensor ${t.name}: data type ${type} cannot be read as float`);
    if (raw.byteLength !== count * width) {
      throw new UserError(`tensor ${t.name}: ${raw.byteLength} bytes of data for ${count} elements of type ${type}`);
    }
    for (let i = 0; i < count; i++) {
      if (type === DataType.FLOAT) out[i] = view.getFloat32(i * 4, true);
      else if (type === DataType.FLOAT16) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      else if (type === DataType.DOUBLE) out[i] = view.getFloat64(i * 8, true);
      else if (type === DataType.INT32) out[i] = view.getInt32(i * 4, true);
      else out[i] = Number(view.getBigInt64(i * 8, true));
    }
    return out;
  }
  let values: ArrayLike<number>;
  if (type === DataType.FLOAT) values = t.floatData ?? [];
  else if (type === DataType.DOUBLE) values = t.doubleData ?? [];
  else if (type === DataType.INT64) values = (t.int64Data ?? []).map((v) => toNumber(v as number));
  else if (type === DataType.INT32) values = t.int32Data ?? [];
  else if (type === DataType.FLOAT16) values = (t.int32Data ?? []).map(float16BitsToFloat32);
  else throw new UserError(`tensor ${t.name}: data type ${type} cannot be read as float`);
  if (values.length !== count) {
    throw new UserError(`tensor ${t.name}: ${values.length} values for shape [${tensorDims(t).join(', ')}]`);
  }
  out.set(values);
  return out;
}
