import { describe, expect, it } from 'vitest';
import { lastLayerMap, mappingMatches, pairsMap, resolveMapping, teacherLayersForInit, uniformMap } from '../../src/distill/mapping.ts';

describe('layer mapping', () => {
  it('uniform 12 -> 4 follows TinyBERT (hidden m <-> 3m, attention i <-> 3i + 2)', () => {
    const m = uniformMap(12, 4);
    expect(m.hidden.map((p) => [p.s, p.t])).toEqual([[0, 0], [1, 3], [2, 6], [3, 9], [4, 12]]);
    expect(m.attention.map((p) => [p.s, p.t])).toEqual([[0, 2], [1, 5], [2, 8], [3, 11]]);
  });

  it('uniform with equal depths is the identity; 6 -> 2 uses k = 3', () => {
    expect(uniformMap(3, 3).attention.map((p) => p.t)).toEqual([0, 1, 2]);
    expect(uniformMap(3, 3).hidden.map((p) => p.t)).toEqual([0, 1, 2, 3]);
    expect(uniformMap(6, 2).hidden.map((p) => p.t)).toEqual([0, 3, 6]);
  });

  it('uniform refuses depths that do not divide, naming the field', () => {
    expect(() => uniformMap(12, 5, 'distill.mapping')).toThrow(/distill\.mapping: .*teacher depth \(12\).*student depth \(5\)/);
    expect(() => uniformMap(12, 0)).toThrow(/student depth must be a positive integer/);
  });

  it('last-layer only', () => {
    expect(lastLayerMap(12, 4)).toEqual({ hidden: [{ s: 4, t: 12 }], attention: [{ s: 3, t: 11 }] });
  });

  it('explicit pairs are validated against both depths', () => {
    const m = pairsMap({ hidden: [[0, 0], [2, 12]], attention: [[1, 11]] }, 12, 2);
    expect(m).toEqual({ hidden: [{ s: 0, t: 0 }, { s: 2, t: 12 }], attention: [{ s: 1, t: 11 }] });
    expect(() => pairsMap({ hidden: [[0, 13]], attention: [] }, 12, 2, 'cfg.mapping')).toThrow(
      /cfg\.mapping\.hidden\[0\]\[1\]: teacher index 13 is out of range 0\.\.12 \(hidden index 0 is the embedding output\)/,
    );
    expect(() => pairsMap({ hidden: [], attention: [[2, 0]] }, 12, 2)).toThrow(/mapping\.attention\[0\]\[0\]: student index 2 is out of range 0\.\.1/);
    expect(() => pairsMap({ hidden: [[1, 1], [1, 2]], attention: [] }, 12, 2)).toThrow(/hidden\[1\]: student index 1 is mapped twice/);
    expect(() => pairsMap({ hidden: [[1.5, 1] as [number, number]], attention: [] }, 12, 2)).toThrow(/student index 1.5/);
    expect(() => resolveMapping({ kind: 'pairs', hidden: [], attention: [] }, 12, 2)).toThrow(/empty/);
    expect(() => resolveMapping({ kind: 'nope' } as never, 12, 2)).toThrow(/mapping\.kind must be/);
  });

  it('builds matches and init layers', () => {
    const matches = mappingMatches(uniformMap(4, 2), { attentionLoss: 'attention_kl', hiddenWeight: 0.5 });
    expect(matches).toEqual([
      { feature: 'hidden', layerS: 0, layerT: 0, loss: 'hidden_mse', weight: 0.5 },
      { feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 0.5 },
      { feature: 'hidden', layerS: 2, layerT: 4, loss: 'hidden_mse', weight: 0.5 },
      { feature: 'attention', layerS: 0, layerT: 1, loss: 'attention_kl', weight: 1 },
      { feature: 'attention', layerS: 1, layerT: 3, loss: 'attention_kl', weight: 1 },
    ]);
    expect(mappingMatches(uniformMap(4, 2), { attentionWeight: 0 }).every((m) => m.feature === 'hidden')).toBe(true);
    expect(teacherLayersForInit(12, 6)).toEqual([1, 3, 5, 7, 9, 11]);
  });
});
