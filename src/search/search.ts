/**
 * Student architecture search: expand a grid of shapes, measure each candidate (a random-weight
 * export timed in onnxruntime, in the caller's `measure`), keep those inside the budget, distil the
 * largest few briefly (the caller's `distil`) and pick the best on dev. Measuring and distilling are
 * injected, so this module does no I/O and the budget and ranking rules are testable on their own.
 */
import type { SearchConfig } from '../cli/config-schema.ts';
import { UserError } from '../util/errors.ts';

export interface CandidateShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
}

/** What one random-weight export costs. */
export interface Measurement {
  /** Float parameters of the ONNX graph. */
  params: number;
  /** Bytes of the ONNX file the budget applies to (fp32 or int8). */
  sizeBytes: number;
  /** Median latency of one forward pass (ms) at the budget's batch size and data.maxLength tokens. */
  latencyMs: number;
  /** 10th and 90th percentile of the timed passes (ms): how noisy the median is. */
  latencySpreadMs: [number, number];
}

/** A short distillation's outcome: the best dev score the trainer kept. */
export interface DistilOutcome {
  metric: string;
  score: number;
  steps: number;
  seconds: number;
  /** The run folder of the short distillation (its student/, train-log.jsonl). */
  dir?: string;
}

export interface SearchRow {
  name: string;
  shape: CandidateShape;
  measurement: Measurement;
  /** Inside every budget limit. */
  fits: boolean;
  /** The limits it exceeds ("latency 3.2 ms > 2 ms"). */
  over: string[];
  /** 1 = most capacity inside the budget; absent when it does not fit. */
  rank?: number;
  distil?: DistilOutcome;
}

export interface SearchResult {
  budget: SearchConfig['budget'];
  /** Tokens per timed example (data.maxLength). */
  maxLength: number;
  top: number;
  steps: number;
  repeats: number;
  /** Measured candidates: those inside the budget by rank, then the others by parameters. */
  rows: SearchRow[];
  /** Grid combinations not measured, with the reason (heads do not divide hidden, the config's mapping...). */
  skipped: { name: string; reason: string }[];
  /** Name of the distilled candidate with the best dev score. */
  best?: string;
}

export function candidateName(s: CandidateShape): string {
  return `L${s.layers}-H${s.hidden}-A${s.heads}-I${s.intermediate}`;
}

/** Every combination of the grid; those whose heads do not divide the hidden size are skipped with the reason. */
export function expandGrid(grid: SearchConfig['grid']): { candidates: CandidateShape[]; skipped: { name: string; reason: string }[] } {
  const candidates: CandidateShape[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const layers of grid.layers) {
    for (const hidden of grid.hidden) {
      for (const heads of grid.heads) {
        for (const intermediate of grid.intermediate === '4x' ? [4 * hidden] : grid.intermediate) {
          const shape = { layers, hidden, heads, intermediate };
          const name = candidateName(shape);
          if (seen.has(name)) continue; // a value listed twice
          seen.add(name);
          if (hidden % heads !== 0) skipped.push({ name, reason: `${heads} heads do not divide hidden size ${hidden}` });
          else candidates.push(shape);
        }
      }
    }
  }
  if (candidates.length === 0) {
    throw new UserError(
      `search.grid: no valid candidate: in every combination the heads (${grid.heads.join(', ')}) do not divide the hidden size (${grid.hidden.join(', ')})`,
    );
  }
  return { candidates, skipped };
}

/** The budget limits a measurement exceeds (empty: it fits). */
export function overBudget(m: Measurement, budget: SearchConfig['budget']): string[] {
  const over: string[] = [];
  if (budget.latencyMs !== undefined && m.latencyMs > budget.latencyMs) {
    over.push(`latency ${m.latencyMs.toFixed(2)} ms > ${budget.latencyMs} ms`);
  }
  if (budget.sizeMb !== undefined && m.sizeBytes / 1e6 > budget.sizeMb) {
    over.push(`size ${(m.sizeBytes / 1e6).toFixed(2)} MB > ${budget.sizeMb} MB`);
  }
  return over;
}

