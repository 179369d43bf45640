import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_OPTIONS, type CommandContext, type CommandSpec } from '../args.ts';
import { configOf, modelFolderOf } from './common.ts';
import { runPaths } from '../stage-options.ts';
import { UserError } from '../../util/errors.ts';
import { createProgress, formatInfo } from '../../util/progress.ts';
import type { ClassifierOptions } from '../../eval/classifier.ts';
import type { PredictInput } from '../../eval/predict.ts';
import { OutputSink } from '../output-sink.ts';

export const predictCommand: CommandSpec = {
  name: 'predict',
  summary: 'label new text with a model folder: label and probabilities (regression: the value), as TSV or JSONL',
  usage: 'distill predict --model <dir> --input <file.tsv|file.jsonl|-> [options]',
  description:
    'The model is an ONNX folder (a teacher or an exported student; --quantized runs onnx/model_quantized.onnx)\n' +
    'or a saved student folder (model.safetensors; a run folder means its student/). Input: a TSV with a header\n' +
    'naming its columns (text / sentence / sentence1 / question…, an optional pair column such as text_pair or\n' +
    'sentence2, an optional id column), a TSV of one text or text pair per line, or JSONL objects with the same\n' +
    'keys; `-` reads stdin. Output goes to stdout (TSV: id, label, one probability column per class; JSONL:\n' +
    '{"id","label","probs"}; regression: id and value); progress goes to stderr. Longer inputs are truncated\n' +
    "to --max-length tokens (default: the model's max_position_embeddings).",
  options: [
    ...CONFIG_OPTIONS,
    { name: 'model', short: 'm', kind: 'string', arg: '<dir>', help: "model folder (ONNX folder or saved student; default with --config: the run's export)" },
    { name: 'input', short: 'i', kind: 'string', arg: '<file|->', help: 'rows to label: .tsv, .jsonl, or - for stdin' },
    { name: 'input-format', kind: 'string', arg: '<tsv|jsonl>', help: 'input format (default: from the file name; stdin: from the first line)' },
    { name: 'output-format', kind: 'string', arg: '<tsv|jsonl>', help: 'output format (default: the input format)' },
    { name: 'text-column', kind: 'string', arg: '<name>', help: 'column / key holding the text (default: text, sentence, sentence1, …)' },
    { name: 'pair-column', kind: 'string', arg: '<name>', help: 'column / key holding the second text of a pair (default: text_pair, sentence2, …)' },
    { name: 'id-column', kind: 'string', arg: '<name>', help: 'column / key copied to the output as id (default: id, index; else the row number)' },
    { name: 'quantized', kind: 'flag', help: 'run the int8 model (onnx/model_quantized.onnx)' },
    { name: 'max-length', kind: 'int', arg: '<n>', help: "tokens per example (default: the model's max_position_embeddings)" },
    { name: 'batch-size', kind: 'int', arg: '<n>', help: 'examples per forward pass (default 32)' },
    { name: 'provider', kind: 'string', arg: '<auto|cpu|cuda>', help: 'onnxruntime execution provider (default auto)' },
    { name: 'threads', kind: 'int', arg: '<n>', help: 'onnxruntime threads (default: its own choice)' },
    { name: 'backend', kind: 'string', arg: '<name>', help: 'tfjs backend for a saved student: auto, tensorflow-gpu, tensorflow, wasm, cpu' },
  ],
  examples: [
    'distill predict --model runs/demo/student-onnx --input reviews.tsv > predictions.tsv',
    'distill predict --model runs/demo/student-onnx --quantized --input rows.jsonl --output-format jsonl',
    'cat reviews.txt | distill predict --model runs/demo/student-onnx --input - | head',
  ],
  async run(ctx) {
    const v = ctx.values;
    if (!v.model && v.config) v.model = runModelDir(ctx);
    if (!v.model || !v.input) throw new UserError('give --model <dir> and --input <file|->\nSee: distill predict --help');
    const dir = modelFolderOf(String(v.model));
    const input = String(v.input);
    if (input !== '-' && !fs.existsSync(input)) throw new UserError(`input file ${input} does not exist`);
    const format = (name: string): 'tsv' | 'jsonl' | undefined => {
      const f = v[name] as string | undefined;
      if (f !== undefined && f !== 'tsv' && f !== 'jsonl') throw new UserError(`--${name} must be tsv or jsonl, got "${f}"`);
      return f;
    };
    const inputFormat = format('input-format');
    let outputFormat = format('output-format');
    const provider = v.provider as string | undefined;
    if (provider !== undefined && !['auto', 'cpu', 'cuda'].includes(provider)) throw new UserError(`--provider must be auto, cpu or cuda, got "${provider}"`);
    const batchSize = (v['batch-size'] as number | undefined) ?? 32;
    if (batchSize < 1) throw new UserError(`--batch-size must be at least 1, got ${batchSize}`);

    const { openClassifier, resolveMaxLength } = await import('../../eval/classifier.ts');
    const { predictRows, predictionTsvHeader, predictionTsvLine, predictionJsonLine } = await import('../../eval/predict.ts');
    const { readPredictInputs } = await import('../../eval/predict-input.ts');
    const model = await openClassifier(dir, { quantized: !!v.quantized, provider: provider as 'auto' | 'cpu' | 'cuda' | undefined, threads: v.threads as number | undefined, backend: v.backend as ClassifierOptions['backend'] });
    const sink = new OutputSink(ctx.io);
    try {
      const maxLength = resolveMaxLength(model, v['max-length'] as number | undefined);
      ctx.io.err(`predict: ${path.relative(process.cwd(), model.file) || model.file} on ${model.runtime}, max length ${maxLength}\n`);
      const total = input === '-' ? undefined : countDataLines(input);
      let header = false;
      let bar: ReturnType<typeof createProgress> | undefined;
      const started = Date.now();
      let lastLine = started;
      let done = 0;
      let headerWritten = false;
      // Chunks of several batches: length-sorting inside a chunk keeps padding small; output stays in input order.
      const chunkSize = batchSize * 16;
      let detected: 'tsv' | 'jsonl' | undefined;
      let chunk: PredictInput[] = [];
      const flush = async (): Promise<boolean> => {
        if (chunk.length === 0) return sink.open;
        if (total !== undefined && !bar) {
          // Made at the first chunk, when it is known whether the file had a header line.
          bar = createProgress('predict', total - (header ? 1 : 0), { quiet: !!v.quiet, stream: ctx.io.progressStream });
          bar.update(0);
        }
        outputFormat ??= inputFormat ?? detected ?? 'tsv';
        const preds = await predictRows(model, chunk, { maxLength, batchSize });
        let text = '';
        if (!headerWritten && outputFormat === 'tsv') text += predictionTsvHeader(model);
        headerWritten = true;
        for (const p of preds) text += outputFormat === 'tsv' ? predictionTsvLine(p) : predictionJsonLine(model, p);
        done += chunk.length;
        chunk = [];
        if (bar) bar.update(done);
        else if (Date.now() - lastLine > 10_000) {
          lastLine = Date.now();
          ctx.io.err(`[predict] ${done} rows ${formatInfo({ 'rows/s': (1000 * done) / (Date.now() - started) })}\n`);
        }
        return sink.write(text);
      };
      let open = true;
      for await (const row of readPredictInputs(input, {
        format: inputFormat,
        columns: { text: v['text-column'] as string | undefined, pair: v['pair-column'] as string | undefined, id: v['id-column'] as string | undefined },
        stdin: ctx.io.stdin,
        onFormat: (f) => (detected = f),
        onHeader: () => (header = true),
      })) {
        chunk.push(row);
        if (chunk.length >= chunkSize && !(open = await flush())) break;
      }
      if (open) open = await flush();
      bar?.stop();
      if (!open) {
        ctx.io.err(`predict: the reader closed the output after ${done} rows; stopped\n`);
        if (input === '-') (ctx.io.stdin as NodeJS.ReadStream | undefined)?.destroy?.();
      } else ctx.io.err(`predict: ${done} rows in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

/** Non-blank lines of a file, read in blocks, for the progress total (a header line counts one too many: harmless). */
function countDataLines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const block = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  let blank = true;
  try {
    for (let got = fs.readSync(fd, block); got > 0; got = fs.readSync(fd, block)) {
      for (let i = 0; i < got; i++) {
        const c = block[i];
        if (c === 0x0a) {
          if (!blank) n++;
          blank = true;
        } else if (c !== 0x0d && c !== 0x20 && c !== 0x09) blank = false;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return blank ? n : n + 1;
}

/** The run's exported folder, else its saved student. */
export function runModelDir(ctx: CommandContext): string {
  const paths = runPaths(configOf(ctx));
  return fs.existsSync(paths.exportDir) ? paths.exportDir : paths.studentDir;
}
