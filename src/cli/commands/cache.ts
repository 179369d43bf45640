import type { CommandSpec } from '../args.ts';
import { saveResolvedConfig } from '../config-load.ts';
import { cacheStep } from '../pipeline.ts';
import { resolveShardOption } from '../shard-env.ts';
import { configOf, envOf, INPUT_OPTIONS, PROVIDER_OPTION, RUN_OPTIONS } from './common.ts';

export const cacheCommand: CommandSpec = {
  name: 'cache',
  summary: "run the teacher once over the training split and store its logits, hidden states and attention",
  usage: 'distill cache --config <file> [options]   |   distill cache --teacher <dir> --task <name> --data <dir> [options]',
  description:
    'Writes shards plus a manifest under <out>/cache (or cache.dir). Rerunning the same command resumes an\n' +
    'interrupted build; a cache built from another teacher, data or tokenizer is refused unless --force.',
  options: [
    ...RUN_OPTIONS,
    ...INPUT_OPTIONS,
    PROVIDER_OPTION,
    { name: 'cache-dir', kind: 'string', arg: '<dir>', help: 'cache folder (default <out>/cache)', configKey: 'cache.dir' },
    { name: 'dtype', kind: 'string', arg: '<float16|float32>', help: 'stored precision', configKey: 'cache.dtype' },
    { name: 'batch-size', kind: 'int', arg: '<n>', help: 'teacher batch size', configKey: 'cache.batchSize' },
    { name: 'max-cache-gb', kind: 'number', arg: '<gb>', help: 'refuse when the estimated size is larger', configKey: 'cache.maxCacheGb' },
    {
      name: 'shard',
      kind: 'string',
      arg: '<i/n|auto>',
      help: 'build only part i of n (several processes or machines); auto: from JOB_COMPLETION_INDEX/JOB_COMPLETIONS or SLURM_ARRAY_TASK_ID/COUNT',
    },
  ],
  examples: [
    'distill cache --config data/demo/config.json',
    'distill cache --teacher models/bert-sst2 --task sst2 --data ../glue/SST-2 --out runs/sst2 --max-length 64',
    'distill cache --config sst2.yaml --shard 0/4   # one of four builders; the last to finish writes the manifest',
    'distill cache --config sst2.yaml --shard auto  # in a Kubernetes Indexed Job or a Slurm array (deploy/)',
  ],
  async run(ctx) {
    const config = configOf(ctx);
    const shard = resolveShardOption(ctx.values.shard as string | undefined, process.env, (m) => ctx.io.err(m + '\n'));
    await cacheStep(config, envOf(ctx), shard);
    saveResolvedConfig(config, config.out); // after success: a failed command leaves no config behind
    return 0;
  },
};