/**
 * Orders candidates: inside the budget first, most parameters first (the most capacity the budget
 * allows), ties by lower latency, then by name; the others after, by parameters.
 */
export function rankRows(rows: Omit<SearchRow, 'rank'>[]): SearchRow[] {
  const byCapacity = (a: Omit<SearchRow, 'rank'>, b: Omit<SearchRow, 'rank'>) =>
    b.measurement.params - a.measurement.params || a.measurement.latencyMs - b.measurement.latencyMs || a.name.localeCompare(b.name);
  const fit = rows.filter((r) => r.fits).sort(byCapacity).map((r, i) => ({ ...r, rank: i + 1 }));
  const rest = rows.filter((r) => !r.fits).sort(byCapacity).map((r) => ({ ...r, rank: undefined }));
  return [...fit, ...rest];
}

export interface SearchDeps {
  /** A reason the candidate cannot be distilled with this config (checked before measuring), or undefined. */
  check?(shape: CandidateShape): string | undefined;
  measure(shape: CandidateShape, name: string): Promise<Measurement>;
  distil(shape: CandidateShape, name: string): Promise<DistilOutcome>;
  /** Measurements and distillations of an earlier, interrupted search with the same settings: reused. */
  previous?: SearchResult;
  /** Called after each measurement and distillation with the result so far (to save it). */
  onUpdate?(result: SearchResult): void;
  /** One line per step (progress). */
  notice?(message: string): void;
}

/** Measures every candidate, ranks those inside the budget, distils the top ones and names the best. */
export async function searchStudents(search: SearchConfig, maxLength: number, deps: SearchDeps): Promise<SearchResult> {
  const expanded = expandGrid(search.grid);
  const skipped = [...expanded.skipped];
  const candidates = expanded.candidates.filter((shape) => {
    const reason = deps.check?.(shape);
    if (reason) skipped.push({ name: candidateName(shape), reason });
    return !reason;
  });
  if (candidates.length === 0) {
    throw new UserError(`search.grid: no candidate can be distilled with this config:\n  ${skipped.map((s) => `${s.name}: ${s.reason}`).join('\n  ')}`);
  }
  const before = new Map((deps.previous?.rows ?? []).map((r) => [r.name, r]));
  const result: SearchResult = { budget: search.budget, maxLength, top: search.top, steps: search.steps, repeats: search.repeats, rows: [], skipped };
  const measured: Omit<SearchRow, 'rank'>[] = [];
  for (const [i, shape] of candidates.entries()) {
    const name = candidateName(shape);
    const old = before.get(name);
    const measurement = old?.measurement ?? (await deps.measure(shape, name));
    const over = overBudget(measurement, search.budget);
    measured.push({ name, shape, measurement, fits: over.length === 0, over, ...(old?.distil && { distil: old.distil }) });
    deps.notice?.(
      `[search] ${i + 1}/${candidates.length} ${name}: ${measurement.params} params, ${(measurement.sizeBytes / 1e6).toFixed(2)} MB, ` +
        `${measurement.latencyMs.toFixed(2)} ms${old ? ' (measured before)' : ''}${over.length ? `; over budget: ${over.join(', ')}` : ''}`,
    );
    result.rows = rankRows(measured);
    deps.onUpdate?.(result);
  }
  const chosen = result.rows.filter((r) => r.fits).slice(0, search.top);
  for (const row of chosen) {
    if (!row.distil) {
      deps.notice?.(`[search] distilling ${row.name} (rank ${row.rank}) for ${search.steps} updates`);
      row.distil = await deps.distil(row.shape, row.name);
      deps.onUpdate?.(result);
    }
    deps.notice?.(`[search] ${row.name}: dev ${row.distil.metric} ${row.distil.score.toFixed(4)}`);
  }
  const best = bestDistilled(result.rows);
  if (best) result.best = best.name;
  deps.onUpdate?.(result);
  return result;
}

/**
 * The distilled row inside the budget with the highest dev score (ties: the smaller model, which is
 * cheaper). A row distilled in an earlier run under a looser budget does not count.
 */
