/** Shared fixture access for the teacher and cache tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Batch } from '../../src/data/types.ts';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
export const OPSETS = [14, 17] as const;
export const fixtureDir = (opset: number) => path.join(FIXTURES, `tiny-bert-opset${opset}`);

export interface ParamFingerprint {
  shape: number[];
  sum: number;
  weightedSum: number;
  first: number[];
}

export interface Reference {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
  lengths: number[];
  logits: number[][];
  hidden: number[][][][];
  attentionScores: number[][][][][];
  attentionProbs: number[][][][][];
  params: Record<string, ParamFingerprint>;
}

export function readReference(opset: number): Reference {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir(opset), 'reference.json'), 'utf8'));
}

/** The reference inputs as a padded Batch. */
export function referenceBatch(ref: Reference): Batch {
  const size = ref.inputIds.length;
  const seqLen = ref.inputIds[0].length;
  return {
    size,
    seqLen,
    inputIds: Int32Array.from(ref.inputIds.flat()),
    attentionMask: Int32Array.from(ref.attentionMask.flat()),
    tokenTypeIds: Int32Array.from(ref.tokenTypeIds.flat()),
    lengths: ref.lengths,
    indices: ref.lengths.map((_, i) => i),
  };
}

/** Same position-sensitive checksum the generator script computes. */
export function fingerprint(data: Float32Array): { sum: number; weightedSum: number } {
  let sum = 0;
  let weightedSum = 0;
  for (let i = 0; i < data.length; i++) {
    sum += data[i];
    weightedSum += data[i] * ((i % 7) - 3);
  }
  return { sum, weightedSum };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
