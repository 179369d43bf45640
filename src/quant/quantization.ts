/**
 * The quantisation state of a student: which dense layers run fake-int8, and for each the range of its
 * input, either
 *   observed  an exponential moving average of the batch min / max (TensorFlow's QAT observer), kept in
 *             non-trainable tf.Variables updated inside the training forward pass without a read-back;
 *   learned   trainable tf.Variables (LSQ+ / PACT, see fakeQuantActivationLearned), set from the first
 *             training batch's min / max, then moved by the optimizer (`trainableRanges()`).
 * Checkpoints and student folders carry the ranges either way (`ranges()` / `setRanges()`).
 */
import * as tf from '@tensorflow/tfjs';
import type { BertConfig } from '../student/config.ts';
import { UserError } from '../util/errors.ts';
import { activationQParamsTensor, fakeQuantActivation, fakeQuantActivationLearned, fakeQuantWeight } from './fake-quant.ts';
import { quantizedLinears } from './linears.ts';
import { weightQmax } from './qparams.ts';

export interface QuantizationOptions {
  /** Weight of the old range in the moving average (e.g. 0.99); the first batch sets the range. */
  emaDecay: number;
  /** 7-bit weights ([-63, 63]) for x86 CPUs without VNNI (see src/export/quantize.ts). */
  reduceRange: boolean;
  /** Activation ranges: moved by the observer's EMA, or trained (initialised from the first batch). */
  ranges: RangeMode;
}

export type RangeMode = 'observed' | 'learned';
export const RANGE_MODES: readonly RangeMode[] = ['observed', 'learned'];

export const DEFAULT_QUANTIZATION: QuantizationOptions = { emaDecay: 0.99, reduceRange: false, ranges: 'observed' };

/** Prefix of the trainable range variables' names ("quant.<layer>.min" / ".max"): no weight decay. */
export const LEARNED_RANGE_PREFIX = 'quant.';

/** One observed activation range; `observations` counts the batches seen (0: none yet). */
export interface ObservedRange {
  min: number;
  max: number;
  observations: number;
}

interface Observer {
  min: tf.Variable;
  max: tf.Variable;
  observations: number;
}

export class Quantization {
  /** Whether forward passes quantise (the trainer turns it on for stages with `quantize`). */
  active = false;
  private readonly observers = new Map<string, Observer>();

  constructor(
    linears: string[],
    readonly options: QuantizationOptions,
  ) {
    if (!(options.emaDecay >= 0 && options.emaDecay < 1)) throw new UserError(`quantization: emaDecay must be in [0, 1), got ${options.emaDecay}`);
    if (!RANGE_MODES.includes(options.ranges)) throw new UserError(`quantization: ranges must be one of ${RANGE_MODES.join(', ')}, got ${JSON.stringify(options.ranges)}`);
    const trainable = this.learned;
    for (const name of linears) {
      this.observers.set(name, { min: tf.variable(tf.scalar(0), trainable), max: tf.variable(tf.scalar(0), trainable), observations: 0 });
    }
  }

  static forConfig(config: Pick<BertConfig, 'num_hidden_layers'>, options: Partial<QuantizationOptions> = {}): Quantization {
    return new Quantization(quantizedLinears(config), { ...DEFAULT_QUANTIZATION, ...options });
  }

  get learned(): boolean {
    return this.options.ranges === 'learned';
  }

  /** The range variables the optimizer trains ("quant.<layer>.min" / ".max"); empty for observed ranges. */
  trainableRanges(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    if (!this.learned) return out;
    for (const [name, o] of this.observers) {
      out.set(`${LEARNED_RANGE_PREFIX}${name}.min`, o.min);
      out.set(`${LEARNED_RANGE_PREFIX}${name}.max`, o.max);
    }
    return out;
  }

  get qmax(): number {
    return weightQmax(this.options.reduceRange);
  }

  /** Whether the dense layer `prefix` is quantised (when active). */
  covers(prefix: string): boolean {
    return this.observers.has(prefix);
  }

  weight(kernel: tf.Tensor2D): tf.Tensor2D {
    return fakeQuantWeight(kernel, this.qmax);
  }

  /**
   * Fake-quantises the input of `prefix`; in training the batch first moves the observed range (a
   * learned range: the first batch sets it, the optimizer moves it afterwards).
   */
  activation(prefix: string, x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const o = this.observer(prefix);
    if (training && this.learned && o.observations > 0) {
      o.observations += 1;
    } else if (training) {
      const batchMin = tf.min(x);
      const batchMax = tf.max(x);
      const d = this.options.emaDecay;
      const first = o.observations === 0;
      o.min.assign(first ? batchMin : tf.add(tf.mul(o.min, d), tf.mul(batchMin, 1 - d)));
      o.max.assign(first ? batchMax : tf.add(tf.mul(o.max, d), tf.mul(batchMax, 1 - d)));
      o.observations += 1;
    } else if (o.observations === 0) {
      throw new UserError(`quantization: no range observed yet for the input of ${prefix} (train a stage with quantize: true first)`);
    }
    if (this.learned) return fakeQuantActivationLearned(x, o.min, o.max);
    const { scale, zeroPoint } = activationQParamsTensor(o.min, o.max);
    return fakeQuantActivation(x, scale, zeroPoint);
  }

  /** The observed ranges (a read-back: for checkpoints, export and tests). */
  ranges(): Map<string, ObservedRange> {
    const out = new Map<string, ObservedRange>();
    for (const [name, o] of this.observers) {
      out.set(name, { min: o.min.dataSync()[0], max: o.max.dataSync()[0], observations: o.observations });
    }
    return out;
  }

  /** Restores ranges; every quantised layer must be present (`source` names the file in errors). */
  setRanges(ranges: Map<string, ObservedRange>, source: string): void {
    for (const [name, o] of this.observers) {
      const r = ranges.get(name);
      if (!r) throw new UserError(`${source}: no observed range for ${name}`);
      if (!Number.isFinite(r.min) || !Number.isFinite(r.max) || r.min > r.max) {
        throw new UserError(`${source}: range of ${name} must be finite with min <= max, got [${r.min}, ${r.max}]`);
      }
      if (!Number.isInteger(r.observations) || r.observations < 0) {
        throw new UserError(`${source}: observations of ${name} must be a non-negative integer, got ${r.observations}`);
      }
      tf.tidy(() => {
        o.min.assign(tf.scalar(r.min));
        o.max.assign(tf.scalar(r.max));
      });
      o.observations = r.observations;
    }
  }

  private observer(prefix: string): Observer {
    const o = this.observers.get(prefix);
    if (!o) throw new Error(`quantization: ${prefix} is not a quantised layer`);
    return o;
  }

  dispose(): void {
    for (const o of this.observers.values()) {
      o.min.dispose();
      o.max.dispose();
    }
    this.observers.clear();
  }
}
