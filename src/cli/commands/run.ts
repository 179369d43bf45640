import type { CommandSpec } from '../args.ts';
import { runPipeline } from '../pipeline-run.ts';
import { ALLOW_CHANGED_OPTION, BACKEND_OPTION, configOf, envOf, INPUT_OPTIONS, PROVIDER_OPTION, RESUME_OPTION, RUN_OPTIONS } from './common.ts';

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'every stage from one config: (augment →) cache → train → export → eval → report',
  usage: 'distill run --config <file> [options]',
  description:
    'Outputs under <out>: resolved-config.json, cache/, checkpoints/, train-log.jsonl, student/, student-onnx/,\n' +
    'eval.json and report.html. An interrupted run continues with --resume (the cache always resumes).\n' +
    'With teacher assistants (config `assistants`), each is distilled and exported first into <out>/assistant-<i>\n' +
    '(a finished one is reused), and the student learns from the last.',
  options: [...RUN_OPTIONS, RESUME_OPTION, ALLOW_CHANGED_OPTION, ...INPUT_OPTIONS, BACKEND_OPTION, PROVIDER_OPTION],
  examples: [
    'distill run --config data/demo/config.json          # what `npm start` runs',
    'distill run --config sst2.yaml --out runs/sst2-ema --set ema.enabled=true',
    'distill run --config sst2.yaml --resume --quiet     # continue after an interruption, plain log lines',
  ],
  async run(ctx) {
    await runPipeline(configOf(ctx), envOf(ctx));
    return 0;
  },
};
