import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/config-load.ts';
import { MINIMAL } from '../cli/helpers.ts';

const withStages = (stages: unknown[], extra: Record<string, unknown> = {}) =>
  parseConfig({ ...MINIMAL, distill: { stages, ...extra } }, 'run.json');

describe('config: quantisation-aware stages', () => {
  it('defaults: stages do not quantise; the observer decays at 0.99 with 8-bit weights', () => {
    const c = withStages([{ name: 'p', steps: 5, losses: [{ name: 'kd_ce' }] }]);
    expect(c.distill.stages[0].quantize).toBe(false);
    expect(c.distill.quantization).toEqual({ emaDecay: 0.99, reduceRange: false });
  });

  it('refuses a float stage after a quantised one, naming the key', () => {
    const stages = [
      { name: 'q', steps: 5, losses: [{ name: 'kd_ce' }], quantize: true },
      { name: 'f', steps: 5, losses: [{ name: 'kd_ce' }] },
    ];
    expect(() => withStages(stages)).toThrow(/distill\.stages\[1\]\.quantize: must be true: stage "q" quantises/);
  });

  it('refuses an out-of-range EMA decay and unknown keys', () => {
    const stages = [{ name: 'q', steps: 5, losses: [{ name: 'kd_ce' }], quantize: true }];
    expect(() => withStages(stages, { quantization: { emaDecay: 1 } })).toThrow(/distill\.quantization\.emaDecay/);
    expect(() => withStages(stages, { quantization: { bits: 4 } })).toThrow(/bits/);
  });
});
