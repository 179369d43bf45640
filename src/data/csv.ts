/**
 * RFC 4180 CSV records over a line stream: comma-separated, fields may be wrapped in double quotes,
 * "" inside a quoted field is a literal quote, and a quoted field may span lines.
 */
import { UserError } from '../util/errors.ts';
import type { Line } from './lines.ts';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

export function* parseCsvRecords(lines: Iterable<Line>, file: string): Generator<CsvRecord> {
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let afterQuote = false; // just closed a quoted field: only "," or the line end may follow
  let atFieldStart = true;
  let startLine = 0;
  let quoteLine = 0;
  for (const { text, line } of lines) {
    if (inQuotes) {
      field += '\n';
    } else {
      fields = [];
      field = '';
      afterQuote = false;
      atFieldStart = true;
      startLine = line;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inQuotes) {
        if (c !== '"') field += c;
        else if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
          afterQuote = true;
        }
      } else if (c === ',') {
        fields.push(field);
        field = '';
        afterQuote = false;
        atFieldStart = true;
      } else if (afterQuote) {
        throw new UserError(
          `${file}:${line}: unexpected character ${JSON.stringify(c)} after a closing quote at column ${i + 1}; ` +
            'expected "," or the end of the line (write a literal quote inside a quoted field as "")',
        );
      } else if (c === '"') {
        if (!atFieldStart) {
          throw new UserError(
            `${file}:${line}: quote character at column ${i + 1} inside an unquoted field; ` +
              'expected the whole field in quotes with inner quotes doubled ("")',
          );
        }
        inQuotes = true;
        quoteLine = line;
        atFieldStart = false;
      } else {
        field += c;
        atFieldStart = false;
      }
    }
    if (!inQuotes) {
      fields.push(field);
      yield { fields, line: startLine };
    }
  }
  if (inQuotes) {
    throw new UserError(`${file}:${quoteLine}: quoted field opened here is never closed; expected a closing '"'`);
  }
}
