import * as tf from '@tensorflow/tfjs';

/**
 * Exponential moving average of the student's weights (the widely used warm-up form):
 *   decay = 1 − (1 + e/invGamma)^(−power),  e = max(step − updateAfterStep − 1, 0),
 * clamped to [minValue, beta] (0 while e = 0). Weights are copied until updateAfterStep and the
 * average moves every updateEvery calls. The "constant" mode uses decay = beta throughout, with
 * optional bias correction.
 */
export interface EmaOptions {
  beta: number;
  updateAfterStep: number;
  updateEvery: number;
  invGamma: number;
  power: number;
  minValue: number;
  /** 'warmup' (the formula above) or 'constant' (decay = beta). */
  mode: 'warmup' | 'constant';
  /** Constant mode only: Adam-style bias correction of a zero-initialised average. */
  biasCorrection: boolean;
  /** Parameter names (exact) or name prefixes ending in '.' that are not averaged but copied. */
  exclude: string[];
}

export const DEFAULT_EMA: EmaOptions = {
  beta: 0.9999,
  updateAfterStep: 100,
  updateEvery: 10,
  invGamma: 1,
  power: 2 / 3,
  minValue: 0,
  mode: 'warmup',
  biasCorrection: false,
  exclude: [],
};

/** The warm-up decay at counter value `step` (the counter after it was advanced), pure. */
export function warmupDecay(step: number, o: Pick<EmaOptions, 'beta' | 'updateAfterStep' | 'invGamma' | 'power' | 'minValue'>): number {
  const e = Math.max(step - o.updateAfterStep - 1, 0);
  if (e <= 0) return 0;
  const value = 1 - Math.pow(1 + e / o.invGamma, -o.power);
  return Math.min(o.beta, Math.max(o.minValue, value));
}

/**
 * Bias-corrected constant decay, written as a per-update decay on a copy-initialised average:
 * β(1 − β^(n−1)) / (1 − β^n) for the n-th averaging update. It gives exactly
 * shadow_n / (1 − β^n) of a zero-initialised average, without a second buffer.
 */
export function biasCorrectedDecay(beta: number, n: number): number {
  if (n <= 1) return 0;
  return (beta * (1 - Math.pow(beta, n - 1))) / (1 - Math.pow(beta, n));
}

export interface EmaState {
  step: number;
  /** Averaging updates done so far (bias correction counts these). */
  updates: number;
  shadow: Map<string, Float32Array>;
}

export class Ema {
  readonly opts: EmaOptions;
  /** Calls to update() so far. */
  step = 0;
  updates = 0;
  /** The averaged weights, same names as the source. */
  readonly shadow: Map<string, tf.Variable>;
  private readonly ownsShadow: boolean;

  /**
   * @param source the live student's parameters
   * @param shadow variables to hold the average (e.g. a second Student's params, so it can run a
   *   forward pass); created here when omitted. They are overwritten with the source's values.
   */
  constructor(
    private readonly source: Map<string, tf.Variable>,
    opts: Partial<EmaOptions> = {},
    shadow?: Map<string, tf.Variable>,
  ) {
    this.opts = { ...DEFAULT_EMA, ...opts };
    if (!(this.opts.updateEvery >= 1)) throw new Error(`EMA updateEvery must be ≥ 1, got ${this.opts.updateEvery}`);
    if (!(this.opts.beta > 0 && this.opts.beta < 1)) throw new Error(`EMA beta must be in (0, 1), got ${this.opts.beta}`);
    this.ownsShadow = !shadow;
    this.shadow = shadow ?? new Map();
    for (const [name, p] of source) {
      if (p.dtype !== 'float32') continue;
      const s = this.shadow.get(name);
      if (s) {
        if (s.size !== p.size) throw new Error(`EMA shadow ${name} has ${s.size} values, the parameter ${p.size}`);
        s.assign(p);
      } else if (this.ownsShadow) {
        this.shadow.set(name, tf.tidy(() => tf.variable(p.clone(), false)));
      } else {
        throw new Error(`EMA shadow model has no parameter ${name}`);
      }
    }
  }

  isExcluded(name: string): boolean {
    return this.opts.exclude.some((x) => name === x || (x.endsWith('.') && name.startsWith(x)));
  }

  /** The decay the next averaging update would use. */
  currentDecay(): number {
    if (this.opts.mode === 'constant') {
      return this.opts.biasCorrection ? biasCorrectedDecay(this.opts.beta, this.updates + 1) : this.opts.beta;
    }
    return warmupDecay(this.step, this.opts);
  }

  /** Call once per optimizer update. */
  update(): void {
    const s = this.step;
    this.step += 1;
    if (s % this.opts.updateEvery !== 0) return;
    if (s <= this.opts.updateAfterStep) {
      this.copyFromSource();
      return;
    }
    const decay = this.currentDecay();
    this.updates += 1;
    tf.tidy(() => {
      for (const [name, sh] of this.shadow) {
        const p = this.source.get(name)!;
        if (this.isExcluded(name)) sh.assign(p);
        else sh.assign(tf.add(tf.mul(sh, decay), tf.mul(p, 1 - decay)));
      }
    });
  }

  copyFromSource(): void {
    tf.tidy(() => {
      for (const [name, sh] of this.shadow) sh.assign(this.source.get(name)!);
    });
  }

  getState(): EmaState {
    return { step: this.step, updates: this.updates, shadow: new Map([...this.shadow].map(([k, v]) => [k, v.dataSync() as Float32Array])) };
  }

  setState(state: EmaState): void {
    for (const [name, v] of this.shadow) {
      const data = state.shadow.get(name);
      if (!data || data.length !== v.size) throw new Error(`EMA state for ${name} is missing or has the wrong size`);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
    }
    this.step = state.step;
    this.updates = state.updates;
  }

  dispose(): void {
    if (this.ownsShadow) for (const v of this.shadow.values()) v.dispose();
  }
}
