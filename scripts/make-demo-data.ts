/**
 * Deterministic generator of the demo sentiment task (SST-2 TSV layout) and its small vocabulary:
 *   npx tsx scripts/make-demo-data.ts [outDir]      (default data/demo)
 * writes data/demo/task/{train,dev,test}.tsv, data/demo/vocab.txt and, through the project's
 * tokenizer, data/demo/tokenizer.json + tokenizer_config.json.
 *
 * The label needs structure a bag of words cannot see: negation flips a clause ("not good"),
 * after "but" / beside "although" only one clause counts, intensifiers and diminishers scale a
 * clause, and "A and B" is decided by which clause is stronger. Filler phrases carry no signal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BertTokenizer, saveTokenizer } from '../src/data/tokenizer.ts';
import { buildBertTokenizerJson, buildTokenizerConfig } from '../src/data/tokenizer-json.ts';
import { writeFileAtomic } from '../src/util/atomic.ts';
import { Rng } from '../src/util/rng.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, 'data/demo'));
const SEED = 20240611;
const SIZES = { train: 4000, dev: 500, test: 500 };

// [word, strength]: strength 2 words are strong ("superb"), 1 plain ("good").
const POS_ADJ: [string, number][] = [
  ['good', 1], ['nice', 1], ['fine', 1], ['pleasant', 1], ['enjoyable', 1], ['charming', 1], ['solid', 1], ['clever', 1],
  ['funny', 1], ['engaging', 1], ['touching', 1], ['likable', 1], ['fresh', 1], ['warm', 1], ['entertaining', 1], ['smart', 1],
  ['memorable', 1], ['sharp', 1], ['moving', 1], ['brilliant', 2], ['wonderful', 2], ['superb', 2], ['outstanding', 2],
  ['excellent', 2], ['masterful', 2], ['gorgeous', 2], ['delightful', 2], ['stunning', 2], ['beautiful', 2], ['gripping', 2],
];
const NEG_ADJ: [string, number][] = [
  ['bad', 1], ['dull', 1], ['boring', 1], ['weak', 1], ['flat', 1], ['bland', 1], ['tedious', 1], ['clumsy', 1],
  ['forgettable', 1], ['predictable', 1], ['silly', 1], ['messy', 1], ['slow', 1], ['lazy', 1], ['stale', 1], ['pointless', 1],
  ['shallow', 1], ['annoying', 1], ['confusing', 1], ['cheap', 1], ['awful', 2], ['terrible', 2], ['dreadful', 2],
  ['horrible', 2], ['unbearable', 2], ['painful', 2], ['disastrous', 2], ['atrocious', 2], ['lifeless', 2], ['hideous', 2],
];
const POS_NOUN: [string, number][] = [['a masterpiece', 2], ['a triumph', 2], ['a gem', 2], ['a delight', 2], ['a joy', 1], ['a treat', 1], ['a pleasure', 1], ['a success', 1]];
const NEG_NOUN: [string, number][] = [['a mess', 2], ['a disaster', 2], ['a bore', 1], ['a failure', 2], ['a chore', 1], ['a letdown', 1], ['a mistake', 1], ['a waste of time', 2]];
// [past tense, base form, strength]
const POS_VERB: [string, string, number][] = [
  ['loved', 'love', 2], ['enjoyed', 'enjoy', 1], ['liked', 'like', 1], ['admired', 'admire', 1], ['adored', 'adore', 2], ['savored', 'savor', 1],
];
const NEG_VERB: [string, string, number][] = [
  ['hated', 'hate', 2], ['disliked', 'dislike', 1], ['resented', 'resent', 1], ['despised', 'despise', 2], ['regretted', 'regret', 1], ['endured', 'endure', 1],
];
const INTENSIFIERS = ['very', 'really', 'extremely', 'incredibly', 'truly', 'remarkably', 'deeply', 'thoroughly'];
const DIMINISHERS = ['slightly', 'somewhat', 'a bit', 'a little', 'mildly', 'fairly'];
const SUBJECTS: [string, boolean][] = [
  ['the film', false], ['the movie', false], ['this picture', false], ['the story', false], ['the plot', false],
  ['the script', false], ['the acting', false], ['the cast', false], ['the lead actor', false], ['the director', false],
  ['the soundtrack', false], ['the score', false], ['the ending', false], ['the dialogue', false], ['the pacing', false],
  ['the camera work', false], ['the sequel', false], ['the humor', false], ['the premise', false], ['the final act', false],
  ['the characters', true], ['the performances', true], ['the costumes', true], ['the visual effects', true], ['the jokes', true],
];
const COPULA = { present: ['is', 'feels', 'seems', 'looks'], past: ['was', 'felt', 'seemed', 'looked'] };
const OPENERS = [
  'honestly ,', 'in the end ,', 'to be fair ,', 'overall ,', 'at first ,', 'for the most part ,', 'on paper ,', 'as expected ,',
  'from the start ,', 'in my view ,', 'frankly ,', 'after all ,', 'on the whole ,', 'to my surprise ,', 'of course ,',
];
const CLOSERS = [
  'from start to finish', 'for most of its running time', 'in my opinion', 'at least for me', 'by the end', 'on the big screen',
  'this time', 'compared to the book', 'for a summer movie', 'in every scene', 'on a second viewing', 'with a big audience',
];
const MIDDLES = ['at times', 'mostly', 'often', 'in places', 'for a while'];

interface Clause {
  words: string;
  score: number;
}

const rng = new Rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
const chance = (p: number) => rng.next() < p;

/** One clause with a signed score: polarity x strength x modifier, flipped by negation. */
function clause(wantPositive: boolean): Clause {
  const negated = chance(0.3);
  const basePositive = negated ? !wantPositive : wantPositive;
  let modWord = '';
  let mod = 1;
  const r = rng.next();
  if (r < 0.2) [modWord, mod] = [pick(INTENSIFIERS), 2];
  else if (r < 0.35) [modWord, mod] = [pick(DIMINISHERS), 0.5];
  const kind = rng.next();
  let words: string;
  let strength: number;
  if (kind < 0.6) {
    const [adj, s] = pick(basePositive ? POS_ADJ : NEG_ADJ);
    const [subject, plural] = pick(SUBJECTS);
    const past = chance(0.5);
    const verb = plural ? (past ? 'were' : 'are') : pick(past ? COPULA.past : COPULA.present);
    const neg = negated ? (pick(['not', 'never', 'not', 'hardly ever']) + ' ') : '';
    const middle = chance(0.15) ? pick(MIDDLES) + ' ' : '';
    words = `${subject} ${middle}${verb} ${neg}${modWord ? modWord + ' ' : ''}${adj}`;
    strength = s;
  } else if (kind < 0.8) {
    const [noun, s] = pick(basePositive ? POS_NOUN : NEG_NOUN);
    const [subject, plural] = pick(SUBJECTS.filter(([, p]) => !p));
    void plural;
    const verb = pick(['is', 'was']);
    words = `${subject} ${verb} ${negated ? 'not ' : ''}${noun}`;
    strength = s;
    mod = 1;
  } else {
    const [verb, base, s] = pick(basePositive ? POS_VERB : NEG_VERB);
    const object = pick(['it', 'this film', 'every minute', 'the whole thing', 'the experience']);
    const adverb = mod === 2 ? pick(['really', 'truly', 'deeply']) + ' ' : mod === 0.5 ? pick(['somewhat', 'mildly']) + ' ' : '';
    words = negated ? `i did not ${adverb}${base} ${object}` : `i ${adverb}${verb} ${object}`;
    strength = s;
  }
  const sign = basePositive ? 1 : -1;
  return { words, score: sign * strength * mod * (negated ? -1 : 1) };
}

