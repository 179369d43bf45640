/**
 * Rows to predict from a TSV or JSONL file or stdin, streamed line by line. A TSV either has a header
 * naming its columns (text / sentence / sentence1 / question…, an optional pair and id column) or
 * holds one text, or a text pair, per line.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { UserError } from '../util/errors.ts';
import type { PredictInput } from './predict.ts';

export type InputFormat = 'tsv' | 'jsonl';

export interface ColumnChoice {
  text?: string;
  pair?: string;
  id?: string;
}

/** Column names tried in order when the user names none (GLUE's and common ones). */
const TEXT_NAMES = ['text', 'text_a', 'sentence1', 'question1', '#1 string', 'question', 'sentence', 'premise'];
const PAIR_NAMES = ['text_b', 'text_pair', 'sentence2', 'question2', '#2 string', 'hypothesis'];
const ID_NAMES = ['id', 'index', 'idx', 'guid'];

/** "file.jsonl" → jsonl, anything else → tsv; `-` (stdin) is decided by the first line. */
export function formatOfPath(file: string): InputFormat | undefined {
  if (file === '-') return undefined;
  return /\.(jsonl|ndjson|json)$/i.test(file) ? 'jsonl' : 'tsv';
}

async function* lines(source: string, stdin: NodeJS.ReadableStream): AsyncGenerator<{ text: string; line: number }> {
  const input = source === '-' ? stdin : fs.createReadStream(source, { encoding: 'utf8' });
  if (source !== '-') {
    await new Promise<void>((resolve, reject) => {
      (input as fs.ReadStream).once('open', () => resolve()).once('error', (e) => reject(new UserError(`input file ${source}: ${(e as Error).message}`)));
    });
  }
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const raw of rl) {
      n++;
      yield { text: n === 1 ? raw.replace(/^\uFEFF/, '') : raw, line: n };
    }
  } finally {
    rl.close();
    if (source !== '-') (input as fs.ReadStream).destroy();
  }
}

function pick(names: string[], wanted: string | undefined, candidates: string[], what: string, where: string, exclude?: number): number | undefined {
  const lower = names.map((n) => n.trim().toLowerCase());
  if (wanted !== undefined) {
    const i = lower.indexOf(wanted.toLowerCase());
    if (i < 0) throw new UserError(`${where}: no ${what} column "${wanted}"; columns are: ${names.map((n) => JSON.stringify(n)).join(', ')}`);
    return i;
  }
  for (const c of candidates) {
    const i = lower.indexOf(c);
    if (i >= 0 && i !== exclude) return i;
  }
  return undefined;
}

/**
 * Streams PredictInputs. `where` names the input in errors ("stdin" or the path); rows without an id
 * column get their 0-based row number.
 */
export async function* readPredictInputs(
  source: string,
  opts: { format?: InputFormat; columns?: ColumnChoice; stdin?: NodeJS.ReadableStream; onFormat?: (f: InputFormat) => void; onHeader?: () => void } = {},
): AsyncGenerator<PredictInput> {
  const where = source === '-' ? 'stdin' : source;
  const cols = opts.columns ?? {};
  let format = opts.format ?? formatOfPath(source);
  if (format) opts.onFormat?.(format);
  let tsv: { text: number; pair?: number; id?: number; fields: number } | 'plain' | undefined;
  let row = 0;
  for await (const { text, line } of lines(source, opts.stdin ?? process.stdin)) {
    if (text.trim() === '') continue;
    if (format === undefined) {
      format = text.trimStart().startsWith('{') ? 'jsonl' : 'tsv';
      opts.onFormat?.(format);
    }
    if (format === 'jsonl') {
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (e) {
        throw new UserError(`${where}:${line}: invalid JSON (${(e as Error).message}); expected one JSON object per line`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new UserError(`${where}:${line}: expected a JSON object per line`);
      const rec = obj as Record<string, unknown>;
      const keys = Object.keys(rec);
      const ti = pick(keys, cols.text, TEXT_NAMES, 'text', `${where}:${line}`);
      if (ti === undefined) throw new UserError(`${where}:${line}: no text key; expected one of ${TEXT_NAMES.join(', ')} (or name it with --text-column)`);
      const pi = pick(keys, cols.pair, PAIR_NAMES, 'pair', `${where}:${line}`, ti);
      const ii = pick(keys, cols.id, ID_NAMES, 'id', `${where}:${line}`);
      const str = (k: string, what: string) => {
        const v = rec[k];
        if (typeof v !== 'string') throw new UserError(`${where}:${line}: ${what} "${k}" must be a string, got ${JSON.stringify(v)}`);
        return v;
      };
      yield {
        id: ii === undefined ? String(row) : String(rec[keys[ii]]),
        textA: str(keys[ti], 'text'),
        ...(pi !== undefined && { textB: str(keys[pi], 'text pair') }),
      };
      row++;
      continue;
    }
    const fields = text.split('\t');
    if (tsv === undefined) {
      const named = cols.text !== undefined || pick(fields, undefined, TEXT_NAMES, 'text', where) !== undefined;
      if (named) {
        const t = pick(fields, cols.text, TEXT_NAMES, 'text', `${where}:${line}`)!;
        tsv = { text: t, pair: pick(fields, cols.pair, PAIR_NAMES, 'pair', `${where}:${line}`, t), id: pick(fields, cols.id, ID_NAMES, 'id', `${where}:${line}`), fields: fields.length };
        opts.onHeader?.();
        continue;
      }
      if (cols.pair !== undefined || cols.id !== undefined) throw new UserError(`${where}:${line}: --pair-column / --id-column need a header line naming the columns`);
      tsv = 'plain';
    }
    if (tsv === 'plain') {
      if (fields.length > 2) {
        throw new UserError(
          `${where}:${line}: ${fields.length} tab-separated fields; without a header a line holds one text or a text pair. ` +
            'Add a header naming the columns (e.g. "id<TAB>text<TAB>text_pair")',
        );
      }
      yield { id: String(row++), textA: fields[0], ...(fields.length === 2 && { textB: fields[1] }) };
      continue;
    }
    if (fields.length !== tsv.fields) throw new UserError(`${where}:${line}: ${fields.length} tab-separated fields, expected ${tsv.fields} (the header's column count)`);
    yield {
      id: tsv.id === undefined ? String(row) : fields[tsv.id].trim(),
      textA: fields[tsv.text],
      ...(tsv.pair !== undefined && { textB: fields[tsv.pair] }),
    };
    row++;
  }
}
