import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/config-load.ts';
import { MINIMAL } from '../cli/helpers.ts';

const withStages = (stages: unknown[]) => parseConfig({ ...MINIMAL, distill: { stages } }, 'run.json');

describe('config: pruning stages', () => {
  it('defaults: gradient score over 32 batches, normalised per layer; absent: no pruning', () => {
    const c = withStages([
      { name: 'a', steps: 5, losses: [{ name: 'kd_ce' }] },
      { name: 'p', steps: 5, losses: [{ name: 'kd_ce' }], prune: { heads: [6, 6, 4, 2] } },
    ]);
    expect(c.distill.stages[0].prune).toBeUndefined();
    expect(c.distill.stages[1].prune).toEqual({ heads: [6, 6, 4, 2], score: 'gradient', batches: 32, normalize: true });
  });

  it('refuses a prune that keeps nothing in particular, unknown keys and non-integer targets, naming the key', () => {
    expect(() => withStages([{ name: 'p', steps: 5, losses: [{ name: 'kd_ce' }], prune: {} }])).toThrow(/distill\.stages\[0\]\.prune: give heads and\/or ffn/);
    expect(() => withStages([{ name: 'p', steps: 5, losses: [{ name: 'kd_ce' }], prune: { heads: 4, keep: 1 } }])).toThrow(/keep/);
    expect(() => withStages([{ name: 'p', steps: 5, losses: [{ name: 'kd_ce' }], prune: { ffn: 1.5 } }])).toThrow(/distill\.stages\[0\]\.prune\.ffn/);
  });

  it('refuses attention losses in or after the pruning stage (before it they are fine)', () => {
    const stages = [
      { name: 'i', steps: 5, losses: [{ name: 'attention_mse' }] },
      { name: 'p', steps: 5, losses: [{ name: 'kd_ce' }], prune: { heads: 20 } },
      { name: 'q', steps: 5, losses: [{ name: 'hidden_mse' }, { name: 'attention_kl' }] },
    ];
    expect(() => withStages(stages)).toThrow(/distill\.stages\[2\]\.losses: "attention_kl" matches attention head by head, but stage "p" prunes heads/);
    expect(() => withStages(stages.slice(0, 2))).not.toThrow();
  });
});

describe('config: a student built with per-layer shapes', () => {
  const student = (extra: Record<string, unknown>) => parseConfig({ ...MINIMAL, student: { hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256, ...extra } }, 'run.json');

  it('layerHeads / layerIntermediateSizes become pruned_heads (the last heads of each layer) and layer_intermediate_sizes', async () => {
    const { studentBertConfig } = await import('../../src/cli/stage-options.ts');
    const { loadTask } = await import('../../src/data/tasks.ts');
    const b = studentBertConfig(student({ layerHeads: [4, 1], layerIntermediateSizes: [128, 256] }), loadTask('sst2'), 313);
    expect(b.pruned_heads).toEqual({ '1': [1, 2, 3] });
    expect(b.layer_intermediate_sizes).toEqual([128, 256]);
    // A uniform student has neither key (its config.json is unchanged).
    const u = studentBertConfig(student({ layerHeads: [4, 4], layerIntermediateSizes: [256, 256] }), loadTask('sst2'), 313);
    expect('pruned_heads' in u || 'layer_intermediate_sizes' in u).toBe(false);
  });

  it('refuses a wrong length, more heads than numHeads, and teacher initialisation, naming the key', () => {
    expect(() => student({ layerHeads: [4] })).toThrow(/student\.layerHeads: must list 2 values/);
    expect(() => student({ layerHeads: [4, 5] })).toThrow(/student\.layerHeads\[1\]: at most student\.numHeads \(4\)/);
    expect(() => student({ layerIntermediateSizes: [8, 8], init: 'teacher' })).toThrow(/student\.layerIntermediateSizes: a student initialised from the teacher/);
  });
});
