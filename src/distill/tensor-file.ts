import * as fs from 'node:fs';
import { UserError } from '../util/errors.ts';

/**
 * A minimal safetensors reader/writer for float32 tensors (the checkpoint's tensor file): 8-byte
 * little-endian header length, a JSON header {name: {dtype: "F32", shape, data_offsets}}, padded
 * with spaces to a multiple of 8, then the raw little-endian data.
 */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export function writeTensorFile(file: string, tensors: Map<string, NamedTensor>): void {
  const header: Record<string, { dtype: 'F32'; shape: number[]; data_offsets: [number, number] }> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] holds ${size} values, data has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, len);
    fs.writeSync(fd, headerBytes);
    for (const t of tensors.values()) {
      // Float32Array is little-endian on every platform Node runs on.
      fs.writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readTensorFile(file: string): Map<string, NamedTensor> {
  const bytes = fs.readFileSync(file);
  const fail = (why: string): never => {
    throw new UserError(`${file}: not a valid tensor file (${why})`);
  };
  if (bytes.length < 8) fail('shorter than its 8-byte header length');
  const headerLen = Number(bytes.readBigUInt64LE(0));
  if (8 + headerLen > bytes.length) fail(`header length ${headerLen} runs past the end of the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  const base = 8 + headerLen;
  const out = new Map<string, NamedTensor>();
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (h.dtype !== 'F32') fail(`tensor ${name} has dtype ${h.dtype}, expected F32`);
    const [start, end] = h.data_offsets;
    if (base + end > bytes.length || end < start) fail(`tensor ${name} data [${start}, ${end}) runs past the end of the file`);
    const copy = new Uint8Array(end - start);
    copy.set(bytes.subarray(base + start, base + end));
    const data = new Float32Array(copy.buffer);
    if (data.length !== h.shape.reduce((a, b) => a * b, 1)) fail(`tensor ${name} size does not match its shape [${h.shape}]`);
    out.set(name, { shape: h.shape, data });
  }
  return out;
}
