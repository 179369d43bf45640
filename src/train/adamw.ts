import * as tf from '@tensorflow/tfjs';
import { LEARNED_RANGE_PREFIX } from '../quant/quantization.ts';

/**
 * AdamW (Loshchilov & Hutter; torch.optim.AdamW's update order): decoupled weight decay, bias-corrected
 * moments. Written here rather than using tf.train.adam so that every piece of state (m, v, step) is
 * a named float buffer a checkpoint can save and restore bit for bit.
 */
export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Parameters that get no weight decay; default: biases and LayerNorm (BERT's convention), learned quantisation ranges. */
  noDecay?: (name: string) => boolean;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: 0.01 };

export function isNoDecayParam(name: string): boolean {
  // Learned quantisation ranges too: decay would pull every range towards [0, 0].
  return name.endsWith('.bias') || name.includes('LayerNorm') || name.startsWith(LEARNED_RANGE_PREFIX);
}

export interface AdamWState {
  /** Number of updates applied so far. */
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly opts: AdamWOptions;
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: Map<string, tf.Variable>,
    opts: Partial<AdamWOptions> = {},
  ) {
    this.opts = { ...DEFAULT_ADAMW, ...opts };
    for (const [name, p] of params) {
      // tidy frees the zeros tensor; the variable keeps its own reference to the data.
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** One update with learning rate `lr`. Parameters without a gradient are left untouched. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const { beta1, beta2, epsilon, weightDecay } = this.opts;
    const noDecay = this.opts.noDecay ?? isNoDecayParam;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      const m = this.m.get(name);
      const v = this.v.get(name);
      if (!p || !m || !v) throw new Error(`AdamW: gradient for unknown parameter ${name}`);
      // One tidy per parameter: its ~10 temporaries are freed before the next parameter's are made, so the
      // peak holds one parameter's temporaries (the word embedding's), not every parameter's at once.
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const decayed = weightDecay > 0 && !noDecay(name) ? tf.mul(p, 1 - lr * weightDecay) : p;
        const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), epsilon));
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    }
  }

  getState(): AdamWState {
    const read = (src: Map<string, tf.Variable>) => new Map([...src].map(([k, t]) => [k, t.dataSync() as Float32Array]));
    return { step: this.step, m: read(this.m), v: read(this.v) };
  }

  setState(state: AdamWState): void {
    for (const [which, src, dst] of [['m', state.m, this.m], ['v', state.v, this.v]] as const) {
      for (const [name, variable] of dst) {
        const data = src.get(name);
        if (!data) throw new Error(`optimizer state has no ${which} for parameter ${name}`);
        if (data.length !== variable.size) {
          throw new Error(`optimizer state ${which}.${name} has ${data.length} values, the parameter ${variable.size}`);
        }
        tf.tidy(() => variable.assign(tf.tensor(data, variable.shape, 'float32')));
      }
    }
    this.step = state.step;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
