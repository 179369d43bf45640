/**
 * Schedules: pure functions of the step (nanoGPT's get_lr style). Nothing here keeps state or writes
 * back into a config; the trainer asks for a value each step.
 *
 * Step convention: `step` is the 0-based index of the optimizer update inside its stage,
 * 0 ≤ step < totalSteps. "Progress" p runs from 0 at the first update to 1 at the last one.
 */

export type LrSchedule =
  | { kind: 'constant'; warmupSteps?: number }
  | { kind: 'linear'; warmupSteps?: number }
  | { kind: 'cosine'; warmupSteps?: number; /** floor as a fraction of the base rate */ minRatio?: number };

/** A value that moves from `from` to `to` as the step goes through [startStep, endStep]. */
export type ValueSchedule =
  | { kind: 'constant'; value: number }
  | { kind: 'linear' | 'cosine'; from: number; to: number; startStep?: number; endStep?: number };

/**
 * Loss-weight schedules (TextBrewer's weight schedulers, scaled by `weight`): linear_growth 0→w,
 * linear_decay w→0, cosine w→0 along a half cosine; optional window [startStep, endStep].
 */
export type WeightSchedule =
  | { kind: 'constant'; weight: number }
  | { kind: 'linear_growth' | 'linear_decay' | 'cosine_decay' | 'cosine_growth'; weight: number; startStep?: number; endStep?: number }
  | AdaptiveWeight;

/**
 * Validation-driven: the distillation weight shrinks as the student's dev score nears the teacher's.
 * w = weight · clamp(gap / margin, minWeight/weight, 1) with gap = teacherScore − studentScore.
 * Before the first evaluation the full weight applies.
 */
export interface AdaptiveWeight {
  kind: 'adaptive';
  weight: number;
  teacherScore: number;
  /** The gap at and above which the full weight applies. */
  margin: number;
  minWeight?: number;
}

/** Progress in [0, 1] through a window of updates; a window of one update counts as finished. */
export function progress(step: number, totalSteps: number, startStep = 0, endStep = totalSteps - 1): number {
  if (endStep <= startStep) return step >= endStep ? 1 : 0;
  return Math.min(1, Math.max(0, (step - startStep) / (endStep - startStep)));
}

/** Half-cosine from 1 (p = 0) to 0 (p = 1). */
function cosineDecay(p: number): number {
  return 0.5 * (1 + Math.cos(Math.PI * p));
}

/**
 * Learning-rate multiplier in (0, 1] for update `step` of `totalSteps`: linear warm-up
 * (step+1)/warmup over the first `warmupSteps` updates, then constant, linear decay
 * (total−step)/(total−warmup) (HF's get_linear_schedule_with_warmup, never exactly 0 on a real
 * update), or cosine decay to `minRatio`.
 */
export function lrFactor(s: LrSchedule, step: number, totalSteps: number): number {
  const warmup = Math.max(0, Math.min(s.warmupSteps ?? 0, totalSteps));
  if (step < warmup) return (step + 1) / warmup;
  if (s.kind === 'constant') return 1;
  const span = totalSteps - warmup;
  if (span <= 0) return 1;
  if (s.kind === 'linear') return Math.max(0, (totalSteps - step) / span);
  const p = Math.min(1, Math.max(0, (step - warmup) / span));
  const floor = s.minRatio ?? 0;
  return floor + (1 - floor) * cosineDecay(p);
}

/** A scheduled scalar (temperature, EMA-teacher mixing weight, ...). */
export function scheduledValue(s: ValueSchedule, step: number, totalSteps: number): number {
  if (s.kind === 'constant') return s.value;
  const p = progress(step, totalSteps, s.startStep, s.endStep);
  const shape = s.kind === 'linear' ? p : 1 - cosineDecay(p);
  return s.from + (s.to - s.from) * shape;
}

/** A loss weight at `step`; `lastDevScore` is the student's latest dev metric (adaptive rule only). */
export function lossWeight(s: WeightSchedule, step: number, totalSteps: number, lastDevScore?: number): number {
  switch (s.kind) {
    case 'constant':
      return s.weight;
    case 'adaptive':
      return adaptiveWeight(s, lastDevScore);
    default: {
      const p = progress(step, totalSteps, s.startStep, s.endStep);
      const shape = {
        linear_growth: p,
        linear_decay: 1 - p,
        cosine_decay: cosineDecay(p),
        cosine_growth: 1 - cosineDecay(p),
      }[s.kind];
      return s.weight * shape;
    }
  }
}

export function adaptiveWeight(s: AdaptiveWeight, studentScore: number | undefined): number {
  if (studentScore === undefined || !Number.isFinite(studentScore)) return s.weight;
  const floor = s.minWeight ?? 0;
  const gap = s.teacherScore - studentScore;
  const ratio = s.margin > 0 ? gap / s.margin : gap > 0 ? 1 : 0;
  return Math.max(floor, Math.min(s.weight, s.weight * ratio));
}

/**
 * Curriculum instead of two hard stages: the intermediate losses hand over to the prediction loss
 * between `startStep` and `endStep` (linear or cosine). Returns the two multipliers, summing to 1.
 */
export interface Curriculum {
  kind: 'linear' | 'cosine';
  startStep: number;
  endStep: number;
}

export function curriculumWeights(c: Curriculum, step: number): { intermediate: number; prediction: number } {
  const p = progress(step, c.endStep + 1, c.startStep, c.endStep);
  const prediction = c.kind === 'linear' ? p : 1 - cosineDecay(p);
  return { intermediate: 1 - prediction, prediction };
}
