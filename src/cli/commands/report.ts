import type { CommandSpec } from '../args.ts';
import { reportStep } from '../pipeline-eval.ts';
import { configOf, envOf, RUN_OPTIONS } from './common.ts';

export const reportCommand: CommandSpec = {
  name: 'report',
  summary: "write the run's static HTML report from its training log, eval.json and resolved config",
  usage: 'distill report --config <file> [--out <dir>]',
  options: RUN_OPTIONS,
  examples: ['distill report --config data/demo/config.json', 'distill report --config sst2.yaml --out runs/sst2-ema'],
  async run(ctx) {
    await reportStep(configOf(ctx), envOf(ctx));
    return 0;
  },
};
