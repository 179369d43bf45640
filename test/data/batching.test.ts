import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collate, encodeExamples, planBatches } from '../../src/data/batching.ts';
import { loadTokenizer } from '../../src/data/tokenizer.ts';
import type { Encoded, Example } from '../../src/data/types.ts';

const lengths = Array.from({ length: 103 }, (_, i) => 5 + ((i * 37) % 29));

describe('planBatches', () => {
  it('without shuffle keeps the original order in consecutive batches, last one short', () => {
    expect(planBatches([3, 1, 2, 5, 4], { batchSize: 2, shuffle: false, seed: 0 })).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('sorts a group of 300k rows (an augmented SST-2) without overflowing the stack', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 61);
    const batches = planBatches(many, { batchSize: 128, shuffle: false, seed: 0, bucketSize: 10_000 });
    expect(batches.flat().length).toBe(300_000);
    const first = batches[0].map((i) => many[i]);
    expect(first).toEqual([...first].sort((a, b) => a - b));
  });

  it('uses every index exactly once', () => {
    const batches = planBatches(lengths, { batchSize: 8, shuffle: true, seed: 7, bucketSize: 4 });
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    expect(batches.filter((b) => b.length !== 8)).toHaveLength(1);
  });

  it('is deterministic under the seed and differs across seeds', () => {
    const a = planBatches(lengths, { batchSize: 8, shuffle: true, seed: 1 });
    expect(planBatches(lengths, { batchSize: 8, shuffle: true, seed: 1 })).toEqual(a);
    expect(planBatches(lengths, { batchSize: 8, shuffle: true, seed: 2 })).not.toEqual(a);
  });

  it('length bucketing cuts padding compared with a plain shuffle', () => {
    const padding = (batches: number[][]) =>
      batches.reduce((sum, b) => sum + b.reduce((s, i) => s + Math.max(...b.map((j) => lengths[j])) - lengths[i], 0), 0);
    const bucketed = planBatches(lengths, { batchSize: 8, shuffle: true, seed: 3, bucketSize: 50 });
    const plain = planBatches(lengths, { batchSize: 8, shuffle: true, seed: 3, bucketSize: 0 });
    expect(padding(bucketed)).toBeLessThan(padding(plain) / 3);
  });

  it('bucketSize without shuffle sorts by length inside each group (fast evaluation)', () => {
    expect(planBatches([5, 1, 4, 2, 3, 9], { batchSize: 2, shuffle: false, seed: 0, bucketSize: 2 })).toEqual([[1, 3], [2, 0], [4, 5]]);
  });

  it('rejects a bad batch size', () => {
    expect(() => planBatches(lengths, { batchSize: 0, shuffle: false, seed: 0 })).toThrow(/batchSize must be a positive integer/);
  });
});

describe('collate', () => {
  const encoded: Encoded[] = [
    { inputIds: [2, 10, 3], tokenTypeIds: [0, 0, 0] },
    { inputIds: [2, 11, 12, 3, 13, 3], tokenTypeIds: [0, 0, 0, 0, 1, 1] },
    { inputIds: [2, 3], tokenTypeIds: [0, 0] },
  ];

  it('pads to the longest row on the right with mask 0', () => {
    const b = collate(encoded, [2, 0, 1], [1, 0, 1]);
    expect(b.size).toBe(3);
    expect(b.seqLen).toBe(6);
    expect([...b.inputIds]).toEqual([2, 3, 0, 0, 0, 0, 2, 10, 3, 0, 0, 0, 2, 11, 12, 3, 13, 3]);
    expect([...b.attentionMask]).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect([...b.tokenTypeIds]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    expect(b.lengths).toEqual([2, 3, 6]);
    expect(b.indices).toEqual([2, 0, 1]);
    expect([...b.labels!]).toEqual([1, 1, 0]);
  });

  it('keeps regression targets as floats and omits labels for unlabeled splits', () => {
    expect([...collate(encoded, [0, 1], [0.25, 4.5]).labels!]).toEqual([0.25, 4.5]);
    expect(collate(encoded, [0, 1], [undefined, undefined, undefined]).labels).toBeUndefined();
    expect(collate(encoded, [0]).labels).toBeUndefined();
  });

  it('rejects mixed labeled / unlabeled rows and bad indices', () => {
    expect(() => collate(encoded, [0, 1], [1, undefined])).toThrow(/some rows of the batch have labels/);
    expect(() => collate(encoded, [5])).toThrow(/index 5 is outside the 3 encoded examples/);
    expect(() => collate(encoded, [])).toThrow(/empty batch/);
  });
});

describe('encodeExamples', () => {
  it('encodes single and pair examples with the max length', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'enc-')), 'vocab.txt');
    fs.writeFileSync(file, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c'].join('\n'));
    const tok = await loadTokenizer(file);
    const examples: Example[] = [
      { index: 0, textA: 'a b c', source: { file: 'x', line: 1 } },
      { index: 1, textA: 'a', textB: 'b c', source: { file: 'x', line: 2 } },
    ];
    // The pair has a budget of 1 token for lengths 1 and 2: both exceed half, so the shorter (first) gets
    // floor(1/2) = 0 and the longer ceil(1/2) = 1 (HF longest_first).
    expect(encodeExamples(tok, examples, 4)).toEqual([
      { inputIds: [2, 5, 6, 3], tokenTypeIds: [0, 0, 0, 0] },
      { inputIds: [2, 3, 6, 3], tokenTypeIds: [0, 0, 1, 1] },
    ]);
  });
});
