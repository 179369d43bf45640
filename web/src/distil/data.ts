/**
 * Training data in the page: the demo task (data/demo/task, bundled as text like the playground's demo
 * sentences) or a dropped TSV / CSV / JSONL file, read by the CLI's row code (src/data/rows.ts).
 */
import trainTsv from '../../../data/demo/task/train.tsv?raw';
import devTsv from '../../../data/demo/task/dev.tsv?raw';
import { examplesFromLines, textLines } from '../../../src/data/rows.ts';
import type { Example, SplitSpec, TaskSpec } from '../../../src/data/types.ts';
import { Rng } from '../../../src/util/rng.ts';
import { UserError } from '../../../src/util/errors.ts';

export interface PageData {
  /** e.g. "demo task (data/demo/task)" or "reviews.csv". */
  name: string;
  task: TaskSpec;
  train: Example[];
  dev: Example[];
}

const TEXT_COLUMNS = ['sentence', 'text', 'sentence1', 'question', 'premise', 'text_a'];
const PAIR_COLUMNS = ['sentence2', 'text_b', 'hypothesis', 'question2'];

function taskSpec(name: string, format: TaskSpec['format'], labels: string[], spec: SplitSpec): TaskSpec {
  return {
    name, displayName: name, format, labels, labelNames: labels, metrics: ['accuracy'], devSplit: 'dev',
    splits: { train: spec, dev: spec },
  } as TaskSpec;
}

/** The shipped demo task (SST-2-like sentences, labels "0" / "1"). */
export function demoData(labels: string[]): PageData {
  const spec: SplitSpec = { file: 'train.tsv', header: true, textA: 'sentence', label: 'label' };
  const task = taskSpec('demo', 'tsv', labels, spec);
  return {
    name: 'demo task (data/demo/task)',
    task,
    train: [...examplesFromLines(task, spec, textLines(trainTsv), 'data/demo/task/train.tsv')],
    dev: [...examplesFromLines(task, { ...spec, file: 'dev.tsv' }, textLines(devTsv), 'data/demo/task/dev.tsv')],
  };
}

/** The columns of a dropped file: its header (TSV/CSV) or its first object's keys (JSONL). */
function columnsOf(format: TaskSpec['format'], text: string, file: string): string[] {
  const first = [...textLines(text.slice(0, 1 << 16))].find((l) => l.text.trim() !== '');
  if (!first) throw new UserError(`${file}: file is empty; expected a header row and data rows`);
  if (format === 'jsonl') {
    try {
      return Object.keys(JSON.parse(first.text) as object);
    } catch {
      throw new UserError(`${file}:${first.line}: invalid JSON; expected one JSON object per line`);
    }
  }
  return first.text.split(format === 'tsv' ? '\t' : ',').map((c) => c.trim().replace(/^"|"$/g, ''));
}

/**
 * A dropped file: its format from the extension; columns by name (a header row for TSV/CSV): the text
 * in "sentence" or "text" (a pair's second text in "sentence2" / "text_b"), the gold label in "label",
 * given as one of the teacher's label names. Without a second file named like "dev", the last 10% of a
 * seeded shuffle is the dev set.
 */
export async function droppedData(files: File[], labels: string[]): Promise<PageData> {
  const read = async (f: File) => {
    const ext = f.name.toLowerCase().split('.').pop() ?? '';
    const format = ({ tsv: 'tsv', csv: 'csv', jsonl: 'jsonl' } as Record<string, TaskSpec['format'] | undefined>)[ext];
    if (!format) throw new UserError(`${f.name}: expected a .tsv, .csv or .jsonl file`);
    const text = await f.text();
    const columns = columnsOf(format, text, f.name);
    const textA = TEXT_COLUMNS.find((c) => columns.includes(c));
    if (!textA) throw new UserError(`${f.name}: no text column; expected one named ${TEXT_COLUMNS.join(', ')} (columns: ${columns.join(', ')})`);
    if (!columns.includes('label')) throw new UserError(`${f.name}: no "label" column (columns: ${columns.join(', ')})`);
    const textB = PAIR_COLUMNS.find((c) => columns.includes(c));
    const spec: SplitSpec = { file: f.name, header: format !== 'jsonl', textA, label: 'label', ...(textB && { textB }) };
    const task = taskSpec(f.name, format, labels, spec);
    return { task, examples: [...examplesFromLines(task, spec, textLines(text), f.name)] };
  };
  if (files.length === 0 || files.length > 2) throw new UserError('drop one data file (train) or two (train and dev)');
  const devFile = files.length === 2 ? files.find((f) => /dev|valid|val\b/i.test(f.name)) ?? files[1] : undefined;
  const trainFile = files.find((f) => f !== devFile)!;
  const train = await read(trainFile);
  if (devFile) return { name: `${trainFile.name} + ${devFile.name}`, task: train.task, train: train.examples, dev: (await read(devFile)).examples };
  const order = train.examples.map((_, i) => i);
  new Rng(1234).shuffle(order);
  const nDev = Math.max(1, Math.round(train.examples.length * 0.1));
  if (train.examples.length < 10) throw new UserError(`${trainFile.name}: ${train.examples.length} examples; give at least 10`);
  const devSet = new Set(order.slice(0, nDev));
  return {
    name: `${trainFile.name} (last 10% held out as dev)`,
    task: train.task,
    train: train.examples.filter((_, i) => !devSet.has(i)),
    dev: train.examples.filter((_, i) => devSet.has(i)),
  };
}
