import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_OPTIONS, type CommandSpec } from '../args.ts';
import { configOf } from './common.ts';
import { runModelDir } from './predict.ts';
import type { Example } from '../../data/types.ts';
import { UserError } from '../../util/errors.ts';

export const submitCommand: CommandSpec = {
  name: 'submit',
  summary: 'write GLUE leaderboard files (CoLA.tsv … AX.tsv) from the test splits',
  usage:
    'distill submit --glue <glue dir> --model <task>=<dir> [--model …] --out <dir>   |   distill submit --task <name> --data <dir> --model <dir> --out <dir>',
  description:
    'Predicts each task\'s test split and writes the leaderboard file: "index<TAB>prediction", the index from the\n' +
    "test file's own id column, the prediction as the label string the leaderboard expects (0/1; entailment,\n" +
    'not_entailment; entailment, neutral, contradiction; STS-B scores clipped to [0, 5]). MNLI writes MNLI-m.tsv\n' +
    'and MNLI-mm.tsv, and AX.tsv from the diagnostic set (diagnostic/diagnostic.tsv beside the MNLI folder, or\n' +
    '--diagnostic) with the same model. Every file is re-read and checked (header, row count, ids, labels);\n' +
    'the summary lists which of the eleven files the folder still lacks.',
  options: [
    ...CONFIG_OPTIONS,
    { name: 'model', short: 'm', kind: 'string', arg: '<[task=]dir>', multiple: true, help: 'model folder; with --glue, one task=dir per task (repeatable)' },
    { name: 'glue', kind: 'string', arg: '<dir>', help: 'a GLUE download (CoLA/, SST-2/, …, MNLI/, diagnostic/)' },
    { name: 'task', kind: 'string', arg: '<name>', help: 'one GLUE task (with --data and a single --model dir)' },
    { name: 'data', kind: 'string', arg: '<dir>', help: "that task's folder (with test.tsv; MNLI: test_matched.tsv, test_mismatched.tsv)" },
    { name: 'diagnostic', kind: 'string', arg: '<file>', help: 'the AX diagnostic.tsv (default: found beside the MNLI folder)' },
    { name: 'out', short: 'o', kind: 'string', arg: '<dir>', help: 'submission folder (files in it are replaced one by one)' },
    { name: 'quantized', kind: 'flag', help: 'predict with the int8 models (onnx/model_quantized.onnx)' },
    { name: 'max-length', kind: 'int', arg: '<n>', help: "tokens per example (default: each model's max_position_embeddings)" },
    { name: 'batch-size', kind: 'int', arg: '<n>', help: 'examples per forward pass (default 64)' },
    { name: 'label-map', kind: 'string', arg: '<m=task,…>', help: "model label → task label when a model's id2label names differ from the task's" },
  ],
  examples: [
    'distill submit --task sst2 --data ~/glue/SST-2 --model runs/sst2/student-onnx --out submission',
    'distill submit --glue ~/glue --model mnli=runs/mnli/student-onnx --model rte=runs/rte/student-onnx --out submission',
  ],
  async run(ctx) {
    const v = ctx.values;
    if (v.config && !v.model && !v.glue) {
      // A run's config: its task, data folder and exported student.
      const c = configOf(ctx);
      v.task ??= c.task;
      v.data ??= c.data.dir;
      v.model = [runModelDir(ctx)];
    }
    const models = ((v.model as string[] | undefined) ?? []).map(String);
    if (!v.out) throw new UserError('give --out <dir>\nSee: distill submit --help');
    if (models.length === 0) throw new UserError('give --model (a folder, or task=dir with --glue)\nSee: distill submit --help');
    const { loadTask, glueTaskKey } = await import('../../data/tasks.ts');
    const jobs: { task: string; dataDir: string; modelDir: string }[] = [];
    if (v.glue) {
      const root = path.resolve(String(v.glue));
      for (const m of models) {
        const eq = m.indexOf('=');
        const key = eq > 0 ? glueTaskKey(m.slice(0, eq)) : undefined;
        if (!key) throw new UserError(`--model ${m}: with --glue, give task=dir where task is a GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli)`);
        jobs.push({ task: key, dataDir: path.join(root, loadTask(key).displayName), modelDir: path.resolve(m.slice(eq + 1)) });
      }
    } else {
      if (!v.task || !v.data || models.length !== 1) throw new UserError('give --glue <dir> with task=dir models, or --task, --data and one --model\nSee: distill submit --help');
      const key = glueTaskKey(String(v.task));
      if (!key) throw new UserError(`--task ${v.task}: submission files exist for the GLUE tasks only`);
      jobs.push({ task: key, dataDir: path.resolve(String(v.data)), modelDir: path.resolve(models[0].replace(/^[a-z0-9-]+=/i, '')) });
    }
    const seen = new Set<string>();
    for (const j of jobs) {
      if (seen.has(j.task)) throw new UserError(`--model: task ${j.task} is given twice`);
      seen.add(j.task);
    }
    const outDir = path.resolve(String(v.out));
    const { openClassifier } = await import('../../eval/classifier.ts');
    const { iterateExamples, readSplit } = await import('../../data/reader.ts');
    const { GLUE_SUBMISSION_FILES, DIAGNOSTIC_SPLIT, diagnosticCandidates, writeSubmissionFile } = await import('../../eval/submission.ts');
    const written: string[] = [];
    for (const job of jobs) {
      const task = loadTask(job.task);
      const model = await openClassifier(job.modelDir, { quantized: !!v.quantized });
      try {
        for (const entry of GLUE_SUBMISSION_FILES.filter((e) => e.task === job.task)) {
          let examples: Example[];
          let testFile: { file: string; header: boolean };
          if (entry.split === 'diagnostic') {
            const file = v.diagnostic ? path.resolve(String(v.diagnostic)) : diagnosticCandidates(job.dataDir).find((f) => fs.existsSync(f));
            if (!file) {
              ctx.io.err(`AX.tsv skipped: no diagnostic.tsv at ${diagnosticCandidates(job.dataDir).join(' or ')} (give --diagnostic)\n`);
              continue;
            }
            examples = [...iterateExamples(task, DIAGNOSTIC_SPLIT, file)];
            testFile = { file, header: DIAGNOSTIC_SPLIT.header };
          } else {
            examples = readSplit(task, job.dataDir, entry.split);
            const spec = task.splits[entry.split];
            testFile = { file: path.join(job.dataDir, spec.file), header: spec.header };
          }
          const rows = await writeSubmissionFile(outDir, entry, task, model, examples, {
            maxLength: v['max-length'] as number | undefined,
            batchSize: v['batch-size'] as number | undefined,
            testFile,
            labelMap: v['label-map'] as string | undefined,
          });
          written.push(entry.file);
          ctx.io.out(`${entry.file}: ${rows} rows (${path.basename(job.modelDir)}${v.quantized ? ' int8' : ''})\n`);
        }
      } finally {
        await model.dispose();
      }
    }
    const missing = GLUE_SUBMISSION_FILES.map((e) => e.file).filter((f) => !fs.existsSync(path.join(outDir, f)));
    ctx.io.out(
      missing.length
        ? `${outDir}: ${GLUE_SUBMISSION_FILES.length - missing.length} of ${GLUE_SUBMISSION_FILES.length} leaderboard files; still missing: ${missing.join(', ')}\n`
        : `${outDir}: all ${GLUE_SUBMISSION_FILES.length} leaderboard files present; zip them (cd ${outDir} && zip submission.zip *.tsv) to upload\n`,
    );
    return 0;
  },
};
