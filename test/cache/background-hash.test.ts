import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { BackgroundHash } from '../../src/cache/background-hash.ts';

it('the worker digest equals SHA-256 of the bytes in order, one digest per sequence, buffers reused', async () => {
  const hash = new BackgroundHash();
  try {
    const shared = new SharedArrayBuffer(1000);
    const view = new Uint8Array(shared);
    const reference = createHash('sha256');
    for (let round = 0; round < 5; round++) {
      // A different prefix length each round; the tail of the buffer (stale bytes) must not count.
      view.fill(round * 37 + 1);
      const length = 200 + 150 * round;
      await hash.update(shared, length);
      reference.update(view.subarray(0, length));
    }
    expect(await hash.digest()).toBe(reference.digest('hex'));
    // The next digest starts from nothing.
    expect(await hash.digest()).toBe(createHash('sha256').digest('hex'));
    view.fill(9);
    await hash.update(shared, 3);
    expect(await hash.digest()).toBe(createHash('sha256').update(Uint8Array.from([9, 9, 9])).digest('hex'));
  } finally {
    await hash.close();
  }
});

it('after close, updates are refused instead of hanging', async () => {
  const hash = new BackgroundHash();
  await hash.close();
  await expect(hash.update(new SharedArrayBuffer(4), 4)).rejects.toThrow(/closed/);
  await expect(hash.digest()).rejects.toThrow(/closed/);
});
