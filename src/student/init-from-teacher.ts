/**
 * Starts a student from the teacher's weights (DistilBERT style): embeddings, pooler and classifier
 * are copied, and student layer i copies teacher layer layerMap[i]. Widths (hidden, intermediate,
 * heads' total) must match; the student is only shallower.
 */
import * as tf from '@tensorflow/tfjs';
import type { Student } from './model.ts';
import { teacherLayersForInit } from '../distill/mapping.ts';
import { UserError } from '../util/errors.ts';

export interface TeacherTensor {
  shape: number[];
  data: Float32Array;
}

export interface InitReport {
  /** Teacher layer (0-based) copied into each student layer. */
  layerMap: number[];
  /** Student parameters now holding teacher values. */
  copied: string[];
  /** Student parameters the teacher does not have (e.g. no classifier in an encoder-only teacher): left as initialised. */
  kept: string[];
}

/** Depth of a teacher from its weight names (encoder.layer.<i>.…). */
export function teacherDepth(weights: Map<string, TeacherTensor>): number {
  let depth = 0;
  for (const name of weights.keys()) {
    const m = /^encoder\.layer\.(\d+)\./.exec(name);
    if (m) depth = Math.max(depth, Number(m[1]) + 1);
  }
  return depth;
}

/**
 * Copies teacher weights (student parameter names, tfjs layout, as src/teacher/weights.ts gives them)
 * into `student`. `layerMap[i]` is the teacher layer for student layer i (0-based); by default every
 * k-th layer, teacherLayersForInit (k−1, 2k−1, …, the layers the uniform distillation mapping pairs with).
 * Everything is checked before anything is assigned, so a failure leaves the student unchanged.
 */
export function initFromTeacher(student: Student, teacherWeights: Map<string, TeacherTensor>, layerMap?: number[]): InitReport {
  const nS = student.config.num_hidden_layers;
  const nT = teacherDepth(teacherWeights);
  if (nT === 0) throw new UserError('teacher weights hold no encoder layers (no "encoder.layer.<i>." tensors)');
  const map = layerMap ?? teacherLayersForInit(nT, nS);
  if (map.length !== nS) {
    throw new UserError(`init layer map has ${map.length} entries, the student has ${nS} layers`);
  }
  map.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= nT) {
      throw new UserError(`init layer map [${i}] = ${t}: teacher layer must be in 0..${nT - 1}`);
    }
  });

  const plan: [tf.Variable, TeacherTensor, string][] = [];
  const kept: string[] = [];
  for (const [name, v] of student.params) {
    const layer = /^encoder\.layer\.(\d+)\.(.*)$/.exec(name);
    const source = layer ? `encoder.layer.${map[Number(layer[1])]}.${layer[2]}` : name;
    const w = teacherWeights.get(source);
    if (!w) {
      if (layer) throw new UserError(`teacher weights lack "${source}" (needed for student "${name}")`);
      kept.push(name);
      continue;
    }
    if (w.shape.length !== v.shape.length || w.shape.some((d, i) => d !== v.shape[i])) {
      throw new UserError(
        `cannot initialise student "${name}" [${v.shape}] from teacher "${source}" [${w.shape}]: ` +
          'teacher initialisation needs the teacher\'s widths (hidden_size, intermediate_size, vocab, positions, labels)',
      );
    }
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== size) throw new UserError(`teacher tensor "${source}" has ${w.data.length} values for shape [${w.shape}]`);
    plan.push([v, w, name]);
  }
  for (const [v, w] of plan) tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, 'float32')));
  return { layerMap: map, copied: plan.map((p) => p[2]), kept };
}
