/**
 * Writes augmented rows in the task's own file layout: each output row is a copy of the source row
 * with only its text column(s) replaced, so ids, labels and any other columns stay as they were and
 * src/data/reader.ts reads the result as the same task.
 */
import { readLines } from '../data/lines.ts';
import type { ColumnRef, SplitSpec, TaskSpec } from '../data/types.ts';
import { UserError } from '../util/errors.ts';

export interface RawSplit {
  /** The header line (TSV with header), written first. */
  header?: string;
  /** Source text of each line by 1-based line number (Example.source.line). */
  lines: Map<number, string>;
  /** Column of textA / textB: a field index (TSV) or an object key (JSONL). */
  columnA: number | string;
  columnB?: number | string;
}

export function readRawSplit(task: TaskSpec, spec: SplitSpec, file: string): RawSplit {
  if (task.format === 'csv') {
    throw new UserError(`task ${task.name}: augmentation writes TSV or JSONL tasks; ${file} is CSV (convert it to TSV)`);
  }
  const lines = new Map<number, string>();
  let header: string | undefined;
  for (const l of readLines(file)) {
    if (task.format === 'tsv' && spec.header && header === undefined) {
      if (l.text.trim() === '') continue;
      header = l.text;
      continue;
    }
    lines.set(l.line, l.text);
  }
  const fields = header?.split('\t').map((h) => h.trim());
  const resolve = (ref: ColumnRef): number | string => {
    if (task.format === 'jsonl' || typeof ref === 'number') return ref;
    const i = fields?.indexOf(ref) ?? -1;
    if (i < 0) throw new UserError(`${file}: header has no column "${ref}"`);
    return i;
  };
  return { header, lines, columnA: resolve(spec.textA), columnB: spec.textB === undefined ? undefined : resolve(spec.textB) };
}

/** The source line with the given columns replaced. Texts must not hold tabs or line breaks. */
export function replaceColumns(format: TaskSpec['format'], line: string, replacements: [number | string, string][]): string {
  for (const [, text] of replacements) {
    if (/[\t\r\n]/.test(text)) throw new Error(`internal: augmented text holds a tab or line break: ${JSON.stringify(text)}`);
  }
  if (format === 'jsonl') {
    const obj = JSON.parse(line) as Record<string, unknown>;
    for (const [key, text] of replacements) obj[key] = text;
    return JSON.stringify(obj);
  }
  const fields = line.split('\t');
  for (const [index, text] of replacements) fields[index as number] = text;
  return fields.join('\t');
}
