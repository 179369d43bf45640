import { describe, expect, it } from 'vitest';
import { parseLabelMap, reorderLogits, teacherLabelOrder } from '../../src/teacher/labels.ts';

const MNLI = ['contradiction', 'entailment', 'neutral'];

describe('teacher labels by name', () => {
  it('maps an MNLI teacher whose labels run entailment / neutral / contradiction onto the task order', () => {
    const r = teacherLabelOrder(MNLI, { 0: 'entailment', 1: 'neutral', 2: 'contradiction' }, 3);
    expect(r.order).toEqual([2, 0, 1]);
    expect(r.identity).toBe(false);
    // Teacher row [e, n, c] = [10, 20, 30] becomes task order [c, e, n].
    expect(Array.from(reorderLogits(Float32Array.from([10, 20, 30, 1, 2, 3]), r.order))).toEqual([30, 10, 20, 3, 1, 2]);
  });

  it('names matching case-insensitively in the same order are the identity', () => {
    expect(teacherLabelOrder(MNLI, { 0: 'CONTRADICTION', 1: 'Entailment', 2: 'neutral' }, 3).identity).toBe(true);
  });

  it('uses position when the teacher names classes only by number (absent, LABEL_i, or the ids)', () => {
    expect(teacherLabelOrder(['0', '1'], undefined, 2).identity).toBe(true);
    expect(teacherLabelOrder(['0', '1'], { 0: 'LABEL_0', 1: 'LABEL_1' }, 2).identity).toBe(true);
    expect(teacherLabelOrder(MNLI, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' }, 3).identity).toBe(true);
    expect(teacherLabelOrder(['0', '1'], { 0: '0', 1: '1' }, 2).identity).toBe(true);
    // GLUE's numeric labels (SST-2 0 / 1) have no names to compare: by position.
    expect(teacherLabelOrder(['0', '1'], { 0: 'negative', 1: 'positive' }, 2).how).toMatch(/task labels are the numbers/);
  });

  it('refuses names that disagree, listing both and the flag to give', () => {
    expect(() => teacherLabelOrder(['entailment', 'not_entailment'], { 0: 'yes', 1: 'no' }, 2, undefined, 'teacher t')).toThrow(
      "teacher t's labels [yes, no] (config.json id2label) do not match the task's labels [entailment, not_entailment]: give the correspondence as --label-map yes=entailment,no=not_entailment (teacher=task; check it)",
    );
    expect(() => teacherLabelOrder(MNLI, { 0: 'a', 1: 'b' }, 2)).toThrow(/has 2 output classes but the task has 3 labels/);
  });

  it('a label map resolves the disagreement, and may reorder', () => {
    const map = parseLabelMap('negative=1, positive=0');
    expect(map).toEqual({ negative: '1', positive: '0' });
    expect(teacherLabelOrder(['0', '1'], { 0: 'negative', 1: 'positive' }, 2, map).order).toEqual([1, 0]);
    expect(() => teacherLabelOrder(['0', '1'], { 0: 'negative', 1: 'positive' }, 2, { bad: '0' })).toThrow(/names teacher label\(s\) "bad" that the teacher does not have/);
    expect(() => parseLabelMap('negative')).toThrow(/expected teacherLabel=taskLabel pairs/);
  });
});

describe("teacher labels by the task's readable names", () => {
  it("SST-2's 0 / 1 are negative / positive: a teacher naming them so is matched by those names, in either order", () => {
    const names = ['negative', 'positive'];
    expect(teacherLabelOrder(['0', '1'], { 0: 'negative', 1: 'positive' }, 2, undefined, 't', names).identity).toBe(true);
    const crossed = teacherLabelOrder(['0', '1'], { 0: 'Positive', 1: 'negative' }, 2, undefined, 't', names);
    expect(crossed.order).toEqual([1, 0]);
    expect(crossed.how).toMatch(/by name \(negative, positive\)/);
    // Other names still say nothing about 0 / 1: by position.
    expect(teacherLabelOrder(['0', '1'], { 0: 'bad', 1: 'good' }, 2, undefined, 't', names).how).toMatch(/task labels are the numbers/);
  });
});
