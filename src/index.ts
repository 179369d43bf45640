/**
 * distill-ts as a library: the same stages the `distill` CLI runs, driven by the same config.
 *
 * ```ts
 * import { loadConfig, run, predict } from 'distill-ts';
 * const config = loadConfig('sst2.json', { 'distill.stages.1.steps': 2000 });
 * const result = await run(config);
 * const [p] = await predict(`${result.out}/student-onnx`, ['a gripping, funny film']);
 * ```
 *
 * Every function here is a thin layer over what the CLI commands call (src/cli/pipeline*.ts,
 * src/eval/predict.ts); the config is the one vocabulary (docs/config.md). Bad input throws a
 * {@link UserError} whose message names the file, key or tensor at fault.
 *
 * @packageDocumentation
 */
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { z } from 'zod';
import type { Io } from './cli/args.ts';
import { absolutizePaths, loadConfig as loadConfigFile, parseConfig } from './cli/config-load.ts';
import { ConfigSchema, type Config } from './cli/config-schema.ts';
import { augmentStep, cacheStep, exportStep, runExportOptions, trainStep, type ExportStepOptions, type RunEnv, type TrainSummary } from './cli/pipeline.ts';
import { evalStep, reportStep, type EvalFile } from './cli/pipeline-eval.ts';
import { runPipeline, type RunResult } from './cli/pipeline-run.ts';
import { runPaths } from './cli/stage-options.ts';

export { ConfigSchema };
export type { Config, StageConfig, StudentShape, AssistantConfig, MappingConfig, ValueScheduleConfig } from './cli/config-schema.ts';
export type { TrainSummary, ExportStepOptions } from './cli/pipeline.ts';
export type { EvalFile } from './cli/pipeline-eval.ts';
export type { RunResult } from './cli/pipeline-run.ts';
export type { AssistantResult } from './cli/pipeline-chain.ts';
export type { ModelRow } from './report/html.ts';
export { UserError, isUserError } from './util/errors.ts';
export { predictTexts as predict, type Prediction, type PredictInput, type PredictOptions } from './eval/predict.ts';
export { openClassifier as openModel, type Classifier, type ClassifierOptions } from './eval/classifier.ts';
/** The distillation losses (pure tfjs functions; `LOSSES` maps the config's loss names to them). */
export * as losses from './distill/losses.ts';
/** Learning-rate, value, loss-weight and curriculum schedules (pure functions of the step). */
export * as schedules from './train/schedules.ts';

/**
 * A config as written by hand: every key with a default may be left out (the JSON/YAML file's
 * shape; see docs/config.md). The functions below accept it or a {@link Config}.
 */
export type ConfigInput = z.input<typeof ConfigSchema>;

/** What every stage function accepts besides the config. */
export interface StepOptions {
  /** Replace existing outputs instead of refusing (the CLI's `--force`). */
  force?: boolean;
  /** Continue an interrupted training run from its latest checkpoint (the CLI's `--resume`). */
  resume?: boolean;
  /**
   * Receives each status line (backend, cache and training summaries, notices). Default: written to
   * stderr, as the CLI does.
   */
  onMessage?: (line: string) => void;
  /** Progress bars (a terminal) or periodic progress lines on stderr; false: none. Default true. */
  progress?: boolean;
}

/**
 * Reads a JSON or YAML config file (YAML by its .yaml / .yml extension), applies `overrides`
 * (dotted keys, as the CLI's `--set`: `{ 'distill.stages.0.steps': 100 }`) and validates it.
 * Relative paths in the file resolve against the file's folder, those in overrides against the
 * working directory.
 */
export function loadConfig(file: string, overrides: Record<string, unknown> = {}): Config {
  return loadConfigFile({ file, overrides });
}

/**
 * Validates a config object and fills its defaults; relative paths in it resolve against `baseDir`
 * (default: the working directory). A resolved {@link Config} passes through unchanged.
 */
