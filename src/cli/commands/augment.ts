import * as path from 'node:path';
import type { CommandSpec } from '../args.ts';
import { augmentStep } from '../pipeline.ts';
import { configOf, envOf, INPUT_OPTIONS, RUN_OPTIONS } from './common.ts';

export const augmentCommand: CommandSpec = {
  name: 'augment',
  summary: "TinyBERT data augmentation: new training sentences by word replacement (teacher embeddings or a masked LM)",
  usage: 'distill augment --config <file> [options]   |   distill augment --teacher <dir> --task <name> --data <dir> --out <dir>',
  description:
    'Writes the augmented training split to <out>/augmented (or --aug-dir). `distill run` with augment.enabled\n' +
    'does this first and then caches and trains on the augmented split; dev stays the original.',
  options: [
    ...RUN_OPTIONS,
    ...INPUT_OPTIONS,
    { name: 'aug-dir', kind: 'string', arg: '<dir>', help: 'output folder of the augmented split (default <out>/augmented)' },
    { name: 'method', kind: 'string', arg: '<embedding|mlm>', help: 'candidate source', configKey: 'augment.method' },
    { name: 'mlm', kind: 'string', arg: '<dir>', help: 'masked-LM folder for --method mlm', configKey: 'augment.mlmDir' },
    { name: 'per-example', kind: 'int', arg: '<n>', help: 'new sentences per original (TinyBERT N)', configKey: 'augment.perExample' },
    { name: 'replace-prob', kind: 'number', arg: '<p>', help: 'probability of replacing each word', configKey: 'augment.replaceProb' },
    { name: 'candidates', kind: 'int', arg: '<k>', help: 'candidates per word (TinyBERT K)', configKey: 'augment.candidates' },
    { name: 'min-words', kind: 'int', arg: '<n>', help: 'texts with fewer words are kept without variants', configKey: 'augment.minWords' },
  ],
  examples: [
    'distill augment --config data/demo/config.json --per-example 4',
    'distill augment --teacher models/bert-sst2 --task sst2 --data ../glue/SST-2 --out runs/sst2 --method mlm --mlm models/bert-mlm',
  ],
  async run(ctx) {
    const config = configOf(ctx);
    const dir = ctx.values['aug-dir'];
    await augmentStep(config, envOf(ctx), { outDir: dir === undefined ? undefined : path.resolve(String(dir)) });
    return 0;
  },
};
