/**
 * Early stopping and reduce-on-plateau on the selection (dev) metric, as a pure state machine: the
 * trainer feeds it one score per evaluation and stores the returned state in its checkpoint, so a
 * resumed run takes the same decisions. The rules are Keras' EarlyStopping and ReduceLROnPlateau.
 */

export type PlateauMode = 'max' | 'min';

export interface EarlyStoppingOptions {
  /** Evaluations without improvement before training stops. */
  patience: number;
  /** An improvement must beat the best score by more than this. */
  minDelta: number;
  /** "max": higher scores are better; "min": lower. */
  mode: PlateauMode;
}

export interface ReduceLrOptions {
  /** Evaluations without improvement before the learning rate is multiplied by `factor`. */
  patience: number;
  /** Multiplier of the learning rate at each reduction, in (0, 1). */
  factor: number;
  minDelta: number;
  mode: PlateauMode;
  /** Evaluations after a reduction during which no new plateau is counted. */
  cooldown: number;
  /** Floor of the (peak) learning rate: reductions never take the stage's lr × scale below it. */
  minLr: number;
}

export interface PlateauOptions {
  earlyStopping?: EarlyStoppingOptions;
  reduceLr?: ReduceLrOptions;
}

/** Everything a resumed run needs; JSON-safe (best is null until a finite score was seen). */
export interface PlateauState {
  stop: { best: number | null; wait: number; stopped: boolean };
  reduce: { best: number | null; wait: number; cooldownLeft: number; lrScale: number; reductions: number };
}

export interface PlateauEvent {
  /** True when this evaluation triggered early stopping. */
  stop: boolean;
  /** The new learning-rate scale when this evaluation reduced it. */
  newLrScale?: number;
}

export function initialPlateauState(): PlateauState {
  return {
    stop: { best: null, wait: 0, stopped: false },
    reduce: { best: null, wait: 0, cooldownLeft: 0, lrScale: 1, reductions: 0 },
  };
}

/** Whether `score` improves on `best` by more than minDelta in the given direction. Non-finite scores never do. */
export function improves(score: number, best: number | null, mode: PlateauMode, minDelta: number): boolean {
  if (!Number.isFinite(score)) return false;
  if (best === null) return true;
  return mode === 'max' ? score - minDelta > best : score + minDelta < best;
}

/**
 * One evaluation: `score` is the selection metric, `peakLr` the current stage's learning rate (for
 * minLr). Returns the next state (the input is not modified) and what happened.
 */
export function plateauStep(state: PlateauState, opts: PlateauOptions, score: number, peakLr: number): { state: PlateauState; event: PlateauEvent } {
  const next: PlateauState = { stop: { ...state.stop }, reduce: { ...state.reduce } };
  const event: PlateauEvent = { stop: false };
  const es = opts.earlyStopping;
  if (es && !next.stop.stopped) {
    if (improves(score, next.stop.best, es.mode, es.minDelta)) {
      next.stop.best = score;
      next.stop.wait = 0;
    } else {
      next.stop.wait += 1;
      if (next.stop.wait >= es.patience) {
        next.stop.stopped = true;
        event.stop = true;
      }
    }
  }
  const rl = opts.reduceLr;
  if (rl) {
    const r = next.reduce;
    const inCooldown = r.cooldownLeft > 0;
    if (inCooldown) {
      r.cooldownLeft -= 1;
      r.wait = 0;
    }
    if (improves(score, r.best, rl.mode, rl.minDelta)) {
      r.best = score;
      r.wait = 0;
    } else if (!inCooldown) {
      r.wait += 1;
      if (r.wait >= rl.patience) {
        const floor = rl.minLr / peakLr;
        // Already at the floor: nothing to reduce (Keras' "old_lr > min_lr"); the wait still restarts.
        if (r.lrScale > floor * (1 + 1e-9)) {
          r.lrScale = Math.max(r.lrScale * rl.factor, floor);
          r.reductions += 1;
          r.cooldownLeft = rl.cooldown;
          event.newLrScale = r.lrScale;
        }
        r.wait = 0;
      }
    }
  }
  return { state: next, event };
}
