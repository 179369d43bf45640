import * as path from 'node:path';
import { CONFIG_OPTIONS, type CommandSpec } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { exportStep, runExportOptions } from '../pipeline.ts';
import { configOf, envOf } from './common.ts';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'write a saved student as a Hugging Face ONNX folder (config.json, tokenizer.json, onnx/model.onnx)',
  usage: 'distill export --config <file> [options]   |   distill export --model <student dir> --out <dir> [options]',
  description: 'The folder loads in onnxruntime, in transformers.js, and as a teacher in this tool.',
  options: [
    ...CONFIG_OPTIONS,
    { name: 'model', short: 'm', kind: 'string', arg: '<dir>', help: 'saved student folder (default: <out>/student of the config)' },
    { name: 'out', short: 'o', kind: 'string', arg: '<dir>', help: 'export folder (default: export.dir, else <out>/student-onnx)' },
    { name: 'quantize', kind: 'flag', help: 'also write onnx/model_quantized.onnx (dynamic int8)', configKey: 'export.quantize' },
    { name: 'with-intermediates', kind: 'flag', help: 'also output hidden states and attention (to serve as a teacher)', configKey: 'export.withIntermediates' },
    { name: 'force', short: 'f', kind: 'flag', help: 'replace an existing export folder' },
  ],
  examples: [
    'distill export --config data/demo/config.json --force',
    'distill export --model runs/sst2/student --out models/tiny-sst2 --quantize',
  ],
  async run(ctx) {
    const v = ctx.values;
    const model = v.model === undefined ? undefined : path.resolve(String(v.model));
    const out = v.out === undefined ? undefined : path.resolve(String(v.out));
    const force = !!v.force;
    if (v.config) {
      const base = runExportOptions(configOf(ctx));
      await exportStep({ ...base, studentDir: model ?? base.studentDir, outDir: out ?? base.outDir, force }, envOf(ctx));
      return 0;
    }
    if (!model || !out) throw new UserError('give --config, or both --model <student dir> and --out <dir>\nSee: distill export --help');
    await exportStep({ studentDir: model, outDir: out, quantize: !!v.quantize, withIntermediates: !!v['with-intermediates'], force }, envOf(ctx));
    return 0;
  },
};
