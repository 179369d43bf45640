/**
 * Child process for the kill -9 test: builds a cache with the options given as JSON in argv[2],
 * sleeping `delayMs` after each batch so the parent can kill it mid-build.
 */
import { buildCache, type BuildCacheOptions } from '../../src/cache/writer.ts';

const { delayMs, ...opts } = JSON.parse(process.argv[2]) as BuildCacheOptions & { delayMs: number };
const pause = new Int32Array(new SharedArrayBuffer(4));
await buildCache({ ...opts, notice: () => {}, onProgress: () => Atomics.wait(pause, 0, 0, delayMs) });
