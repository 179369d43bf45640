/**
 * Which heads / feed-forward units to keep, from importance scores and a target. Pure.
 *
 * Target: a list gives the count each layer keeps; a single number is the total kept over all layers,
 * chosen by score across layers (comparable when scores are normalised per layer, as Michel et al. do),
 * with every layer keeping at least one.
 */
import { UserError } from '../util/errors.ts';

/** Kept indices per layer, ascending; ties go to the lower index (deterministic). */
export function selectKept(scores: number[][], target: number | number[], what: string): number[][] {
  const L = scores.length;
  const byScore = (i: number) => scores[i].map((_, j) => j).sort((a, b) => scores[i][b] - scores[i][a] || a - b);
  if (Array.isArray(target)) {
    if (target.length !== L) throw new UserError(`prune.${what}: ${target.length} per-layer counts given, the student has ${L} layers`);
    return target.map((k, i) => {
      if (!Number.isInteger(k) || k < 1 || k > scores[i].length) {
        throw new UserError(`prune.${what}[${i}]: must be an integer in 1..${scores[i].length} (layer ${i} has ${scores[i].length}), got ${k}`);
      }
      return byScore(i).slice(0, k).sort((a, b) => a - b);
    });
  }
  const total = scores.reduce((a, s) => a + s.length, 0);
  if (!Number.isInteger(target) || target < L || target > total) {
    throw new UserError(`prune.${what}: a total must be an integer in ${L}..${total} (at least one per layer, at most all), got ${target}`);
  }
  const kept: number[][] = scores.map((_, i) => [byScore(i)[0]]);
  const rest: [number, number][] = [];
  for (let i = 0; i < L; i++) for (const j of byScore(i).slice(1)) rest.push([i, j]);
  rest.sort((a, b) => scores[b[0]][b[1]] - scores[a[0]][a[1]] || a[0] - b[0] || a[1] - b[1]);
  for (const [i, j] of rest.slice(0, target - L)) kept[i].push(j);
  return kept.map((k) => k.sort((a, b) => a - b));
}
