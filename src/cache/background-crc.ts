/**
 * CRC-32 of a sequence of buffers, computed on a worker thread. onnxruntime-node runs the teacher on
 * the main thread, so a checksum computed there adds its whole time to every batch; on a worker it
 * overlaps with the next batch's inference whenever a core is free (a worker message costs ~20 µs of
 * CPU, the CRC of a batch milliseconds). The buffers are shared (SharedArrayBuffer), so nothing is
 * copied: the caller reuses a buffer once update() has resolved.
 */
import { Worker } from 'node:worker_threads';
import { assertCrc32Available } from '../util/checksum.ts';

// CommonJS source run with eval: no worker file to locate in src/, dist/ or a bundle.
// The digest is formatted as crc32Hex (util/checksum.ts) does: 8 lowercase hex digits.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { crc32 } = require('node:zlib');
let value = 0;
parentPort.on('message', (m) => {
  if (m.buffer) {
    value = crc32(new Uint8Array(m.buffer, 0, m.length), value);
    parentPort.postMessage({ done: m.id });
  } else {
    parentPort.postMessage({ digest: (value >>> 0).toString(16).padStart(8, '0') });
    value = 0;
  }
});`;

export class BackgroundCrc32 {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private digestWaiter?: { resolve: (hex: string) => void; reject: (e: Error) => void };
  private nextId = 0;
  private failure?: Error;

  constructor() {
    assertCrc32Available(); // before the worker starts: a thrown constructor must leave no thread behind
    this.worker = new Worker(SOURCE, { eval: true });
    this.worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.done !== undefined) {
        this.pending.get(m.done)?.resolve();
        this.pending.delete(m.done);
      } else if (m.digest !== undefined) {
        this.digestWaiter?.resolve(m.digest);
        this.digestWaiter = undefined;
      }
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.digestWaiter?.reject(e);
      this.digestWaiter = undefined;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`internal: the checksum worker exited (code ${code})`)));
  }

  /** Adds bytes [0, length) of `buffer`; resolves once the worker has read them. */
  update(buffer: SharedArrayBuffer, length: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, buffer, length });
    });
  }

  /** Hex CRC-32 of everything added since the last digest (updates are processed in order); starts a new one. */
  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<string>((resolve, reject) => {
      this.digestWaiter = { resolve, reject };
      this.worker.postMessage({});
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('internal: the checksum worker was closed');
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
