/**
 * Which student layer learns from which teacher layer.
 *
 * Index conventions (those of Features, 0-based arrays):
 *   hidden index h: 0 = embedding output, h ≥ 1 = output of encoder layer h (1-based layer number);
 *   attention index a: the a-th encoder layer, 0-based (layer number a + 1).
 *
 * Uniform mapping, TinyBERT's (task_distill.py), with k = nT / nS:
 *   hidden:    student h ↔ teacher h·k            for h = 0..nS (embedding ↔ embedding, last ↔ last)
 *   attention: student a ↔ teacher a·k + k − 1    for a = 0..nS−1
 * so student layer number m (1-based) learns both its output and its attention from teacher layer
 * number m·k. Example nT = 12, nS = 4 (k = 3): hidden 0↔0, 1↔3, 2↔6, 3↔9, 4↔12; attention 0↔2, 1↔5, 2↔8, 3↔11.
 */
import type { Match } from './losses.ts';
import { UserError } from '../util/errors.ts';

export interface LayerPair {
  s: number;
  t: number;
}

export interface LayerMapping {
  hidden: LayerPair[];
  attention: LayerPair[];
}

/** Mapping as written in a config: explicit pairs are [student, teacher] in the index conventions above. */
export type MappingSpec =
  | { kind: 'uniform' }
  | { kind: 'last' }
  | { kind: 'pairs'; hidden: [number, number][]; attention: [number, number][] };

export function uniformMap(nT: number, nS: number, field = 'mapping'): LayerMapping {
  checkDepths(nT, nS, field);
  if (nT % nS !== 0) {
    throw new UserError(
      `${field}: uniform mapping needs the teacher depth (${nT}) to be a multiple of the student depth (${nS}); use kind "pairs" or "last"`,
    );
  }
  const k = nT / nS;
  const hidden: LayerPair[] = [];
  for (let h = 0; h <= nS; h++) hidden.push({ s: h, t: h * k });
  const attention: LayerPair[] = [];
  for (let a = 0; a < nS; a++) attention.push({ s: a, t: a * k + k - 1 });
  return { hidden, attention };
}

/** Only the last layer's output and attention (no embedding match). */
export function lastLayerMap(nT: number, nS: number, field = 'mapping'): LayerMapping {
  checkDepths(nT, nS, field);
  return { hidden: [{ s: nS, t: nT }], attention: [{ s: nS - 1, t: nT - 1 }] };
}

function checkDepths(nT: number, nS: number, field: string): void {
  for (const [who, n] of [['teacher', nT], ['student', nS]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new UserError(`${field}: ${who} depth must be a positive integer, got ${n}`);
  }
}

/** Validates explicit pairs against both depths, naming the offending entry. */
export function pairsMap(
  spec: { hidden: [number, number][]; attention: [number, number][] },
  nT: number,
  nS: number,
  field = 'mapping',
): LayerMapping {
  checkDepths(nT, nS, field);
  const check = (kind: 'hidden' | 'attention', list: unknown): LayerPair[] => {
    if (!Array.isArray(list)) throw new UserError(`${field}.${kind} must be an array of [student, teacher] pairs`);
    // hidden has one more index than layers (the embedding output at 0)
    const maxS = kind === 'hidden' ? nS : nS - 1;
    const maxT = kind === 'hidden' ? nT : nT - 1;
    const note = kind === 'hidden' ? ' (hidden index 0 is the embedding output)' : ' (attention indices are 0-based layers)';
    const seen = new Set<number>();
    return list.map((pair: unknown, i: number) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new UserError(`${field}.${kind}[${i}] must be a [student, teacher] pair, got ${JSON.stringify(pair)}`);
      }
      const [s, t] = pair as unknown[];
      for (const [j, who, v, max] of [[0, 'student', s, maxS], [1, 'teacher', t, maxT]] as const) {
        if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) {
          throw new UserError(`${field}.${kind}[${i}][${j}]: ${who} index ${JSON.stringify(v)} is out of range 0..${max}${note}`);
        }
      }
      if (seen.has(s as number)) throw new UserError(`${field}.${kind}[${i}]: student index ${s} is mapped twice`);
      seen.add(s as number);
      return { s: s as number, t: t as number };
    });
  };
  const mapping = { hidden: check('hidden', spec.hidden), attention: check('attention', spec.attention) };
  if (mapping.hidden.length + mapping.attention.length === 0) throw new UserError(`${field}: pairs mapping is empty`);
  return mapping;
}

export function resolveMapping(spec: MappingSpec, nT: number, nS: number, field = 'mapping'): LayerMapping {
  switch (spec.kind) {
    case 'uniform':
      return uniformMap(nT, nS, field);
    case 'last':
      return lastLayerMap(nT, nS, field);
    case 'pairs':
      return pairsMap(spec, nT, nS, field);
    default:
      throw new UserError(`${field}.kind must be "uniform", "last" or "pairs", got ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}

export interface IntermediateLossOptions {
  hiddenLoss?: 'hidden_mse';
  attentionLoss?: 'attention_mse' | 'attention_probs_mse' | 'attention_kl';
  hiddenWeight?: number;
  attentionWeight?: number;
}

/** The intermediate-layer matches of a mapping (weight 0 drops that feature). Defaults: TinyBERT's losses, weight 1. */
export function mappingMatches(mapping: LayerMapping, opts: IntermediateLossOptions = {}): Match[] {
  const hw = opts.hiddenWeight ?? 1;
  const aw = opts.attentionWeight ?? 1;
  const out: Match[] = [];
  if (hw !== 0) {
    for (const p of mapping.hidden) out.push({ feature: 'hidden', layerS: p.s, layerT: p.t, loss: opts.hiddenLoss ?? 'hidden_mse', weight: hw });
  }
  if (aw !== 0) {
    for (const p of mapping.attention) out.push({ feature: 'attention', layerS: p.s, layerT: p.t, loss: opts.attentionLoss ?? 'attention_mse', weight: aw });
  }
  return out;
}

/**
 * Teacher layer (0-based) each student layer copies in initFromTeacher: the uniform mapping's
 * attention partner a·k + k − 1, i.e. the teacher layer whose output that student layer will learn.
 */
export function teacherLayersForInit(nT: number, nS: number): number[] {
  return uniformMap(nT, nS, 'init layers').attention.map((p) => p.t);
}
