/**
 * GLUE leaderboard submission files: one `<Task>.tsv` per test split, `index<TAB>prediction`, the index
 * taken from the test file's own id column and the prediction written as the leaderboard's label string
 * (STS-B: a score clipped to [0, 5]). AX, the diagnostic set, is predicted with the MNLI model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Example, SplitSpec, TaskSpec } from '../data/types.ts';
import type { GlueTaskName } from '../data/tasks.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { argmax, resolveMaxLength, taskLabelOrder, type Classifier } from './classifier.ts';

export interface SubmissionFile {
  /** Leaderboard file name. */
  file: string;
  task: GlueTaskName;
  /** The task's split, or "diagnostic" for AX. */
  split: string;
  /** The label strings the leaderboard accepts; null: a score in [0, 5]. */
  labels: readonly string[] | null;
}

const MNLI_LABELS = ['entailment', 'neutral', 'contradiction'];
const NLI2 = ['entailment', 'not_entailment'];
const BINARY = ['0', '1'];

/** All eleven files of a complete submission, in the leaderboard's order. */
export const GLUE_SUBMISSION_FILES: readonly SubmissionFile[] = [
  { file: 'CoLA.tsv', task: 'cola', split: 'test', labels: BINARY },
  { file: 'SST-2.tsv', task: 'sst2', split: 'test', labels: BINARY },
  { file: 'MRPC.tsv', task: 'mrpc', split: 'test', labels: BINARY },
  { file: 'STS-B.tsv', task: 'stsb', split: 'test', labels: null },
  { file: 'QQP.tsv', task: 'qqp', split: 'test', labels: BINARY },
  { file: 'MNLI-m.tsv', task: 'mnli', split: 'test_matched', labels: MNLI_LABELS },
  { file: 'MNLI-mm.tsv', task: 'mnli', split: 'test_mismatched', labels: MNLI_LABELS },
  { file: 'QNLI.tsv', task: 'qnli', split: 'test', labels: NLI2 },
  { file: 'RTE.tsv', task: 'rte', split: 'test', labels: NLI2 },
  { file: 'WNLI.tsv', task: 'wnli', split: 'test', labels: BINARY },
  { file: 'AX.tsv', task: 'mnli', split: 'diagnostic', labels: MNLI_LABELS },
];

/** The official diagnostic file's layout (glue_data/diagnostic/diagnostic.tsv). */
export const DIAGNOSTIC_SPLIT: SplitSpec = { file: 'diagnostic.tsv', header: true, textA: 'sentence1', textB: 'sentence2', id: 'index' };

/** Where AX's diagnostic.tsv is looked for, given the MNLI folder of a GLUE download. */
export function diagnosticCandidates(mnliDir: string): string[] {
  return [path.join(mnliDir, '..', 'diagnostic', 'diagnostic.tsv'), path.join(mnliDir, 'diagnostic.tsv')];
}

export const HEADER = 'index\tprediction';

/**
 * Class id of the model → position in task.labels: its config.json id2label matched to the task's
 * labels (or readable labelNames) by name, as `distill eval` and the teacher cache match them; by id when
 * the model names its classes only by number. Names that disagree are refused unless `labelMap` relates them.
 */
export function classToTaskLabel(model: Pick<Classifier, 'numOutputs' | 'dir' | 'regression' | 'id2label'>, task: TaskSpec, labelMap?: string | Record<string, string>): number[] {
  const labels = task.labels!;
  if (model.numOutputs !== labels.length) {
    throw new UserError(`${model.dir}: the model has ${model.numOutputs} outputs, task ${task.name} has ${labels.length} labels (${labels.join(', ')})`);
  }
  const { order } = taskLabelOrder(model, task, labelMap);
  const toTask = new Array<number>(order.length);
  order.forEach((column, label) => (toTask[column] = label));
  return toTask;
}

/** The submission lines (header first) for predictions of `examples`. */
export function submissionLines(entry: SubmissionFile, task: TaskSpec, examples: readonly Example[], predictions: readonly number[]): string[] {
  const lines = [HEADER];
  examples.forEach((e, i) => {
    if (e.id === undefined) throw new UserError(`${e.source.file}:${e.source.line}: no id column; the leaderboard needs each row's index`);
    const p = predictions[i];
    const value = entry.labels === null ? Math.min(5, Math.max(0, p)).toFixed(3) : task.labels![p];
    lines.push(`${e.id}\t${value}`);
  });
  return lines;
}

