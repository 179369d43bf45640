/**
 * Child process for test/backend/select.test.ts: starts the tensorflow backend with the thread count given
 * as the first argument, runs one product, and prints the backend line and how many threads the process has.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../../src/backend/select.ts';

const info = await initBackend('tensorflow', { threads: Number(process.argv[2]) });
const a = tf.randomNormal([256, 256]);
tf.matMul(a, a).dataSync();
console.log(JSON.stringify({ line: describeBackend(info), threads: fs.readdirSync('/proc/self/task').length }));
