import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_OPTIONS, type CommandSpec } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { writeJsonAtomic } from '../../util/atomic.ts';
import { agreement, evalStep, formatEvalTable, scoreFolder, type EvalFile, type EvaluateFolderOptions } from '../pipeline-eval.ts';
import { BACKEND_OPTION, configOf, envOf, modelFolderOf } from './common.ts';

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'score a teacher folder, an exported student or a saved student on a task split',
  usage: 'distill eval --config <file>   |   distill eval --model <dir> --task <name> --data <dir> [options]',
  description:
    'With --config (and no --model): the run\'s teacher and student on the dev split, with size and latency,\n' +
    'written to <out>/eval.json for the report. With --model: that one folder, an ONNX folder\n' +
    '(onnx/model.onnx) or a saved student (model.safetensors); a run folder means its student/.',
  options: [
    ...CONFIG_OPTIONS,
    { name: 'model', short: 'm', kind: 'string', arg: '<dir>', help: 'model folder to score' },
    { name: 'task', kind: 'string', arg: '<name|file.json>', help: 'task name or declaration', configKey: 'task' },
    { name: 'data', kind: 'string', arg: '<dir>', help: "the task's data folder", configKey: 'data.dir' },
    { name: 'split', kind: 'string', arg: '<name>', help: "split to score (default: the task's dev split)", configKey: 'eval.split' },
    { name: 'max-length', kind: 'int', arg: '<n>', help: "tokens per example (default: the model's max_position_embeddings)", configKey: 'data.maxLength' },
    { name: 'label-map', kind: 'string', arg: '<m=task,…>', help: "model label → task label when the model's id2label names differ from the task's", configKey: 'teacher.labelMap' },
    { name: 'quantized', kind: 'flag', help: 'also score the int8 model (onnx/model_quantized.onnx) and its agreement with fp32' },
    { name: 'batch-size', kind: 'int', arg: '<n>', help: 'evaluation batch size (default 64)', configKey: 'eval.batchSize' },
    { name: 'latency', kind: 'flag', help: 'also time ONNX models at batch 1 and 32' },
    BACKEND_OPTION,
    { name: 'json', kind: 'string', arg: '<file>', help: 'also write the results as JSON' },
  ],
  examples: [
    'distill eval --config data/demo/config.json',
    'distill eval --model data/demo/teacher --task sst2 --data data/demo/task',
    'distill eval --model runs/sst2/student-onnx --task sst2 --data ../glue/SST-2 --latency --json scores.json',
    'distill eval --model runs/demo/student-onnx --task sst2 --data data/demo/task --quantized --latency',
  ],
  async run(ctx) {
    const v = ctx.values;
    if (v.config && !v.model) {
      await evalStep(configOf(ctx), envOf(ctx));
      return 0;
    }
    if (!v.model) throw new UserError('give --model <dir> (or --config for the run\'s teacher and student)\nSee: distill eval --help');
    const dir = modelFolderOf(String(v.model));
    const fromConfig = v.config ? configOf(ctx) : undefined;
    const taskName = (v.task as string | undefined) ?? fromConfig?.task;
    const dataDir = (v.data as string | undefined) ?? fromConfig?.data.dir;
    if (!taskName || !dataDir) throw new UserError('--model needs --task and --data (or a --config that gives them)');
    const { loadTask } = await import('../../data/tasks.ts');
    const { readSplit } = await import('../../data/reader.ts');
    const task = loadTask(/[\\/]|\.json$/i.test(taskName) ? path.resolve(taskName) : taskName);
    const split = (v.split as string | undefined) ?? fromConfig?.eval.split ?? task.devSplit;
    const examples = readSplit(task, path.resolve(dataDir), split);
    const batchSizes = v.latency ? (fromConfig?.eval.latencyBatchSizes ?? [1, 32]) : [];
    const options = {
      task,
      examples,
      maxLength: (v['max-length'] as number | undefined) ?? fromConfig?.data.maxLength,
      batchSize: (v['batch-size'] as number | undefined) ?? fromConfig?.eval.batchSize ?? 64,
      latencyBatchSizes: batchSizes,
      latencyRuns: fromConfig?.eval.latencyRuns ?? 20,
      backend: ((v.backend as string | undefined) ?? fromConfig?.backend) as EvaluateFolderOptions['backend'],
      // The config's teacher.labelMap belongs to its teacher: used when --model is that folder.
      labelMap: (v['label-map'] as string | undefined) ?? (fromConfig && path.resolve(fromConfig.teacher.dir) === dir ? fromConfig.teacher.labelMap : undefined),
      notice: (m: string) => ctx.io.err(m + '\n'),
    };
    const name = path.basename(dir);
    const fp32 = await scoreFolder(name, dir, options);
    const models = [fp32.row];
    if (v.quantized) {
      const int8 = await scoreFolder(`${name} int8`, dir, { ...options, quantized: true });
      int8.row.params = fp32.row.params;
      int8.row.agreement = agreement(int8.predictions, fp32.predictions, task.labels === null);
      models.push(int8.row);
    }
    const result: EvalFile = { task: task.name, split, primaryMetric: task.metrics[0], latencyBatchSizes: batchSizes, models };
    ctx.io.out(formatEvalTable(result));
    if (v.json) writeJsonAtomic(path.resolve(String(v.json)), result);
    return 0;
  },
};
