import { expect, it } from 'vitest';
import { pearson, spearman } from '../../src/metrics/metrics.ts';

it('a diverged model (NaN or Infinity predictions) gets no correlation score, never a perfect one', () => {
  const gold = [0.5, 1.5, 2.5, 3.5];
  expect(spearman([NaN, NaN, NaN, NaN], gold)).toBeNaN();
  expect(pearson([NaN, NaN, NaN, NaN], gold)).toBeNaN();
  expect(spearman([1, NaN, 3, 4], gold)).toBeNaN();
  expect(pearson([1, 2, Infinity, 4], gold)).toBeNaN();
  expect(spearman([1, 2, 3, 4], gold)).toBeCloseTo(1, 12);
});
