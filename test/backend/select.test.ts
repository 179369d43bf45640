import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { describeBackend, initBackend, intraOpThreads, nativeBackendInfo, type BackendPreference } from '../../src/backend/select.ts';
import { testBackends } from '../helpers/backends.ts';
import { clampThreads } from '../../src/backend/wasm-threads.ts';
import { UserError } from '../../src/util/errors.ts';

describe('initBackend', () => {
  it("starts cpu without tfjs's Node banner (the backend line is printed instead)", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await initBackend('cpu');
      tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync());
      expect(warn.mock.calls.flat().join('\n')).not.toMatch(/looks like you are running TensorFlow\.js in Node/);
    } finally {
      warn.mockRestore();
    }
  });

  it('rejects unknown names and bad thread counts with a UserError', async () => {
    await expect(initBackend('gpu' as BackendPreference)).rejects.toThrow(UserError);
    await expect(initBackend('wasm', { threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
  });

  it('names the missing package when tensorflow is asked for but absent', async () => {
    let hasNode = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      hasNode = false;
    }
    if (hasNode) return; // nothing to check where tfjs-node is installed
    await expect(initBackend('tensorflow')).rejects.toThrow(/npm install @tensorflow\/tfjs-node/);
  });

  it('starts wasm on every core with the extra kernels, and says so', async () => {
    const info = await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBe(clampThreads(undefined));
    expect(info.extraKernels).toEqual(['UnsortedSegmentSum', 'BatchMatMul']);
    expect(describeBackend(info)).toBe(`wasm (${info.threads} thread${info.threads === 1 ? '' : 's'})`);
    // The threaded build computes correctly: a product big enough to be split across threads.
    const a = tf.range(0, 256 * 64).reshape([256, 64]).div(1000);
    const b = tf.ones([64, 32]);
    const row = tf.matMul(a, b).slice([255, 0], [1, 1]).dataSync()[0];
    const expected = Array.from({ length: 64 }, (_, j) => (255 * 64 + j) / 1000).reduce((x, y) => x + y);
    expect(row).toBeCloseTo(expected, 3);
    tf.dispose([a, b]);
  });

  it('returns the same info when called again', async () => {
    const first = await initBackend('wasm');
    expect(await initBackend('wasm')).toBe(first);
  });

  it.skipIf(!testBackends().includes('tensorflow'))('starts the native tensorflow backend and names its libtensorflow', async () => {
    const info = await initBackend('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(info.libVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.gpu).toBe(false); // tfjs-node (not -gpu): TensorFlow computes on the CPU
    expect(describeBackend(info)).toBe(`tensorflow (libtensorflow ${info.libVersion}, ${info.threads} threads)`.replace(' 1 threads', ' 1 thread'));
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    expect(Array.from(tf.matMul(a, a).dataSync())).toEqual([7, 10, 15, 22]);
    a.dispose();
    await initBackend('wasm');
  });

  it('reads the intra-op pool size from TF_NUM_INTRAOP_THREADS, else one per core', () => {
    expect(intraOpThreads('1', 8)).toBe(1);
    expect(intraOpThreads(undefined, 8)).toBe(8);
    expect(intraOpThreads('0', 8)).toBe(8);
    expect(intraOpThreads('two', 8)).toBe(8);
  });

  it.skipIf(!testBackends().includes('tensorflow'))('threads sizes TensorFlow\'s intra-op pool (threads alive after a product)', () => {
    // A fresh process per setting: TensorFlow reads the variable once, when it loads.
    const script = path.resolve('test/helpers/tf-threads-probe.ts');
    const probe = (n: number) => {
      const env = { ...process.env };
      delete env.TF_NUM_INTRAOP_THREADS;
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, String(n)], { encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { line: string; threads: number };
    };
    const one = probe(1);
    const three = probe(3);
    expect(one.line).toMatch(/^tensorflow \(libtensorflow [\d.]+, 1 thread\)$/);
    expect(three.line).toMatch(/, 3 threads\)$/);
    expect(three.threads - one.threads).toBe(2); // two more pool threads: the setting reached TensorFlow
  });

  it('says when tfjs-node-gpu found no GPU, and which library runs', () => {
    expect(nativeBackendInfo({ isUsingGpuDevice: false, binding: { TF_Version: '2.9.1' } })).toEqual({ libVersion: '2.9.1', usingGpu: false });
    expect(nativeBackendInfo({ isUsingGpuDevice: true, binding: { TF_Version: '2.9.1' } }).usingGpu).toBe(true);
    expect(nativeBackendInfo(undefined)).toEqual({ libVersion: undefined, usingGpu: false });
    const base = { name: 'tensorflow', threads: 2, extraKernels: [] };
    expect(describeBackend({ ...base, gpu: true, libVersion: '2.9.1' })).toBe('tensorflow (libtensorflow 2.9.1, GPU)');
    expect(describeBackend({ ...base, gpu: false, libVersion: '2.9.1', gpuMissing: true }))
      .toBe('tensorflow (libtensorflow 2.9.1, 2 threads, tfjs-node-gpu found no GPU: computing on the CPU)');
  });

  it('clamps the thread count to the build pool', () => {
    expect(clampThreads(undefined, 2)).toBe(2);
    expect(clampThreads(undefined, 64)).toBe(8);
    expect(clampThreads(3, 2)).toBe(3);
    expect(os.availableParallelism()).toBeGreaterThan(0);
  });
});
