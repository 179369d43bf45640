import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeFloat16 } from '../../src/onnx/float16.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  toFloat32,
  writeSafetensors,
  type SafeTensor,
} from '../../src/io/safetensors.ts';

/** Builds a file by hand: 8-byte LE header length, JSON header, raw data. */
function handMade(header: object, data: number[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return new Uint8Array(Buffer.concat([len, json, Buffer.from(data)]));
}

describe('safetensors', () => {
  it('writes the documented byte layout', () => {
    const bytes = encodeSafetensors(new Map<string, SafeTensor>([['a', { dtype: 'F32', shape: [1], data: Float32Array.of(1) }]]));
    const json = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    expect(Buffer.from(bytes.subarray(0, 8)).readBigUInt64LE()).toBe(BigInt(padded.length));
    expect(Buffer.from(bytes.subarray(8, 8 + padded.length)).toString()).toBe(padded);
    // 1.0f little-endian: 00 00 80 3f
    expect(Array.from(bytes.subarray(8 + padded.length))).toEqual([0, 0, 0x80, 0x3f]);
    expect((8 + padded.length) % 8).toBe(0);
  });

  it('reads a hand-made file with F16, I64 and metadata', () => {
    const bytes = handMade(
      {
        __metadata__: { format: 'pt' },
        h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
        n: { dtype: 'I64', shape: [1, 1], data_offsets: [4, 12] },
      },
      [0x00, 0x3c, 0x00, 0xc0, /* I64 -3 */ 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Array.from(toFloat32(tensors.get('h')!))).toEqual([1, -2]);
    expect(tensors.get('n')!.shape).toEqual([1, 1]);
    expect(Array.from(tensors.get('n')!.data as BigInt64Array)).toEqual([-3n]);
    expect(Array.from(toFloat32(tensors.get('n')!))).toEqual([-3]);
  });

  it('round-trips every dtype through a file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-'));
    const file = path.join(dir, 'x.safetensors');
    const tensors = new Map<string, SafeTensor>([
      ['f32', { dtype: 'F32', shape: [2, 3], data: Float32Array.of(0.5, -1.25, 3e-8, 1e30, -0, 7) }],
      ['f16', { dtype: 'F16', shape: [3], data: encodeFloat16(Float32Array.of(0.1, 2, -65504)) }],
      ['bf16', { dtype: 'BF16', shape: [2], data: Uint16Array.of(0x3f80, 0xc040) }],
      ['i64', { dtype: 'I64', shape: [2], data: BigInt64Array.of(5n, -9007199254740993n) }],
      ['i32', { dtype: 'I32', shape: [1], data: Int32Array.of(-7) }],
      ['u8', { dtype: 'U8', shape: [0], data: new Uint8Array(0) }],
    ]);
    writeSafetensors(file, tensors, { note: 'x' });
    const back = readSafetensors(file);
    expect(back.metadata).toEqual({ note: 'x' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      expect(back.tensors.get(name)!.dtype).toBe(t.dtype);
      expect(back.tensors.get(name)!.shape).toEqual(t.shape);
      expect(Array.from(back.tensors.get(name)!.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    }
    expect(Array.from(toFloat32(back.tensors.get('bf16')!))).toEqual([1, -3]);
    // 0.1 in half is 0x2e66 = 0.0999755859375
    expect(Array.from(toFloat32(back.tensors.get('f16')!))).toEqual([0.0999755859375, 2, -65504]);
    expect(fs.readdirSync(dir)).toEqual(['x.safetensors']); // no temp file left behind
  });

  it('rejects broken files with the reason and the file name', () => {
    const ok = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } };
    expect(() => decodeSafetensors(new Uint8Array(3), 'm.safetensors')).toThrow(/m\.safetensors: not a valid safetensors file: only 3 bytes/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1000n, true);
    expect(() => decodeSafetensors(huge)).toThrow(/header length 1000 exceeds the file/);
    expect(() => decodeSafetensors(handMade(ok, [0, 0, 0]))).toThrow(/data_offsets \[0, 4\] outside the 3 data bytes/);
    expect(() => decodeSafetensors(handMade(ok, [0, 0, 0, 0, 0]))).toThrow(/cover 4 of 5 data bytes/);
    expect(() => decodeSafetensors(handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, [0, 0, 0, 0]))).toThrow(/needs 8 bytes, offsets give 4/);
    expect(() => decodeSafetensors(handMade({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, [0]))).toThrow(/dtype "Q4"/);
    const overlap = { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } };
    expect(() => decodeSafetensors(handMade(overlap, [0, 0, 0]))).toThrow(/"b" starts at 1, expected 2/);
    const bad = handMade(ok, [0, 0, 0, 0]);
    bad[8] = 0x5b; // '[' breaks the JSON
    expect(() => decodeSafetensors(bad)).toThrow(/header is not JSON/);
    expect(() => readSafetensors('/nonexistent/x.safetensors')).toThrow(/file not found/);
  });
});
