import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, formatInfo, plainLine, rateAndEta } from '../../src/util/progress.ts';

describe('progress formatting', () => {
  it('formatDuration', () => {
    expect(formatDuration(12.4)).toBe('12s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Infinity)).toBe('?');
  });
  it('rate and ETA from progress since the first update', () => {
    expect(rateAndEta(30, 100, 10, 4000)).toEqual({ rate: 5, eta: 14 }); // 20 units in 4 s; 70 left
    expect(rateAndEta(10, 100, 10, 0).eta).toBe(Infinity);
  });
  it('info with 4 significant digits, integers as they are', () => {
    expect(formatInfo({ loss: 0.123456, step: 3, tiny: 0.00001234, name: 'x', skip: undefined })).toBe('loss=0.1235 step=3 tiny=1.234e-5 name=x');
  });
  it('plain line', () => {
    expect(plainLine('train', 120, 500, 3.2, 118, { loss: 0.5 })).toBe('[train] 120/500 24% 3.2/s ETA 1m58s loss=0.5000');
  });
});

describe('plain mode (not a TTY, or --quiet)', () => {
  function capture() {
    const stream = Object.assign(new PassThrough(), { isTTY: false });
    let text = '';
    stream.on('data', (d) => (text += d));
    return { stream, lines: () => text.trim().split('\n') };
  }
  it('prints at most one line per interval, always the last one', () => {
    let t = 0;
    const { stream, lines } = capture();
    const p = createProgress('cache', 10, { stream, intervalMs: 1000, now: () => t });
    for (let i = 1; i <= 10; i++) {
      t += 300;
      p.update(i);
    }
    p.stop();
    // Lines at t=300 (first), then ≥1000 ms apart: t=1500 (i=5), t=2700 (i=9), and at the end (i=10).
    // Rate counts from the first update: 4 units in 1.2 s = 3.33/s; ETA 5 / 3.33 = 1.5 s → "2s".
    expect(lines()).toEqual([
      '[cache] 1/10 10% 0.000/s ETA ?',
      '[cache] 5/10 50% 3.3/s ETA 2s',
      '[cache] 9/10 90% 3.3/s ETA 0s',
      '[cache] 10/10 100% 3.3/s ETA 0s',
    ]);
  });
  it('quiet forces plain lines even on a TTY; stop prints the final state once', () => {
    let t = 0;
    const { stream, lines } = capture();
    (stream as { isTTY: boolean }).isTTY = true;
    const p = createProgress('train', 100, { stream, quiet: true, intervalMs: 10_000, now: () => t });
    p.update(1, { loss: 1 });
    t = 500;
    p.update(2, { loss: 0.5 });
    p.stop();
    p.stop();
    expect(lines()).toEqual(['[train] 1/100 1% 0.000/s ETA ? loss=1', '[train] 2/100 2% 2.0/s ETA 49s loss=0.5000']);
  });
});
