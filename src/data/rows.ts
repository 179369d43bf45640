/**
 * Task files' rows into Examples, from lines however they were read: no file I/O here (reader.ts reads
 * files in Node; the web page splits a dropped file's text with textLines). GLUE TSV files are split on
 * tab only: no CSV quoting, so stray '"' characters (MRPC, CoLA) stay literal. CSV (RFC 4180) and JSONL
 * serve users' tasks.
 */
import { UserError } from '../util/errors.ts';
import { parseCsvRecords } from './csv.ts';
import type { Line } from './lines.ts';
import type { ColumnRef, Example, SplitSpec, TaskSpec } from './types.ts';

/** A whole text's lines as the file reader gives them: no BOM, no trailing "\r", 1-based numbers. */
export function* textLines(text: string): Generator<Line> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const parts = body.split('\n');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  let byteOffset = 0;
  const encoder = new TextEncoder();
  for (let i = 0; i < parts.length; i++) {
    const raw = parts[i];
    yield { text: raw.endsWith('\r') ? raw.slice(0, -1) : raw, line: i + 1, byteOffset };
    byteOffset += encoder.encode(raw).length + 1;
  }
}

/** One raw row: fields by position (TSV/CSV) or by key (JSONL). */
interface RawRow {
  fields: string[] | Record<string, unknown>;
  line: number;
}

/**
 * The Examples of one file's lines (read from disk by reader.ts, or from a dropped file in the web page);
 * `file` names the source in errors.
 */
export function* examplesFromLines(task: TaskSpec, spec: SplitSpec, lines: Iterable<Line>, file: string): Generator<Example> {
  const rows = task.format === 'jsonl' ? jsonlRows(lines, file) : delimitedRows(task.format, lines, file);
  let header: string[] | undefined;
  let resolve: ((ref: ColumnRef) => number | string) | undefined;
  let expectedColumns = 0;
  let sawAnyLine = false;
  let index = 0;
  let blankLine = 0; // a blank line is fine only at the end of the file
  for (const row of rows) {
    sawAnyLine = true;
    if (isBlank(row)) {
      blankLine ||= row.line;
      continue;
    }
    if (blankLine) throw new UserError(`${file}:${blankLine}: empty line inside the data; expected a row`);
    if (Array.isArray(row.fields) && spec.header && !header) {
      header = row.fields;
      resolve = headerResolver(header, file, row.line);
      expectedColumns = header.length;
      continue;
    }
    if (Array.isArray(row.fields)) {
      resolve ??= (ref) => ref as number;
      expectedColumns ||= Math.max(spec.minColumns ?? 0, maxIndex(spec) + 1);
      const ok = header ? row.fields.length === expectedColumns : row.fields.length >= expectedColumns;
      if (!ok) {
        throw new UserError(
          `${file}:${row.line}: malformed row: ${row.fields.length} ${task.format === 'tsv' ? 'tab-separated ' : ''}` +
            `fields, expected ${header ? '' : 'at least '}${expectedColumns}` +
            (header ? ` (the header's column count)` : ''),
        );
      }
    }
    yield toExample(task, spec, row, file, index++, resolve ?? ((ref) => ref));
  }
  if (!sawAnyLine || (index === 0 && !header)) throw new UserError(`${file}: file is empty; expected data rows`);
  if (index === 0) throw new UserError(`${file}: has a header but no data rows`);
}

function delimitedRows(format: 'tsv' | 'csv', lines: Iterable<Line>, file: string): Iterable<RawRow> {
  if (format === 'csv') return parseCsvRecords(lines, file);
  return mapLines(lines, (l) => ({ fields: l.text.split('\t'), line: l.line }));
}

function* mapLines(lines: Iterable<Line>, f: (l: Line) => RawRow): Generator<RawRow> {
  for (const l of lines) yield f(l);
}

function* jsonlRows(lines: Iterable<Line>, file: string): Generator<RawRow> {
  for (const { text, line } of lines) {
    if (text.trim() === '') continue; // JSONL tolerates blank lines anywhere
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${file}:${line}: invalid JSON (${(e as Error).message}); expected one JSON object per line`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UserError(`${file}:${line}: expected a JSON object per line, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    }
    yield { fields: value as Record<string, unknown>, line };
  }
}

function isBlank(row: RawRow): boolean {
  return Array.isArray(row.fields) && row.fields.length === 1 && row.fields[0].trim() === '';
}

function maxIndex(spec: SplitSpec): number {
  const refs = [spec.textA, spec.textB, spec.label, spec.id].filter((r): r is number => typeof r === 'number');
  return refs.length ? Math.max(...refs) : 0;
}

function headerResolver(header: string[], file: string, line: number): (ref: ColumnRef) => number {
  const names = header.map((h) => h.trim());
  return (ref) => {
    if (typeof ref === 'number') return ref;
    const i = names.indexOf(ref);
    if (i < 0) {
      throw new UserError(`${file}:${line}: header has no column "${ref}"; columns are: ${names.map((n) => JSON.stringify(n)).join(', ')}`);
    }
    return i;
  };
}

function toExample(
  task: TaskSpec,
  spec: SplitSpec,
  row: RawRow,
  file: string,
  index: number,
  resolve: (ref: ColumnRef) => number | string,
): Example {
  const get = (ref: ColumnRef, what: string): unknown => {
    const key = resolve(ref);
    const value = Array.isArray(row.fields) ? row.fields[key as number] : row.fields[key as string];
    if (value === undefined) throw new UserError(`${file}:${row.line}: missing ${what} column ${JSON.stringify(ref)}`);
    return value;
  };
  const text = (ref: ColumnRef, what: string): string => {
    const v = get(ref, what);
    if (typeof v !== 'string') throw new UserError(`${file}:${row.line}: ${what} ${JSON.stringify(ref)} must be a string, got ${typeof v}`);
    return v;
  };
  const example: Example = { index, textA: text(spec.textA, 'text'), source: { file, line: row.line } };
  if (spec.textB !== undefined) example.textB = text(spec.textB, 'text');
  if (spec.label !== undefined) example.label = parseLabel(task, get(spec.label, 'label'), file, row.line);
  if (spec.id !== undefined) {
    const id = get(spec.id, 'id');
    if (typeof id !== 'string' && typeof id !== 'number') throw new UserError(`${file}:${row.line}: id ${JSON.stringify(spec.id)} must be a string or number, got ${typeof id}`);
    example.id = String(id).trim();
  }
  return example;
}

function parseLabel(task: TaskSpec, raw: unknown, file: string, line: number): number {
  if (task.labels === null) {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value)) {
      throw new UserError(`${file}:${line}: label ${JSON.stringify(raw)} is not a number; expected a regression score`);
    }
    return value;
  }
  const name = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
  const id = name === undefined ? -1 : task.labels.indexOf(name);
  if (id < 0) {
    throw new UserError(
      `${file}:${line}: unknown label ${JSON.stringify(raw)}; expected one of: ${task.labels.join(', ')} (task ${task.name})`,
    );
  }
  return id;
}
