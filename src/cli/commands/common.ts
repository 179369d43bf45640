/** Option groups and helpers shared by the commands. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandContext, OptionSpec } from '../args.ts';
import { CONFIG_OPTIONS } from '../args.ts';
import { loadConfig } from '../config-load.ts';
import type { Config } from '../config-schema.ts';
import type { RunEnv } from '../pipeline.ts';

export const RUN_OPTIONS: OptionSpec[] = [
  ...CONFIG_OPTIONS,
  { name: 'out', short: 'o', kind: 'string', arg: '<dir>', help: 'output folder of the run', configKey: 'out' },
  { name: 'seed', kind: 'int', arg: '<n>', help: 'random seed (data order, initialisation, dropout)', configKey: 'seed' },
  { name: 'force', short: 'f', kind: 'flag', help: 'replace existing outputs instead of refusing' },
];

/** Flags that point at inputs, for commands usable without a config file. */
export const INPUT_OPTIONS: OptionSpec[] = [
  { name: 'task', kind: 'string', arg: '<name|file.json>', help: 'task name (sst2, cola, mrpc, ...) or a task declaration', configKey: 'task' },
  { name: 'teacher', kind: 'string', arg: '<dir>', help: 'teacher folder (config.json, tokenizer, onnx/model.onnx)', configKey: 'teacher.dir' },
  { name: 'label-map', kind: 'string', arg: '<t=task,…>', help: "teacher label → task label when the teacher's id2label names differ", configKey: 'teacher.labelMap' },
  { name: 'data', kind: 'string', arg: '<dir>', help: "the task's data folder (e.g. a GLUE download's SST-2/)", configKey: 'data.dir' },
  { name: 'max-length', kind: 'int', arg: '<n>', help: 'tokens per example, special tokens included', configKey: 'data.maxLength' },
];

export const PROVIDER_OPTION: OptionSpec = {
  name: 'provider',
  kind: 'string',
  arg: '<name>',
  help: 'onnxruntime provider of the teacher: auto (CUDA when installed, else CPU), cpu, cuda',
  configKey: 'teacher.provider',
};

export const RESUME_OPTION: OptionSpec = { name: 'resume', short: 'r', kind: 'flag', help: 'continue from the latest checkpoint (an error when the run folder holds an earlier run without one)' };

export const ALLOW_CHANGED_OPTION: OptionSpec = {
  name: 'allow-changed',
  kind: 'flag',
  help: 'with --resume: continue although settings that change the numbers (lr, losses, temperature, EMA, clipping...) differ from the checkpoint; they are listed in the log',
};

export const BACKEND_OPTION: OptionSpec = {
  name: 'backend',
  kind: 'string',
  arg: '<name>',
  help: 'tfjs backend: auto, tensorflow-gpu, tensorflow, wasm, cpu',
  configKey: 'backend',
};

export function configOf(ctx: CommandContext): Config {
  return loadConfig({ file: ctx.values.config as string | undefined, overrides: ctx.overrides });
}

/** The folder `--model <dir>` names: a run folder (resolved-config.json + student/) means its student. */
export function modelFolderOf(arg: string): string {
  const dir = path.resolve(arg);
  return fs.existsSync(path.join(dir, 'resolved-config.json')) && fs.existsSync(path.join(dir, 'student')) ? path.join(dir, 'student') : dir;
}

export function envOf(ctx: CommandContext): RunEnv {
  return { io: ctx.io, quiet: !!ctx.values.quiet, force: !!ctx.values.force, resume: !!ctx.values.resume, allowChanged: !!ctx.values['allow-changed'], signals: ctx.signals };
}
