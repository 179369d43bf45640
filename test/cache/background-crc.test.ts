import * as zlib from 'node:zlib';
import { expect, it } from 'vitest';
import { BackgroundCrc32 } from '../../src/cache/background-crc.ts';

it('the worker CRC-32 equals that of the bytes in order, one value per sequence, buffers reused', async () => {
  const crc = new BackgroundCrc32();
  try {
    const shared = new SharedArrayBuffer(1000);
    const view = new Uint8Array(shared);
    const sent: Buffer[] = [];
    for (let round = 0; round < 5; round++) {
      // A different prefix length each round; the tail of the buffer (stale bytes) must not count.
      view.fill(round * 37 + 1);
      const length = 200 + 150 * round;
      await crc.update(shared, length);
      sent.push(Buffer.from(view.subarray(0, length)));
    }
    expect(await crc.digest()).toBe((zlib.crc32(Buffer.concat(sent)) >>> 0).toString(16).padStart(8, '0'));
    // The next value starts from nothing.
    expect(await crc.digest()).toBe('00000000');
    // The reference check value, split over two updates.
    view.set(Buffer.from('123456789'));
    await crc.update(shared, 4);
    view.set(Buffer.from('56789'));
    await crc.update(shared, 5);
    expect(await crc.digest()).toBe('cbf43926');
  } finally {
    await crc.close();
  }
});

it('after close, updates are refused instead of hanging', async () => {
  const crc = new BackgroundCrc32();
  await crc.close();
  await expect(crc.update(new SharedArrayBuffer(4), 4)).rejects.toThrow(/closed/);
  await expect(crc.digest()).rejects.toThrow(/closed/);
});
