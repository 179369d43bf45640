import { describe, expect, it } from 'vitest';
import { adaptiveWeight, curriculumWeights, lossWeight, lrFactor, progress, scheduledValue } from '../../src/train/schedules.ts';

describe('lrFactor', () => {
  it('warms up linearly then decays linearly (HF convention)', () => {
    const s = { kind: 'linear', warmupSteps: 4 } as const;
    expect(lrFactor(s, 0, 14)).toBeCloseTo(0.25);
    expect(lrFactor(s, 3, 14)).toBeCloseTo(1);
    expect(lrFactor(s, 4, 14)).toBeCloseTo(1); // (14-4)/10
    expect(lrFactor(s, 9, 14)).toBeCloseTo(0.5); // middle of the decay
    expect(lrFactor(s, 13, 14)).toBeCloseTo(0.1); // last update is never 0
  });
  it('cosine decays to the floor along a half cosine', () => {
    const s = { kind: 'cosine', warmupSteps: 0, minRatio: 0.1 } as const;
    expect(lrFactor(s, 0, 11)).toBeCloseTo(1);
    expect(lrFactor(s, 5, 11)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 5 / 11)));
    expect(lrFactor({ kind: 'cosine' }, 11, 11)).toBeCloseTo(0);
  });
  it('constant after warm-up', () => {
    expect(lrFactor({ kind: 'constant', warmupSteps: 2 }, 0, 10)).toBeCloseTo(0.5);
    expect(lrFactor({ kind: 'constant', warmupSteps: 2 }, 9, 10)).toBe(1);
  });
});

describe('scheduledValue (temperature)', () => {
  it('linear T0→T1 hits both ends and the middle', () => {
    const s = { kind: 'linear', from: 4, to: 1 } as const;
    expect(scheduledValue(s, 0, 11)).toBe(4);
    expect(scheduledValue(s, 5, 11)).toBeCloseTo(2.5);
    expect(scheduledValue(s, 10, 11)).toBe(1);
  });
  it('cosine T0→T1: ends exact, middle halfway, first quarter closer to T0', () => {
    const s = { kind: 'cosine', from: 4, to: 2 } as const;
    expect(scheduledValue(s, 0, 9)).toBe(4);
    expect(scheduledValue(s, 4, 9)).toBeCloseTo(3);
    expect(scheduledValue(s, 2, 9)).toBeCloseTo(2 + 2 * 0.5 * (1 + Math.cos(Math.PI / 4)));
    expect(scheduledValue(s, 8, 9)).toBeCloseTo(2);
  });
  it('constant', () => expect(scheduledValue({ kind: 'constant', value: 2 }, 7, 9)).toBe(2));
  it('windowed progress clamps before and after the window', () => {
    expect(progress(0, 100, 10, 20)).toBe(0);
    expect(progress(15, 100, 10, 20)).toBe(0.5);
    expect(progress(50, 100, 10, 20)).toBe(1);
    expect(progress(0, 1)).toBe(1);
  });
});

describe('lossWeight', () => {
  it('growth, decay and cosine', () => {
    expect(lossWeight({ kind: 'constant', weight: 3 }, 5, 11)).toBe(3);
    expect(lossWeight({ kind: 'linear_growth', weight: 2 }, 0, 11)).toBe(0);
    expect(lossWeight({ kind: 'linear_growth', weight: 2 }, 5, 11)).toBeCloseTo(1);
    expect(lossWeight({ kind: 'linear_growth', weight: 2 }, 10, 11)).toBe(2);
    expect(lossWeight({ kind: 'linear_decay', weight: 2 }, 0, 11)).toBe(2);
    expect(lossWeight({ kind: 'linear_decay', weight: 2 }, 10, 11)).toBe(0);
    expect(lossWeight({ kind: 'cosine_decay', weight: 1 }, 5, 11)).toBeCloseTo(0.5);
    expect(lossWeight({ kind: 'cosine_growth', weight: 1 }, 10, 11)).toBeCloseTo(1);
  });
  it('adaptive weight shrinks as the student nears the teacher', () => {
    const s = { kind: 'adaptive', weight: 1, teacherScore: 0.9, margin: 0.2, minWeight: 0.1 } as const;
    expect(adaptiveWeight(s, undefined)).toBe(1);
    expect(adaptiveWeight(s, 0.5)).toBe(1); // gap 0.4 ≥ margin
    expect(adaptiveWeight(s, 0.8)).toBeCloseTo(0.5); // gap 0.1 = half the margin
    expect(adaptiveWeight(s, 0.95)).toBe(0.1); // above the teacher: the floor
    expect(lossWeight(s, 3, 10, 0.8)).toBeCloseTo(0.5);
  });
});

describe('curriculumWeights', () => {
  it('hands over from intermediate to prediction inside the window', () => {
    const c = { kind: 'linear', startStep: 10, endStep: 30 } as const;
    expect(curriculumWeights(c, 0)).toEqual({ intermediate: 1, prediction: 0 });
    const mid = curriculumWeights(c, 20);
    expect(mid.prediction).toBeCloseTo(0.5);
    expect(mid.intermediate).toBeCloseTo(0.5);
    expect(curriculumWeights(c, 40)).toEqual({ intermediate: 0, prediction: 1 });
    expect(curriculumWeights({ ...c, kind: 'cosine' }, 15).prediction).toBeCloseTo(0.5 - 0.5 * Math.cos(Math.PI / 4));
  });
});