/** A whole sentence and its label, or undefined when the draw is ambiguous (rejected). */
function sentence(label: 0 | 1): string | undefined {
  const pos = label === 1;
  const t = rng.next();
  let body: string;
  if (t < 0.3) {
    body = clause(pos).words;
  } else if (t < 0.55) {
    const a = clause(chance(0.75) ? !pos : pos);
    body = `${a.words} , but ${clause(pos).words}`;
  } else if (t < 0.7) {
    const a = clause(chance(0.75) ? !pos : pos);
    const b = clause(pos);
    body = chance(0.6) ? `although ${a.words} , ${b.words}` : `${b.words} , although ${a.words}`;
  } else if (t < 0.9) {
    const a = clause(chance(0.5));
    const b = clause(chance(0.5));
    const sum = a.score + b.score;
    if (Math.abs(sum) < 0.5 || sum > 0 !== pos) return undefined;
    body = `${a.words} and ${b.words}`;
  } else {
    const a = clause(chance(0.5));
    const b = clause(chance(0.5));
    body = `${a.words} , ${b.words} , but ${clause(pos).words}`;
  }
  const opener = chance(0.3) ? pick(OPENERS) + ' ' : '';
  const closer = chance(0.25) ? ' ' + pick(CLOSERS) : '';
  const text = `${opener}${body}${closer} ${chance(0.8) ? '.' : '!'}`;
  const n = text.split(' ').length;
  return n >= 5 && n <= 30 ? text : undefined;
}

