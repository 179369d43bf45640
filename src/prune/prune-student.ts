/** Structured pruning applied to a live Student (its variables replaced in place). */
import { studentWeights } from '../export/weights.ts';
import type { BertConfig } from '../student/config.ts';
import type { Student } from '../student/model.ts';
import { paramShapes } from '../student/param-names.ts';
import { pruneWeights, type KeepPlan } from './prune-weights.ts';

export function pruneStudent(student: Student, plan: KeepPlan): void {
  const { config, weights } = pruneWeights(student.config, studentWeights(student), plan);
  student.replaceWeights(config, weights);
}

/** Gives the student `config`'s per-layer shapes with zero weights (a checkpoint's tensors then fill them). */
export function reshapeStudent(student: Student, config: BertConfig): void {
  const weights = new Map([...paramShapes(config)].map(([k, shape]) => [k, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]));
  student.replaceWeights(config, weights);
}
