/**
 * quantization.json of a student folder trained with quantisation: the scheme and every activation
 * range (observed or learned), so export (and a later run) rebuild the exact int8 model. Pure (no file I/O).
 */
import { UserError } from '../util/errors.ts';
import { weightQmax } from './qparams.ts';
import { RANGE_MODES, type ObservedRange, type QuantizationOptions, type RangeMode } from './quantization.ts';

export const QUANTIZATION_FILE = 'quantization.json';
const FORMAT = 'distill-ts/quantization-aware-training';

export interface QuantizationFile {
  options: QuantizationOptions;
  ranges: Map<string, ObservedRange>;
}

export function quantizationJson(q: QuantizationFile): Record<string, unknown> {
  return {
    format: FORMAT,
    version: 1,
    weights: { dtype: 'int8', scheme: 'symmetric, per output channel', qmax: weightQmax(q.options.reduceRange) },
    activations: {
      dtype: 'uint8',
      scheme: q.options.ranges === 'learned' ? 'asymmetric, per tensor, learned range (LSQ+), initialised from the first batch' : 'asymmetric, per tensor, EMA of batch min/max',
      ranges: q.options.ranges,
      emaDecay: q.options.emaDecay,
    },
    ranges: Object.fromEntries([...q.ranges].map(([k, r]) => [k, { min: r.min, max: r.max, observations: r.observations }])),
  };
}

/** Reads quantization.json's content; `file` names it in errors. */
export function parseQuantizationJson(raw: unknown, file: string): QuantizationFile {
  const o = raw as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || o.format !== FORMAT) throw new UserError(`${file}: not a quantization file ("format" must be "${FORMAT}")`);
  if (o.version !== 1) throw new UserError(`${file}: version ${JSON.stringify(o.version)} is not supported (expected 1)`);
  const w = o.weights as { qmax?: unknown } | undefined;
  if (w?.qmax !== 127 && w?.qmax !== 63) throw new UserError(`${file}: weights.qmax must be 127 or 63, got ${JSON.stringify(w?.qmax)}`);
  const a = o.activations as { emaDecay?: unknown; ranges?: unknown } | undefined;
  if (typeof a?.emaDecay !== 'number') throw new UserError(`${file}: activations.emaDecay must be a number`);
  // Files written before learned ranges existed have no activations.ranges: observed.
  const mode = a.ranges ?? 'observed';
  if (!RANGE_MODES.includes(mode as RangeMode)) throw new UserError(`${file}: activations.ranges must be one of ${RANGE_MODES.join(', ')}, got ${JSON.stringify(a.ranges)}`);
  if (!o.ranges || typeof o.ranges !== 'object') throw new UserError(`${file}: "ranges" must be an object of {min, max, observations} by layer`);
  const ranges = new Map<string, ObservedRange>();
  for (const [k, v] of Object.entries(o.ranges as Record<string, unknown>)) {
    const r = v as Partial<ObservedRange> | null;
    if (!r || typeof r.min !== 'number' || typeof r.max !== 'number' || typeof r.observations !== 'number') {
      throw new UserError(`${file}: ranges["${k}"] must be {min, max, observations} numbers`);
    }
    ranges.set(k, { min: r.min, max: r.max, observations: r.observations });
  }
  return { options: { emaDecay: a.emaDecay, reduceRange: w.qmax === 63, ranges: mode as RangeMode }, ranges };
}
