/**
 * ONNX protobuf messages (onnx-proto, protobufjs-generated) without file I/O: decoding, tensor shapes
 * and tensor values as Float32Arrays. The web page uses this (graph surgery runs there too); proto.ts
 * adds reading and writing files and reading external data from disk for Node.
 */
import onnxProto from 'onnx-proto';
import { UserError } from '../util/errors.ts';
import { float16BitsToFloat32 } from './float16.ts';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** ONNX TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;

/** The bytes of a tensor stored as external data (Node reads them from the model's folder: proto.ts). */
export type ExternalBytes = (t: TensorProto) => Uint8Array;

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

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number));
}

/** A tensor's values as float32 (float, float16, double, int32, int64 supported); `external` reads external data. */
export function initializerToFloat32(t: TensorProto, external?: ExternalBytes): Float32Array {
  const count = tensorDims(t).reduce((a, b) => a * b, 1);
  const type = t.dataType ?? 0;
  let raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (!external) throw new UserError(`tensor ${t.name} is stored in external data but its file could not be located`);
    raw = external(t);
  }
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