/**
 * Data rows of a GLUE test file counted from its bytes, not through the reader: the non-blank lines, less
 * the header line. GLUE's TSVs hold one row per line (quotes are literal), so this is the leaderboard's count.
 */
export function countTestFileRows(file: string, header: boolean): number {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return Math.max(0, lines.length - (header ? 1 : 0));
}

/**
 * Re-reads a written file and checks it against the leaderboard format: the header, one row per test
 * row with the test file's ids in order, and every prediction in the label vocabulary (or a score in [0, 5]).
 * `testFile`: the rows are also counted against the test file itself (a row the reader lost is caught).
 */
export function checkSubmissionFile(file: string, entry: SubmissionFile, ids: readonly string[], testFile?: { file: string; header: boolean }): void {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== HEADER) throw new Error(`${file}: header is ${JSON.stringify(lines[0])}, expected ${JSON.stringify(HEADER)}`);
  if (lines.length - 1 !== ids.length) throw new Error(`${file}: ${lines.length - 1} rows, the test file has ${ids.length}`);
  if (testFile) {
    const rows = countTestFileRows(testFile.file, testFile.header);
    if (rows !== lines.length - 1) throw new Error(`${file}: ${lines.length - 1} rows, but ${testFile.file} has ${rows} data lines`);
  }
  for (let i = 1; i < lines.length; i++) {
    const [id, value, extra] = lines[i].split('\t');
    if (extra !== undefined || id !== ids[i - 1]) throw new Error(`${file}:${i + 1}: expected index ${ids[i - 1]} and one prediction, got ${JSON.stringify(lines[i])}`);
    const ok = entry.labels === null ? /^\d+(\.\d+)?$/.test(value) && Number(value) >= 0 && Number(value) <= 5 : entry.labels.includes(value);
    if (!ok) throw new Error(`${file}:${i + 1}: prediction ${JSON.stringify(value)} is not one of ${entry.labels?.join(', ') ?? 'the scores 0–5'}`);
  }
}

/** Predicts `examples` with `model` and writes one leaderboard file (checked after writing); returns its row count. */
export async function writeSubmissionFile(
  outDir: string,
  entry: SubmissionFile,
  task: TaskSpec,
  model: Classifier,
  examples: readonly Example[],
  o: { maxLength?: number; batchSize?: number; testFile?: { file: string; header: boolean }; labelMap?: string | Record<string, string> } = {},
): Promise<number> {
  if ((task.labels === null) !== (entry.labels === null) || (task.labels && [...task.labels].sort().join() !== [...entry.labels!].sort().join())) {
    throw new UserError(`task ${task.name}: labels [${task.labels?.join(', ') ?? 'regression'}] are not the leaderboard's for ${entry.file} [${entry.labels?.join(', ') ?? 'a 0–5 score'}]`);
  }
  if (task.labels === null && !model.regression) throw new UserError(`${model.dir}: ${entry.file} needs a regression model (num_labels 1), this one has ${model.numOutputs} classes`);
  const maxLength = resolveMaxLength(model, o.maxLength);
  const encoded = examples.map((e) => model.tokenizer.encode(e.textA, e.textB, maxLength));
  const logits = await model.logits(encoded, o.batchSize ?? 64);
  const n = model.numOutputs;
  const toTask = task.labels ? classToTaskLabel(model, task, o.labelMap) : [];
  const predictions = examples.map((_, i) => (task.labels ? toTask[argmax(logits.subarray(i * n, (i + 1) * n))] : logits[i * n]));
  const lines = submissionLines(entry, task, examples, predictions);
  const file = path.join(outDir, entry.file);
  fs.mkdirSync(outDir, { recursive: true });
  writeFileAtomic(file, lines.join('\n') + '\n');
  checkSubmissionFile(file, entry, examples.map((e) => e.id!), o.testFile);
  return examples.length;
}
