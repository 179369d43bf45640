import * as path from 'node:path';
import { CONFIG_OPTIONS, type CommandSpec } from '../args.ts';
import { searchStep } from '../pipeline-search.ts';
import { BACKEND_OPTION, configOf, envOf, PROVIDER_OPTION, RESUME_OPTION } from './common.ts';

export const searchCommand: CommandSpec = {
  name: 'search',
  summary: "which student? time candidate shapes against a budget, distil the most promising few, report the best",
  usage: 'distill search --config <file> [--out <dir>] [--resume]',
  description:
    'The config\'s `search` section gives the budget (latency at a batch size, size on disk) and the grid of\n' +
    'shapes (layers × hidden × heads × FFN). Each shape is exported with random weights and timed in\n' +
    'onnxruntime at data.maxLength tokens; those inside the budget are ranked by parameters (most capacity\n' +
    'first), the `top` ones are distilled for `steps` updates (the config\'s stages, scaled) on the run\'s\n' +
    'teacher cache and compared on the dev split. Writes search.json and search.md (the table, also printed)\n' +
    'and one run folder per distilled candidate; exit 1 when no candidate fits the budget.',
  options: [
    ...CONFIG_OPTIONS,
    { name: 'out', short: 'o', kind: 'string', arg: '<dir>', help: 'search folder (default <out>/search)' },
    RESUME_OPTION,
    { name: 'force', short: 'f', kind: 'flag', help: 'start over, replacing an earlier search in the folder' },
    BACKEND_OPTION,
    PROVIDER_OPTION,
  ],
  examples: [
    'distill search --config data/demo/config.json --set search.budget.latencyMs=2',
    'distill search --config sst2.yaml --out runs/sst2-search --resume',
  ],
  async run(ctx) {
    const c = configOf(ctx);
    const out = ctx.values.out === undefined ? undefined : path.resolve(String(ctx.values.out));
    await searchStep(c, envOf(ctx), out);
    return 0;
  },
};