function generate(): Record<keyof typeof SIZES, { text: string; label: 0 | 1 }[]> {
  const seen = new Set<string>();
  const out = { train: [], dev: [], test: [] } as Record<keyof typeof SIZES, { text: string; label: 0 | 1 }[]>;
  for (const split of Object.keys(SIZES) as (keyof typeof SIZES)[]) {
    for (let i = 0; out[split].length < SIZES[split]; i++) {
      const label = (i % 2) as 0 | 1;
      let text: string | undefined;
      do text = sentence(label);
      while (text === undefined || seen.has(text));
      seen.add(text);
      out[split].push({ text, label });
    }
    rng.shuffle(out[split]);
  }
  return out;
}

/** Specials, then every word the grammar uses, single letters/digits and a few suffix pieces. */
function vocabulary(rows: { text: string }[]): string[] {
  const words = new Set<string>();
  for (const { text } of rows) for (const w of text.split(' ')) words.add(w);
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const punct = [',', '.', '!', '?', "'", '-', ':', ';', '(', ')', '"'];
  const pieces = ['##s', '##es', '##ed', '##ing', '##ly', '##er', '##est', '##y', '##n', "##'", ...letters.map((c) => '##' + c)];
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...[...words].sort(), ...letters, ...punct, ...pieces];
  return [...new Set(vocab)];
}

function main(): void {
  const data = generate();
  const all = [...data.train, ...data.dev, ...data.test];
  const vocab = vocabulary(all);
  fs.mkdirSync(path.join(OUT, 'task'), { recursive: true });
  const labeled = (rows: { text: string; label: number }[]) => 'sentence\tlabel\n' + rows.map((r) => `${r.text}\t${r.label}\n`).join('');
  writeFileAtomic(path.join(OUT, 'task/train.tsv'), labeled(data.train));
  writeFileAtomic(path.join(OUT, 'task/dev.tsv'), labeled(data.dev));
  writeFileAtomic(path.join(OUT, 'task/test.tsv'), 'index\tsentence\n' + data.test.map((r, i) => `${i}\t${r.text}\n`).join(''));
  writeFileAtomic(path.join(OUT, 'vocab.txt'), vocab.join('\n') + '\n');
  const opts = { modelMaxLength: 128 };
  const tokenizer = new BertTokenizer(buildBertTokenizerJson(vocab, opts), buildTokenizerConfig(opts), 'demo vocabulary');
  saveTokenizer(tokenizer, OUT);
  let maxTokens = 0;
  for (const { text } of all) {
    const ids = tokenizer.encode(text, undefined, 10_000).inputIds;
    if (ids.includes(tokenizer.unkId)) throw new Error(`demo sentence has an unknown token: ${text}`);
    maxTokens = Math.max(maxTokens, ids.length);
  }
  const words = all.map((r) => r.text.split(' ').length);
  console.log(
    `wrote ${data.train.length}/${data.dev.length}/${data.test.length} rows, vocabulary ${vocab.length}, ` +
      `words per sentence ${Math.min(...words)}-${Math.max(...words)}, longest encoding ${maxTokens} tokens`,
  );
}

main();