export function bestDistilled(rows: readonly SearchRow[]): SearchRow | undefined {
  let best: SearchRow | undefined;
  for (const r of rows) {
    if (!r.fits || !r.distil || !Number.isFinite(r.distil.score)) continue;
    if (!best || r.distil.score > best.distil!.score || (r.distil.score === best.distil!.score && r.measurement.params < best.measurement.params)) best = r;
  }
  return best;
}

/** The result as a markdown table (every measured candidate) with a line on the budget and the best one. */
export function formatSearchTable(r: SearchResult): string {
  const b = r.budget;
  const limits = [
    b.latencyMs !== undefined ? `latency ≤ ${b.latencyMs} ms at batch ${b.batchSize}` : undefined,
    b.sizeMb !== undefined ? `size ≤ ${b.sizeMb} MB` : undefined,
  ].filter(Boolean);
  const metric = r.rows.find((x) => x.distil)?.distil?.metric ?? 'score';
  const lines = [
    `Budget: ${limits.join(', ')} (${b.precision} ONNX, ${r.maxLength} tokens, median of ${r.repeats} passes after 2 warm-up).`,
    '',
    `| rank | candidate | layers | hidden | heads | FFN | params | size MB | latency ms b${b.batchSize} (p10–p90) | in budget | dev ${metric} |`,
    '|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|',
  ];
  for (const row of r.rows) {
    const m = row.measurement;
    const s = row.shape;
    const score = row.distil ? row.distil.score.toFixed(4) + (row.name === r.best ? ' **best**' : '') : '';
    lines.push(
      `| ${row.rank ?? ''} | ${row.name} | ${s.layers} | ${s.hidden} | ${s.heads} | ${s.intermediate} | ${m.params.toLocaleString('en-US')} | ` +
        `${(m.sizeBytes / 1e6).toFixed(2)} | ${m.latencyMs.toFixed(2)} (${m.latencySpreadMs[0].toFixed(2)}–${m.latencySpreadMs[1].toFixed(2)}) | ` +
        `${row.fits ? 'yes' : `no: ${row.over.join(', ')}`} | ${score} |`,
    );
  }
  lines.push('');
  if (r.skipped.length) lines.push(`Skipped: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}.`, '');
  const best = r.rows.find((x) => x.name === r.best);
  if (best) lines.push(`Best: ${best.name} (dev ${best.distil!.metric} ${best.distil!.score.toFixed(4)} after ${best.distil!.steps} updates).`);
  else if (!r.rows.some((x) => x.fits)) lines.push('No candidate fits the budget.');
  return lines.join('\n') + '\n';
}

/** 10th and 90th percentiles (nearest rank) of timed passes. */
export function spread(times: readonly number[]): [number, number] {
  if (times.length === 0) return [Number.NaN, Number.NaN];
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return [at(0.1), at(0.9)];
}

/**
 * The config's stages shortened to `steps` updates in all, each keeping its share (stages given in
 * epochs count equal shares): the short distillation follows the run's own recipe.
 */
export function scaleStages<S extends { steps?: number; epochs?: number }>(stages: readonly S[], steps: number): S[] {
  if (steps < stages.length) throw new UserError(`search.steps: ${steps} is fewer than the ${stages.length} stages of distill.stages (each needs at least one update)`);
  const given = stages.every((s) => s.steps !== undefined);
  const weights = stages.map((s) => (given ? s.steps! : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  // Largest remainders, so the parts add up to `steps` exactly and none is 0.
  const raw = weights.map((w) => (steps * w) / total);
  const parts = raw.map((x) => Math.max(1, Math.floor(x)));
  let left = steps - parts.reduce((a, b) => a + b, 0);
  const order = raw.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) parts[order[k][1]]++;
  for (let i = parts.length - 1; left < 0; i = (i - 1 + parts.length) % parts.length) if (parts[i] > 1) (parts[i]--, left++);
  return stages.map((s, i) => {
    const { epochs: _, ...rest } = s;
    return { ...rest, steps: parts[i] } as S;
  });
}
