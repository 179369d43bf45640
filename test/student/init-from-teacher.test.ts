import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initFromTeacher, teacherDepth, type TeacherTensor } from '../../src/student/init-from-teacher.ts';
import { Student, paramShapes } from '../../src/student/model.ts';
import { tinyConfig, useCpu } from './helpers.ts';

beforeAll(useCpu);

/** A synthetic teacher: same widths as tinyConfig, `depth` layers; every value encodes (tensor index + 1). */
function teacherWeights(depth: number, over: Record<string, number[]> = {}): Map<string, TeacherTensor> {
  const weights = new Map<string, TeacherTensor>();
  [...paramShapes(tinyConfig({ num_hidden_layers: depth }))].forEach(([name, shape], i) => {
    const s = over[name] ?? shape;
    weights.set(name, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)).fill(i + 1) });
  });
  return weights;
}

const first = (v: tf.Variable) => v.dataSync()[0];

describe('initFromTeacher', () => {
  it('copies embeddings and head, and every k-th layer by default', () => {
    const teacher = teacherWeights(4);
    expect(teacherDepth(teacher)).toBe(4);
    const student = Student.create(tinyConfig(), 1);
    const report = initFromTeacher(student, teacher);
    // 4 -> 2 layers (k = 2): student layers 0, 1 take teacher layers 1, 3.
    expect(report.layerMap).toEqual([1, 3]);
    expect(report.kept).toEqual([]);
    expect(report.copied.length).toBe(student.params.size);
    for (const [name, v] of student.params) {
      const source = name.replace(/^encoder\.layer\.(\d+)\./, (_, i) => `encoder.layer.${report.layerMap[Number(i)]}.`);
      expect(first(v), name).toBe(teacher.get(source)!.data[0]);
    }
  });

  it('follows an explicit layer map and keeps parameters the teacher lacks', () => {
    const teacher = teacherWeights(3);
    teacher.delete('classifier.weight');
    teacher.delete('classifier.bias');
    const student = Student.create(tinyConfig(), 1);
    const before = first(student.params.get('classifier.weight')!);
    const report = initFromTeacher(student, teacher, [0, 2]);
    expect(report.kept).toEqual(['classifier.weight', 'classifier.bias']);
    expect(first(student.params.get('classifier.weight')!)).toBe(before);
    expect(first(student.params.get('encoder.layer.1.output.dense.bias')!)).toBe(teacher.get('encoder.layer.2.output.dense.bias')!.data[0]);
  });

  it('refuses mismatched widths, bad maps and incomplete layers without changing the student', () => {
    const student = Student.create(tinyConfig(), 1);
    const before = first(student.params.get('embeddings.word_embeddings.weight')!);
    const wide = teacherWeights(4, { 'encoder.layer.3.intermediate.dense.weight': [8, 24] });
    expect(() => initFromTeacher(student, wide)).toThrow(
      /student "encoder\.layer\.1\.intermediate\.dense\.weight" \[8,12\] from teacher "encoder\.layer\.3\.intermediate\.dense\.weight" \[8,24\]/,
    );
    expect(first(student.params.get('embeddings.word_embeddings.weight')!)).toBe(before);
    expect(() => initFromTeacher(student, teacherWeights(3))).toThrow(/teacher depth \(3\).*student depth \(2\)/);
    expect(() => initFromTeacher(student, teacherWeights(3), [0, 3])).toThrow(/init layer map \[1\] = 3: teacher layer must be in 0\.\.2/);
    expect(() => initFromTeacher(student, teacherWeights(3), [0])).toThrow(/1 entries, the student has 2 layers/);
    const partial = teacherWeights(2);
    partial.delete('encoder.layer.1.attention.self.key.bias');
    expect(() => initFromTeacher(student, partial)).toThrow(/teacher weights lack "encoder\.layer\.1\.attention\.self\.key\.bias"/);
    expect(() => initFromTeacher(student, new Map())).toThrow(/no encoder layers/);
  });
});
