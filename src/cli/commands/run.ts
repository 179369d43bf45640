import * as fs from 'node:fs';
import type { CommandSpec } from '../args.ts';
import { saveResolvedConfig } from '../config-load.ts';
import { augmentStep, cacheStep, exportStep, runExportOptions, trainStep } from '../pipeline.ts';
import { evalStep, reportStep } from '../pipeline-eval.ts';
import { needsTeacher, runPaths } from '../stage-options.ts';
import { BACKEND_OPTION, configOf, envOf, INPUT_OPTIONS, PROVIDER_OPTION, RESUME_OPTION, RUN_OPTIONS } from './common.ts';

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'every stage from one config: (augment →) cache → train → export → eval → report',
  usage: 'distill run --config <file> [options]',
  description:
    'Outputs under <out>: resolved-config.json, cache/, checkpoints/, train-log.jsonl, student/, student-onnx/,\n' +
    'eval.json and report.html. An interrupted run continues with --resume (the cache always resumes).',
  options: [...RUN_OPTIONS, RESUME_OPTION, ...INPUT_OPTIONS, BACKEND_OPTION, PROVIDER_OPTION],
  examples: [
    'distill run --config data/demo/config.json          # what `npm start` runs',
    'distill run --config sst2.yaml --out runs/sst2-ema --set ema.enabled=true',
    'distill run --config sst2.yaml --resume --quiet     # continue after an interruption, plain log lines',
  ],
  async run(ctx) {
    const config = configOf(ctx);
    const env = envOf(ctx);
    const started = Date.now();
    saveResolvedConfig(config, config.out);
    if (config.augment.enabled) {
      const dir = runPaths(config).augmentDir;
      if (!fs.existsSync(dir) || env.force) await augmentStep(config, env, { force: true });
      else env.io.err(`using the augmented data already in ${dir} (--force to redo it)\n`);
    }
    if (needsTeacher(config)) await cacheStep(config, env); // gold-label-only runs need no teacher outputs
    await trainStep(config, env);
    if (config.export.enabled) await exportStep(runExportOptions(config), env);
    await evalStep(config, env);
    if (config.report.enabled) await reportStep(config, env);
    env.io.err(`run finished in ${((Date.now() - started) / 1000).toFixed(0)} s; outputs in ${config.out}\n`);
    return 0;
  },
};
