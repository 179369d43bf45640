/**
 * `distill search`: the config's `search` section drives src/search/search.ts with real
 * measurements (random-weight exports timed in onnxruntime) and real short distillations (trainStep
 * on the run's teacher cache, one run folder per candidate). search.json and search.md are rewritten
 * after every step, so an interrupted search continues with --resume.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { acquireLock } from '../util/lock.ts';
import { hasCheckpoint } from '../train/checkpoint.ts';
import { bestDistilled, candidateName, expandGrid, formatSearchTable, scaleStages, searchStudents, type CandidateShape, type SearchResult } from '../search/search.ts';
import { checkAgainstTeacher, ConfigSchema, type Config } from './config-schema.ts';
import { cacheStep, trainStep, type RunEnv } from './pipeline.ts';
import { needsTeacher, runPaths, studentBertConfig } from './stage-options.ts';

export const SEARCH_JSON = 'search.json';
export const SEARCH_TABLE = 'search.md';

/** What the saved measurements and trainings depend on: a resumed search must have the same. */
export function searchSettings(c: Config): Record<string, unknown> {
  const s = c.search!;
  return {
    'search.budget.batchSize': s.budget.batchSize,
    'search.budget.precision': s.budget.precision,
    'search.repeats': s.repeats,
    'search.steps': s.steps,
    'data.maxLength': c.data.maxLength,
    'teacher.provider': c.teacher.provider,
    'teacher.threads': c.teacher.threads,
    'distill.stages': c.distill.stages,
    seed: c.seed,
  };
}

interface SearchFile {
  settings: Record<string, unknown>;
  result: SearchResult;
}

/**
 * The run config of one candidate's short distillation: the run's config with the candidate's
 * shape, the stages scaled to search.steps, evaluation at each stage's end, the run's teacher cache,
 * no export or report.
 */
export function candidateConfig(c: Config, shape: CandidateShape, dir: string): Config {
  return {
    ...c,
    out: dir,
    cache: { ...c.cache, dir: runPaths(c).cacheDir },
    student: { ...c.student, numLayers: shape.layers, hiddenSize: shape.hidden, numHeads: shape.heads, intermediateSize: shape.intermediate },
    distill: { ...c.distill, evalEvery: 0, stages: scaleStages(c.distill.stages, c.search!.steps) },
    export: { ...c.export, enabled: false },
    report: { ...c.report, enabled: false },
    search: undefined,
  };
}

/** Measures the grid, distils the best few and writes <out>/search.{json,md}; prints the table. */
export async function searchStep(c: Config, env: RunEnv, outDir = path.join(c.out, 'search')): Promise<SearchResult> {
  if (!c.search) throw new UserError('search: the config has no "search" section (budget and grid); see docs/cli.md, "Which student?"');
  if (c.assistants.length > 0) throw new UserError('search: not combined with assistants (search the student of one teacher)');
  if (c.augment.enabled) throw new UserError('search: not combined with augment.enabled (augment once with `distill augment` and point data.dir at it)');
  expandGrid(c.search.grid); // an invalid grid is refused before anything is built
  const settings = searchSettings(c);
  const jsonFile = path.join(outDir, SEARCH_JSON);
  if (fs.existsSync(jsonFile) && !env.resume && !env.force) throw new UserError(`${outDir} holds a search; use --resume to continue it or --force to start over`);
  fs.mkdirSync(outDir, { recursive: true });
  const lock = acquireLock(outDir, 'search.lock', 'architecture search');
  try {
    let previous: SearchResult | undefined;
    if (fs.existsSync(jsonFile) && env.force && !env.resume) {
      // Everything but the lock: measurements, table and the candidates' run folders. With both flags
      // --resume wins, as in `train` (the resume line printed after a signal keeps the original flags).
      for (const e of fs.readdirSync(outDir)) if (e !== 'search.lock') fs.rmSync(path.join(outDir, e), { recursive: true, force: true });
    } else if (fs.existsSync(jsonFile)) {
      const saved = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as SearchFile;
      const changed = Object.keys(settings).filter((k) => JSON.stringify(saved.settings?.[k]) !== JSON.stringify(settings[k]));
      if (changed.length) throw new UserError(`--resume: ${jsonFile} was measured with other settings (${changed.join(', ')} changed); use --force to start over`);
      previous = saved.result;
    }
    return await searchLocked(c, env, outDir, settings, previous);
  } finally {
    lock.release();
  }
}

