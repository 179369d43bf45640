/** Every stage of a run in order, as `distill run` and the library's `run()` drive it. */
import * as fs from 'node:fs';
import { studentRunConfig } from './chain.ts';
import { saveResolvedConfig } from './config-load.ts';
import type { Config } from './config-schema.ts';
import { augmentStep, cacheStep, exportStep, runExportOptions, trainStep, type RunEnv, type TrainSummary } from './pipeline.ts';
import { assistantStep, checkChain, type AssistantResult } from './pipeline-chain.ts';
import { evalStep, reportStep, type EvalFile } from './pipeline-eval.ts';
import { needsTeacher, runPaths } from './stage-options.ts';

export interface RunResult {
  /** The run's output folder. */
  out: string;
  /** The saved best student (tfjs weights in safetensors, Hugging Face layout). */
  student: string;
  /** The ONNX export folder, when export.enabled. */
  exported?: string;
  /** The teacher assistants distilled (or reused) before the student, in chain order. */
  assistants: AssistantResult[];
  train: TrainSummary;
  eval: EvalFile;
  /** The HTML report, when report.enabled. */
  report?: string;
  seconds: number;
}

/**
 * (augment →) cache → train → export → eval → report, each stage only when the config asks for it.
 * With teacher assistants, each is cached, trained and exported first (pipeline-chain.ts) and the
 * student learns from the last; eval scores the run's teacher, the assistants and the student.
 */
export async function runPipeline(config: Config, env: RunEnv): Promise<RunResult> {
  const started = Date.now();
  saveResolvedConfig(config, config.out);
  if (config.augment.enabled) {
    const dir = runPaths(config).augmentDir;
    if (!fs.existsSync(dir) || env.force) await augmentStep(config, env, { force: true });
    else env.io.err(`using the augmented data already in ${dir} (--force to redo it)\n`);
  }
  const assistants: AssistantResult[] = [];
  if (config.assistants.length > 0) {
    await checkChain(config); // every link against its teacher before hours of work on the first
    for (let i = 0; i < config.assistants.length; i++) assistants.push(await assistantStep(config, i, env));
  }
  const link = studentRunConfig(config);
  if (needsTeacher(link)) await cacheStep(link, env); // gold-label-only runs need no teacher outputs
  const train = await trainStep(link, env);
  if (link !== config) saveResolvedConfig(config, config.out); // training saved its link's config there
  const exported = config.export.enabled ? await exportStep(runExportOptions(config), env) : undefined;
  const evalFile = await evalStep(config, env);
  const report = config.report.enabled ? await reportStep(config, env) : undefined;
  const seconds = (Date.now() - started) / 1000;
  env.io.err(`run finished in ${seconds.toFixed(0)} s; outputs in ${config.out}\n`);
  return { out: config.out, student: runPaths(config).studentDir, exported, assistants, train, eval: evalFile, report, seconds };
}
