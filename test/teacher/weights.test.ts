import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allParamNames } from '../../src/student/param-names.ts';
import { extractBertWeights } from '../../src/teacher/weights.ts';
import { fingerprint, fixtureDir, OPSETS, readReference } from './helpers.ts';

describe.each(OPSETS)('extractBertWeights on the opset %i fixture', (opset) => {
  const ref = readReference(opset);
  const w = extractBertWeights(path.join(fixtureDir(opset), 'onnx', 'model.onnx'));

  it('finds every student parameter with the dimensions of the PyTorch model', () => {
    expect(w.missing).toEqual([]);
    expect([...w.weights.keys()].sort()).toEqual(allParamNames(3).sort());
    expect({ layers: w.numLayers, hidden: w.hiddenSize, ffn: w.intermediateSize, labels: w.numLabels }).toEqual({ layers: 3, hidden: 32, ffn: 64, labels: 2 });
    expect(w.maxPositions).toBe(40);
    expect(w.typeVocabSize).toBe(2);
  });

  it('equals the weights torch saved, in tfjs layout ([in, out] kernels)', () => {
    for (const [name, expected] of Object.entries(ref.params)) {
      const got = w.weights.get(name);
      expect(got, name).toBeDefined();
      expect(got!.shape, name).toEqual(expected.shape);
      const fp = fingerprint(got!.data);
      expect(fp.sum, name).toBeCloseTo(expected.sum, 3);
      expect(fp.weightedSum, name).toBeCloseTo(expected.weightedSum, 3);
      expect(Array.from(got!.data.subarray(0, expected.first.length)), name).toEqual(expected.first.map((v) => Math.fround(v)));
    }
  });
});
