import * as path from 'node:path';
import { expect, it } from 'vitest';
import { median, onnxModelStats } from '../../src/report/measure.ts';

it('median of odd and even counts, NaN when empty', () => {
  expect(median([5, 1, 3])).toBe(3);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([])).toBeNaN();
});

it('onnxModelStats counts the float weights of the tiny fixture (its config gives the expected total)', () => {
  const dir = path.resolve(import.meta.dirname, '../fixtures/tiny-bert-opset17');
  const { params, sizeBytes } = onnxModelStats(dir);
  // vocab 122, hidden 32, 3 layers, FFN 64, 40 positions, 2 token types, 2 labels (BertForSequenceClassification):
  const H = 32, I = 64, V = 122, P = 40, T = 2, L = 3, C = 2;
  const embeddings = (V + P + T) * H + 2 * H;
  const layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H;
  const head = H * H + H + H * C + C;
  expect(params).toBe(embeddings + L * layer + head);
  expect(sizeBytes).toBeGreaterThan(params * 4);
});