export function resolveConfig(input: ConfigInput | Config, baseDir: string = process.cwd()): Config {
  const raw = structuredClone(input) as Record<string, unknown>;
  absolutizePaths(raw, path.resolve(baseDir));
  return parseConfig(raw, '(config object)');
}

function runEnv(o: StepOptions = {}): RunEnv {
  const onMessage = o.onMessage;
  const message = onMessage ? (text: string) => text.replace(/\n$/, '').split('\n').forEach((l) => onMessage(l)) : (text: string) => void process.stderr.write(text);
  const discard = new Writable({ write: (_chunk, _enc, done) => done() });
  const io: Io = { out: message, err: message, progressStream: o.progress === false ? discard : process.stderr };
  return { io, quiet: false, force: !!o.force, resume: !!o.resume };
}

/**
 * Every stage of a run, as `distill run`: (augment →) teacher cache → training → ONNX export →
 * evaluation → HTML report, each as the config enables it. Outputs go to `config.out`. With
 * `assistants`, each teacher assistant is distilled and exported first (in `<out>/assistant-<i>`)
 * and the student learns from the last.
 */
export async function run(config: ConfigInput | Config, options?: StepOptions): Promise<RunResult> {
  return runPipeline(resolveConfig(config), runEnv(options));
}

/**
 * TinyBERT word-replacement augmentation of the training split (`distill augment`); returns the
 * folder of the augmented data (by default `<out>/augmented`, which `run` uses when augment.enabled).
 */
export async function augment(config: ConfigInput | Config, options?: StepOptions & { outDir?: string }): Promise<string> {
  return augmentStep(resolveConfig(config), runEnv(options), { outDir: options?.outDir });
}

/**
 * Runs the teacher once over the training split and caches its logits, hidden states and
 * attention (`distill cache`); resumes an interrupted cache. `shard: "i/n"` builds one part of n.
 * Returns the cache folder.
 */
export async function cacheTeacher(config: ConfigInput | Config, options?: StepOptions & { shard?: string }): Promise<string> {
  const c = resolveConfig(config);
  await cacheStep(c, runEnv(options), options?.shard);
  return runPaths(c).cacheDir;
}

/**
 * Distils the student from the cached teacher (`distill train`): the config's stages, losses,
 * schedules, EMA and teachers. Saves the best student (raw or EMA, by the dev metric) in
 * `<out>/student` and returns the summary also written to `<out>/train-summary.json`. A config with
 * `assistants` is refused: `run` distils a chain.
 */
export async function train(config: ConfigInput | Config, options?: StepOptions): Promise<TrainSummary> {
  return trainStep(resolveConfig(config), runEnv(options));
}

/**
 * Writes a saved student as a Hugging Face ONNX folder (`distill export`): from a config (its run's
 * student into export.dir, default `<out>/student-onnx`) or from explicit folders. Returns the folder.
 */
export async function exportStudent(
  source: ConfigInput | Config | (Pick<ExportStepOptions, 'studentDir' | 'outDir'> & Partial<ExportStepOptions>),
  options?: StepOptions,
): Promise<string> {
  const explicit = 'studentDir' in source;
  const o: ExportStepOptions = explicit
    ? { quantize: false, withIntermediates: false, force: !!options?.force, ...source }
    : runExportOptions(resolveConfig(source));
  return exportStep(o, runEnv(options));
}

/**
 * Scores the run's teacher, its teacher assistants and its student (exported, else saved) on the dev split with the task's
 * metrics, size and latency (`distill eval --config`); also writes `<out>/eval.json`.
 */
export async function evaluate(config: ConfigInput | Config, options?: StepOptions): Promise<EvalFile> {
  return evalStep(resolveConfig(config), runEnv(options));
}

/** Writes the run's self-contained HTML report (`distill report`); returns its path. */
export async function report(config: ConfigInput | Config, options?: StepOptions): Promise<string> {
  return reportStep(resolveConfig(config), runEnv(options));
}
