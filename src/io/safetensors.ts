/**
 * The safetensors format (github.com/huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`
 * (padded with spaces to a multiple of 8), then the raw little-endian tensor bytes; offsets are relative
 * to the end of the header and must tile the data exactly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { decodeFloat16 } from '../onnx/float16.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { SIZE_LIMITS, checkFileSize, formatSize, readFileLimited } from '../util/limits.ts';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8';

export type SafeData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** F16 and BF16 data are their raw 16-bit patterns (src/onnx/float16.ts encodes F16); toFloat32 converts any dtype to numbers. */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeData;
}

export interface SafetensorsContent {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const DTYPES: Record<SafeDType, { bytes: number; make: (buf: ArrayBuffer) => SafeData }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b) },
  F16: { bytes: 2, make: (b) => new Uint16Array(b) },
  BF16: { bytes: 2, make: (b) => new Uint16Array(b) },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b) },
  I32: { bytes: 4, make: (b) => new Int32Array(b) },
  U8: { bytes: 1, make: (b) => new Uint8Array(b) },
};

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

/** Reverses each element's bytes in place (only needed on big-endian hosts). */
function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function encodeSafetensors(tensors: Map<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const spec = DTYPES[t.dtype];
    if (!spec) throw new Error(`safetensors: tensor "${name}" has unsupported dtype ${t.dtype}`);
    if (count(t.shape) !== t.data.length || t.data.BYTES_PER_ELEMENT !== spec.bytes) {
      throw new Error(`safetensors: tensor "${name}" (${t.dtype}, shape [${t.shape}]) holds ${t.data.length} elements of ${t.data.BYTES_PER_ELEMENT} bytes`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(raw, pos);
    if (!LITTLE_ENDIAN_HOST) swapBytes(out.subarray(pos, pos + raw.length), t.data.BYTES_PER_ELEMENT);
    pos += raw.length;
  }
  return out;
}

/** Parses safetensors bytes; `source` names the file in error messages. Tensor data are copies. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContent {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  checkHeaderLength(n, bytes.length, source);
  const dataStart = 8 + Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(n)).toString('utf8'));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  const spans: [number, number, string][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string')) fail('__metadata__ is not an object of strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const spec = DTYPES[e?.dtype as SafeDType];
    if (!spec) fail(`tensor "${name}" has dtype ${JSON.stringify(e?.dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}" has shape ${JSON.stringify(shape)}`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor "${name}" has data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) fail(`tensor "${name}" data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes`);
    const s = shape as number[];
    if (end - begin !== count(s) * spec.bytes) fail(`tensor "${name}" (${e.dtype}, shape [${s}]) needs ${count(s) * spec.bytes} bytes, offsets give ${end - begin}`);
    // A fresh, aligned copy (Buffer.slice would share the file's pooled memory).
    const copy = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end));
    if (!LITTLE_ENDIAN_HOST) swapBytes(copy, spec.bytes);
    tensors.set(name, { dtype: e.dtype as SafeDType, shape: s, data: spec.make(copy.buffer) });
    spans.push([begin, end, name]);
  }
  // The tensors must tile the data: no gaps, no overlaps, nothing left over.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let expected = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== expected) fail(`tensor "${name}" starts at ${begin}, expected ${expected} (gap or overlap)`);
    expected = end;
  }
  if (expected !== dataLength) fail(`tensors cover ${expected} of ${dataLength} data bytes`);
  return { tensors, metadata };
}

/** The header length a file states, checked against the limit and the file's size before anything is read. */
function checkHeaderLength(n: bigint, fileBytes: number, source: string): void {
  const limit = SIZE_LIMITS.safetensorsHeader;
  if (n > BigInt(limit.bytes)) {
    throw new UserError(`${source}: not a valid safetensors file: header length ${n} is larger than the ${formatSize(limit.bytes)} a ${limit.what} may have`);
  }
  if (n > BigInt(fileBytes - 8)) throw new UserError(`${source}: not a valid safetensors file: header length ${n} exceeds the file: it runs past the end (${fileBytes} bytes)`);
}

export function readSafetensors(file: string): SafetensorsContent {
  if (!fs.existsSync(file)) throw new UserError(`${file}: file not found`);
  const size = checkFileSize(file, 'safetensorsFile');
  // The header length is checked against the file before the file is read whole.
  if (size >= 8) {
    const head = Buffer.alloc(8);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, 8, 0);
    } finally {
      fs.closeSync(fd);
    }
    checkHeaderLength(head.readBigUInt64LE(0), size, file);
  }
  return decodeSafetensors(readFileLimited(file, 'safetensorsFile'), file);
}

/** Writes atomically (temp file, then rename). */
export function writeSafetensors(file: string, tensors: Map<string, SafeTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** Any supported dtype as float32 (F32 data are returned as they are, not copied). */
export function toFloat32(t: SafeTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F16':
      return decodeFloat16(t.data as Uint16Array);
    case 'BF16': {
      const bits = t.data as Uint16Array;
      const u32 = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) u32[i] = bits[i] << 16;
      return new Float32Array(u32.buffer);
    }
    case 'I64':
      return Float32Array.from(t.data as BigInt64Array, (v) => Number(v));
    default:
      return Float32Array.from(t.data as Int32Array | Uint8Array);
  }
}
