/**
 * The unlabeled corpus of general distillation: plain-text files (one sentence or passage per line)
 * or JSONL files (one object per line, the text in one field), streamed line by line through the
 * strict UTF-8 reader, so a corpus of any size never sits in memory. Blank lines and file ends
 * close a document (sentence pairs never cross them, as in BERT's pre-training data).
 */
import { readLines, requireFile } from '../data/lines.ts';
import { UserError } from '../util/errors.ts';

export interface CorpusOptions {
  files: string[];
  /** Read every file as JSONL and take the text from this field (dotted paths reach nested objects). */
  jsonlField?: string;
}

export interface CorpusLine {
  text: string;
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  /** Byte offset of the line in `file`. */
  byteOffset: number;
  /** First line of a document (after a blank line or at a file's start). */
  docStart: boolean;
}

/** Checks the files exist before any work starts. */
export function checkCorpusFiles(opts: CorpusOptions): void {
  if (opts.files.length === 0) throw new UserError('corpus: no input files given (expected one or more text or JSONL files)');
  for (const f of opts.files) requireFile(f, 'corpus file');
  if (opts.jsonlField !== undefined && opts.jsonlField.trim() === '') throw new UserError('corpus: the JSONL field name is empty');
}

/** Reads `field` (dotted path) of a JSONL line's object. */
function jsonlText(raw: string, field: string, file: string, line: number): string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new UserError(`${file}:${line}: not valid JSON (${(e as Error).message}); expected one JSON object per line`);
  }
  for (const key of field.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) {
      throw new UserError(`${file}:${line}: the object has no field "${field}"`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value !== 'string') throw new UserError(`${file}:${line}: field "${field}" is ${value === null ? 'null' : typeof value}, expected a string`);
  return value;
}

/** Non-blank lines of the corpus in file order. Throws a UserError on bad bytes (file, line, offset). */
export function* readCorpus(opts: CorpusOptions): Generator<CorpusLine> {
  checkCorpusFiles(opts);
  for (const file of opts.files) {
    let docStart = true;
    for (const l of readLines(file)) {
      const raw = l.text;
      if (raw.trim() === '') {
        docStart = true;
        continue;
      }
      const text = opts.jsonlField === undefined ? raw : jsonlText(raw, opts.jsonlField, file, l.line);
      if (text.trim() === '') {
        docStart = true;
        continue;
      }
      yield { text, file, line: l.line, byteOffset: l.byteOffset, docStart };
      docStart = false;
    }
  }
}
