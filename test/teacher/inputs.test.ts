import { describe, expect, it } from 'vitest';
import { onnx } from '../../src/onnx/proto.ts';
import { findLogitsOutput } from '../../src/teacher/inputs.ts';

const output = (name: string, dims: (number | string)[]) =>
  onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
const graph = (...outputs: ReturnType<typeof output>[]) => onnx.GraphProto.create({ output: outputs });

describe('findLogitsOutput', () => {
  it('"logits" by name; else the only rank-2 output matching num_labels, with the reason', () => {
    expect(findLogitsOutput(graph(output('logits', ['batch', 3])), 3)).toEqual({ name: 'logits' });
    const g = findLogitsOutput(graph(output('285', ['batch', 3])), 3);
    expect(g.name).toBe('285');
    expect(g.guessedBecause).toBe('it is the only rank-2 output ([batch, 3]), matching num_labels 3');
  });
  it('no guess for encoders: pooler / hidden outputs, no num_labels, a wrong width, or two candidates', () => {
    expect(findLogitsOutput(graph(output('last_hidden_state', ['b', 'l', 32]), output('pooler_output', ['b', 32])), 2)).toEqual({});
    expect(findLogitsOutput(graph(output('285', ['batch', 3])), undefined)).toEqual({});
    expect(findLogitsOutput(graph(output('285', ['batch', 32])), 3)).toEqual({});
    expect(findLogitsOutput(graph(output('a', ['b', 3]), output('c', ['b', 3])), 3)).toEqual({});
  });
});
