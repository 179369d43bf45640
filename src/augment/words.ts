/**
 * Word-level view of a sentence, as BERT's BasicTokenizer sees it (clean, optional lower-case and
 * accent stripping, split on whitespace, punctuation and CJK characters). Augmentation replaces
 * whole words of this sequence, and a variant is these words joined by single spaces, which the
 * WordPiece tokenizer splits back into exactly the same words.
 */
import { isStopWord } from './stopwords.ts';

const ALPHABETIC = /^\p{L}+$/u;
const COMBINING_MARK = /\p{Mn}/gu;
const WHITESPACE = /^\s$/u;
const CONTROL = /^[\p{Cc}\p{Cf}]$/u;

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  // BERT counts every non-alphanumeric ASCII character as punctuation, plus Unicode P* classes.
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /^\p{P}$/u.test(ch);
}

function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** Splits text into words the way BERT's BasicTokenizer does. */
export function basicTokenize(text: string, lowerCase = true): string[] {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd) continue;
    if (WHITESPACE.test(ch)) cleaned += ' ';
    else if (CONTROL.test(ch)) continue;
    else if (isCjk(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  const words: string[] = [];
  for (let token of cleaned.split(' ')) {
    if (token.length === 0) continue;
    if (lowerCase) token = token.toLowerCase().normalize('NFD').replace(COMBINING_MARK, '');
    let current = '';
    for (const ch of token) {
      if (isPunctuation(ch)) {
        if (current) words.push(current);
        words.push(ch);
        current = '';
      } else current += ch;
    }
    if (current) words.push(current);
  }
  return words;
}

/** A word augmentation may replace: alphabetic only, and not a stop-word. */
export function isEligibleWord(word: string): boolean {
  return ALPHABETIC.test(word) && !isStopWord(word);
}

/**
 * A vocabulary piece that may stand in for a word: a whole word (no "##" continuation), alphabetic
 * (which also rules out [CLS], [unused0], punctuation and numbers), of two letters or more (BERT's
 * single-letter pieces "d", "m", "x" are fragments, not replacements).
 */
export function isCandidatePiece(piece: string): boolean {
  return piece.length >= 2 && !piece.startsWith('##') && ALPHABETIC.test(piece);
}
