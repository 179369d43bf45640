import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint, tensorsWithPrefix } from '../../src/train/checkpoint.ts';
import { readTensorFile, writeTensorFile } from '../../src/train/tensor-file.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));

describe('tensor file', () => {
  it('round-trips float32 tensors bit for bit and is valid safetensors framing', () => {
    const dir = tmp();
    const file = path.join(dir, 't.safetensors');
    const a = Float32Array.from([1.5, -0, Math.PI, 1e-40]);
    writeTensorFile(file, new Map([['a.weight', { shape: [2, 2], data: a }], ['b', { shape: [1], data: Float32Array.from([7]) }]]));
    const bytes = fs.readFileSync(file);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    expect(headerLen % 8).toBe(0);
    expect(JSON.parse(bytes.subarray(8, 8 + headerLen).toString()).b).toEqual({ dtype: 'F32', shape: [1], data_offsets: [16, 20] });
    const back = readTensorFile(file);
    expect(Buffer.from(back.get('a.weight')!.data.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(back.get('a.weight')!.shape).toEqual([2, 2]);
  });
  it('rejects a truncated file with its name', () => {
    const dir = tmp();
    const file = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(file, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    expect(() => readTensorFile(file)).toThrow(/bad.safetensors.*runs past the end/);
  });
});

describe('checkpoint slots', () => {
  it('the pointer always names a complete folder; older folders are pruned', () => {
    const root = tmp();
    expect(loadCheckpoint(root, 'latest')).toBeUndefined();
    const t = (v: number) => new Map([['student.x', { shape: [1], data: Float32Array.from([v]) }]]);
    saveCheckpoint(root, 'latest', { step: 10 }, t(1));
    saveCheckpoint(root, 'best', { step: 10 }, t(1));
    saveCheckpoint(root, 'latest', { step: 20 }, t(2));
    const ck = loadCheckpoint<{ step: number }>(root, 'latest')!;
    expect(ck.state.step).toBe(20);
    expect(tensorsWithPrefix(ck.tensors, 'student.').get('x')!.data[0]).toBe(2);
    expect(fs.readdirSync(root).sort()).toEqual(['best-00000010', 'best.json', 'latest-00000020', 'latest.json']);
    // saving the same step again (a resumed run) keeps a valid pointer throughout
    saveCheckpoint(root, 'latest', { step: 20 }, t(3));
    expect(loadCheckpoint<{ step: number }>(root, 'latest')!.tensors.get('student.x')!.data[0]).toBe(3);
    expect(loadCheckpoint<{ step: number }>(root, 'best')!.state.step).toBe(10);
  });
  it('a leftover temporary folder from a killed write is ignored and cleaned', () => {
    const root = tmp();
    fs.mkdirSync(path.join(root, '.latest-00000030.999.tmp'));
    saveCheckpoint(root, 'latest', { step: 5 }, new Map());
    expect(fs.readdirSync(root).sort()).toEqual(['latest-00000005', 'latest.json']);
  });
});