async function searchLocked(c: Config, env: RunEnv, outDir: string, settings: Record<string, unknown>, previous: SearchResult | undefined): Promise<SearchResult> {
  const { measureRandomStudent } = await import('../search/measure-onnx.ts');
  const { loadTask } = await import('../data/tasks.ts');
  const { loadTeacherFolder, readTeacherConfig } = await import('../teacher/folder.ts');
  const { loadTokenizer } = await import('../data/tokenizer.ts');
  const search = c.search!;
  const task = loadTask(c.task);
  const tokenizer = c.student.tokenizer !== undefined ? await loadTokenizer(c.student.tokenizer) : (await loadTeacherFolder(c.teacher.dir)).tokenizer;
  const t = readTeacherConfig(path.join(c.teacher.dir, 'config.json'));
  const teacherShape = { numLayers: t.num_hidden_layers, hiddenSize: t.hidden_size, numHeads: t.num_attention_heads, maxPositions: t.max_position_embeddings };
  const dirOf = (name: string) => path.join(outDir, name);
  const configOf = (shape: CandidateShape) => candidateConfig(c, shape, dirOf(candidateName(shape)));
  // Candidates the trainer would refuse with this config (layer mapping, relation heads...) are
  // skipped before anything is measured, with the reason in the table.
  const refusal = (shape: CandidateShape): string | undefined => {
    const cc = configOf(shape);
    const parsed = ConfigSchema.safeParse(cc);
    const errs = parsed.success ? checkAgainstTeacher(cc, teacherShape) : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    return errs.length ? errs.join('; ') : undefined;
  };
  // --force starts the search over, not the run's cache (which resumes, and is refused when stale).
  if (needsTeacher(c)) await cacheStep(c, { ...env, force: false });
  const save = (result: SearchResult) => {
    writeJsonAtomic(path.join(outDir, SEARCH_JSON), { settings, result } satisfies SearchFile);
    writeFileAtomic(path.join(outDir, SEARCH_TABLE), formatSearchTable(result));
  };
  const result = await searchStudents(search, c.data.maxLength, {
    previous,
    check: refusal,
    measure: async (shape) =>
      measureRandomStudent(studentBertConfig(configOf(shape), task, tokenizer.vocabSize), {
        tokenizer,
        maxLength: c.data.maxLength,
        batchSize: search.budget.batchSize,
        repeats: search.repeats,
        precision: search.budget.precision,
        provider: c.teacher.provider,
        threads: c.teacher.threads || undefined,
        seed: c.seed,
      }),
    distil: async (shape) => {
      const cc = configOf(shape);
      // An interrupted distillation continues from its checkpoint; leftovers without one start over.
      const resume = hasCheckpoint(runPaths(cc).checkpointDir);
      const summary = await trainStep(cc, { ...env, resume, force: !resume });
      if (!summary.best) throw new UserError(`search: the short distillation of ${cc.out} made no dev evaluation`);
      return { metric: summary.best.metric, score: summary.best.score, steps: summary.steps, seconds: summary.seconds, dir: cc.out };
    },
    onUpdate: save,
    notice: (m) => env.io.err(m + '\n'),
  });
  save(result);
  const table = formatSearchTable(result);
  env.io.out(table);
  if (!result.rows.some((r) => r.fits)) {
    const cheapest = [...result.rows].sort((a, b) => a.measurement.latencyMs - b.measurement.latencyMs)[0];
    throw new UserError(
      `search: no candidate fits the budget (the fastest, ${cheapest.name}, takes ${cheapest.measurement.latencyMs.toFixed(2)} ms and ${(cheapest.measurement.sizeBytes / 1e6).toFixed(2)} MB); ` +
        `the measurements are in ${path.join(outDir, SEARCH_TABLE)}`,
    );
  }
  const best = bestDistilled(result.rows);
  env.io.err(`search: best ${best?.name ?? '(none distilled)'}${best?.distil?.dir ? `, its student in ${path.join(best.distil.dir, 'student')}` : ''}; table in ${path.join(outDir, SEARCH_TABLE)}\n`);
  return result;
}
