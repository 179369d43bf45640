import type { CommandSpec } from '../args.ts';
import { trainStep } from '../pipeline.ts';
import { ALLOW_CHANGED_OPTION, BACKEND_OPTION, configOf, envOf, INPUT_OPTIONS, PROVIDER_OPTION, RESUME_OPTION, RUN_OPTIONS } from './common.ts';

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'distil the student from the cached teacher (stages, losses, schedules and EMA from the config)',
  usage: 'distill train --config <file> [options]',
  description:
    'Needs the teacher cache (`distill cache`) unless every stage uses only gold-label losses (ce / mse).\n' +
    'Writes <out>/checkpoints, <out>/train-log.jsonl (every step and evaluation) and the best student\n' +
    '(raw or EMA, by the dev metric) as a student folder in <out>/student.',
  options: [
    ...RUN_OPTIONS,
    RESUME_OPTION,
    ALLOW_CHANGED_OPTION,
    ...INPUT_OPTIONS,
    BACKEND_OPTION,
    PROVIDER_OPTION,
    { name: 'cache-dir', kind: 'string', arg: '<dir>', help: 'teacher cache folder (default <out>/cache)', configKey: 'cache.dir' },
    { name: 'init', kind: 'string', arg: '<dir>', help: 'start from a saved student folder (e.g. `distill general` output); task head fresh', configKey: 'student.initFolder' },
  ],
  examples: [
    'distill train --config data/demo/config.json',
    'distill train --config sst2.yaml --resume',
    'distill train --config sst2.yaml --init runs/general/student --out runs/sst2-from-general',
    'distill train --config sst2.yaml --set distill.stages.1.steps=2000 --set ema.enabled=true --out runs/ema',
  ],
  async run(ctx) {
    await trainStep(configOf(ctx), envOf(ctx));
    return 0;
  },
};
