import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/config-load.ts';
import { MINIMAL } from '../cli/helpers.ts';

const withStages = (stages: unknown[], extra: Record<string, unknown> = {}) =>
  parseConfig({ ...MINIMAL, distill: { stages, ...extra } }, 'run.json');

describe('config: quantisation-aware stages', () => {
  it('defaults: stages do not quantise; observed ranges, the observer decays at 0.99 with 8-bit weights', () => {
    const c = withStages([{ name: 'p', steps: 5, losses: [{ name: 'kd_ce' }] }]);
    expect(c.distill.stages[0].quantize).toBe(false);
    expect(c.distill.quantization).toEqual({ emaDecay: 0.99, reduceRange: false, ranges: 'observed' });
    expect(withStages([{ name: 'p', steps: 5, losses: [{ name: 'kd_ce' }] }], { quantization: { ranges: 'learned' } }).distill.quantization.ranges).toBe('learned');
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
    expect(() => withStages(stages, { quantization: { ranges: 'trained' } })).toThrow(/distill\.quantization\.ranges/);
  });
});

describe('quantization.json', () => {
  const good = {
    format: 'distill-ts/quantization-aware-training',
    version: 1,
    weights: { dtype: 'int8', qmax: 127 },
    activations: { dtype: 'uint8', emaDecay: 0.99 },
    ranges: { 'encoder.layer.0.output.dense': { min: -1, max: 2, observations: 3 } },
  };

  it('round-trips options and ranges', async () => {
    const { parseQuantizationJson, quantizationJson } = await import('../../src/quant/quant-json.ts');
    const parsed = parseQuantizationJson(good, 'q.json');
    expect(parsed.options).toEqual({ emaDecay: 0.99, reduceRange: false, ranges: 'observed' }); // a file without activations.ranges
    expect(parseQuantizationJson(quantizationJson(parsed), 'q.json')).toEqual(parsed);
    const learned = { ...parsed, options: { ...parsed.options, ranges: 'learned' as const } };
    expect(quantizationJson(learned).activations).toMatchObject({ ranges: 'learned' });
    expect(parseQuantizationJson(quantizationJson(learned), 'q.json')).toEqual(learned);
    expect(parseQuantizationJson({ ...good, weights: { qmax: 63 } }, 'q.json').options.reduceRange).toBe(true);
  });

  it('names the file and the key that is wrong', async () => {
    const { parseQuantizationJson } = await import('../../src/quant/quant-json.ts');
    expect(() => parseQuantizationJson({ ...good, format: 'x' }, 'dir/quantization.json')).toThrow(/dir\/quantization\.json: not a quantization file/);
    expect(() => parseQuantizationJson({ ...good, weights: { qmax: 100 } }, 'q.json')).toThrow(/q\.json: weights\.qmax must be 127 or 63, got 100/);
    expect(() => parseQuantizationJson({ ...good, activations: { emaDecay: 0.99, ranges: 'x' } }, 'q.json')).toThrow(/q\.json: activations\.ranges must be one of observed, learned, got "x"/);
    expect(() => parseQuantizationJson({ ...good, ranges: { a: { min: 0 } } }, 'q.json')).toThrow(/q\.json: ranges\["a"\] must be \{min, max, observations\}/);
  });
});
