/**
 * Streamed command output: waits for the reader when the pipe is full, and notices when it goes away
 * (`distill predict … | head` closes the pipe: EPIPE ends the command quietly, with exit code 0).
 */
import { once } from 'node:events';
import type { Io } from './args.ts';

export class OutputSink {
  private closed = false;
  private readonly stream: NodeJS.WritableStream | undefined;

  constructor(private readonly io: Io) {
    this.stream = io.stdout;
    this.stream?.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.closed = true;
      else throw e;
    });
  }

  /** False once the reader has gone: stop producing. */
  get open(): boolean {
    return !this.closed;
  }

  async write(text: string): Promise<boolean> {
    if (this.closed) return false;
    if (!this.stream) {
      this.io.out(text);
      return true;
    }
    let ok: boolean;
    try {
      ok = this.stream.write(text);
    } catch (e) {
      // A pipe whose reader has gone fails the write itself on some platforms.
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
      this.closed = true;
      return false;
    }
    if (!ok) {
      // once() rejects when 'error' fires while waiting: the error handler above has already recorded it.
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]).catch(() => undefined);
    }
    return !this.closed;
  }
}
