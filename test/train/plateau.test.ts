import { describe, expect, it } from 'vitest';
import { improves, initialPlateauState, plateauStep, type PlateauOptions, type PlateauState } from '../../src/train/plateau.ts';

/** Feeds the scores in order; returns the eval indices where it stopped and the lr scale after each. */
function run(opts: PlateauOptions, scores: number[], peakLr = 1) {
  let state: PlateauState = initialPlateauState();
  const stops: number[] = [];
  const reductions: [number, number][] = [];
  const scales: number[] = [];
  scores.forEach((s, i) => {
    const r = plateauStep(state, opts, s, peakLr);
    state = r.state;
    if (r.event.stop) stops.push(i);
    if (r.event.newLrScale !== undefined) reductions.push([i, r.event.newLrScale]);
    scales.push(state.reduce.lrScale);
  });
  return { stops, reductions, scales, state };
}

describe('improves', () => {
  it('needs more than minDelta in the chosen direction; NaN never improves; anything beats no best', () => {
    expect(improves(0.61, 0.6, 'max', 0.005)).toBe(true);
    expect(improves(0.605, 0.6, 'max', 0.005)).toBe(false); // exactly minDelta is not more
    expect(improves(0.5, 0.6, 'min', 0.05)).toBe(true);
    expect(improves(0.56, 0.6, 'min', 0.05)).toBe(false);
    expect(improves(NaN, 0.6, 'max', 0)).toBe(false);
    expect(improves(NaN, null, 'max', 0)).toBe(false);
    expect(improves(-1e9, null, 'max', 0)).toBe(true);
  });
});

describe('early stopping', () => {
  it('stops at the patience-th evaluation without an improvement larger than minDelta (max)', () => {
    const r = run({ earlyStopping: { patience: 2, minDelta: 0.01, mode: 'max' } }, [0.5, 0.6, 0.605, 0.58, 0.7, 0.69]);
    // 0.5 best; 0.6 best; 0.605 is < 0.6 + 0.01 (wait 1); 0.58 (wait 2) → stop at index 3, nothing after.
    expect(r.stops).toEqual([3]);
    expect(r.state.stop).toEqual({ best: 0.6, wait: 2, stopped: true });
  });

  it('mode min: lower is better', () => {
    const r = run({ earlyStopping: { patience: 2, minDelta: 0.05, mode: 'min' } }, [1.0, 0.9, 0.86, 0.91, 0.7]);
    // 1.0 best; 0.9 best (0.95 < 1); 0.86 + 0.05 = 0.91 is not < 0.9 (wait 1); 0.91 (wait 2) → stop at 3.
    expect(r.stops).toEqual([3]);
  });

  it('an improvement resets the wait; NaN counts as no improvement', () => {
    const r = run({ earlyStopping: { patience: 3, minDelta: 0, mode: 'max' } }, [0.5, 0.4, NaN, 0.6, 0.6, 0.6, 0.6]);
    // 0.5; 0.4 w1; NaN w2; 0.6 best w0; 0.6 w1; w2; w3 → stop at 6.
    expect(r.stops).toEqual([6]);
  });
});

describe('reduce on plateau', () => {
  it('multiplies the scale by factor after patience, waits out the cooldown, stops at minLr', () => {
    const r = run({ reduceLr: { patience: 2, factor: 0.5, minDelta: 0, mode: 'max', cooldown: 1, minLr: 0.3 } }, new Array(10).fill(1), 1);
    // e0 best; e1 w1; e2 w2 → 0.5 (cooldown 1); e3 cooldown; e4 w1; e5 w2 → max(0.25, 0.3) = 0.3; e6 cooldown;
    // e7 w1; e8 w2 but already at the floor: no reduction; e9 w1.
    expect(r.reductions).toEqual([[2, 0.5], [5, 0.3]]);
    expect(r.scales).toEqual([1, 1, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]);
    expect(r.state.reduce.reductions).toBe(2);
  });

  it('minLr is relative to the stage peak lr; improvements during cooldown still count', () => {
    const r = run({ reduceLr: { patience: 1, factor: 0.1, minDelta: 0, mode: 'max', cooldown: 2, minLr: 1e-5 } }, [0.5, 0.4, 0.6, 0.55, 0.5, 0.45], 1e-3);
    // e0 best .5; e1 w1 → 0.1 (cooldown 2); e2 cooldown 1, improves → best .6; e3 cooldown 0; e4 w1 → max(0.01, 0.01) = 0.01;
    // e5 cooldown.
    expect(r.reductions).toEqual([[1, 0.1], [4, expect.closeTo(0.01, 12)]]);
    expect(r.state.reduce.best).toBe(0.6);
  });

  it('both at once keep separate bests; the input state is not modified', () => {
    const s0 = initialPlateauState();
    const opts: PlateauOptions = {
      earlyStopping: { patience: 3, minDelta: 0.1, mode: 'max' },
      reduceLr: { patience: 1, factor: 0.5, minDelta: 0, mode: 'max', cooldown: 0, minLr: 0 },
    };
    const a = plateauStep(s0, opts, 0.5, 1);
    const b = plateauStep(a.state, opts, 0.55, 1);
    expect(s0).toEqual(initialPlateauState());
    expect(b.state.stop).toEqual({ best: 0.5, wait: 1, stopped: false });
    expect(b.state.reduce).toMatchObject({ best: 0.55, wait: 0, lrScale: 1 });
    const c = plateauStep(b.state, opts, 0.55, 1);
    expect(c.event.newLrScale).toBe(0.5);
  });
});
