'use strict';
/*
 * The pthread worker of tfjs's threaded wasm build, runnable by Node's worker_threads.
 *
 * tfjs hands emscripten a `blob:` URL for this worker and a Blob for the main script; Node's
 * Worker accepts neither. wasm-threads.ts starts this file instead (a real path) and passes the
 * package's wasm-out folder. Here the factory is loaded with require(), emscripten's worker
 * source (shipped as a string in the package) is run as-is, and the 'load' message's Blob is
 * swapped for a marker that importScripts skips, since the factory is already loaded.
 */
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');

const wasmOut = workerData && workerData.wasmOutDir;
if (typeof wasmOut !== 'string') throw new Error('wasm pthread worker: workerData.wasmOutDir is missing');

globalThis.WasmBackendModuleThreadedSimd = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'));
const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'));

const ALREADY_LOADED = '<tfjs threaded-simd factory already loaded>';
const on = parentPort.on.bind(parentPort);
parentPort.on = (event, listener) =>
  on(event, event !== 'message' ? listener : (data) => {
    if (data && data.cmd === 'load') data.urlOrBlob = ALREADY_LOADED;
    listener(data);
  });

// The source keeps "\n" escapes inside its string literals; tfjs escapes them the same way
// before it builds its Blob.
new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);

const importScripts = globalThis.importScripts;
globalThis.importScripts = (file) => (file === ALREADY_LOADED ? undefined : importScripts(file));
