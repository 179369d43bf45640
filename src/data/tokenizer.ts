/**
 * Tokenizers from files: a folder (tokenizer.json [+ tokenizer_config.json], vocab.txt, or vocab.json +
 * merges.txt), and saving one. The tokenizer itself (no file I/O, shared with the web playground) is
 * ./bert-tokenizer.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { modelFolderFile } from '../io/confine.ts';
import { UserError } from '../util/errors.ts';
import { checkFileSize, readTextLimited, type LimitKind } from '../util/limits.ts';
import { BertTokenizer, configToken, parseJsonObject, tokenizerFromJson } from './bert-tokenizer.ts';
import { buildBertTokenizerJson, buildTokenizerConfig, type BertTokenizerOptions } from './tokenizer-json.ts';
import { readLines } from './lines.ts';

export { BertTokenizer, templateOf, tokenizerFromJson, type SpecialTemplate, type TemplatePiece } from './bert-tokenizer.ts';
export type { BertTokenizerOptions } from './tokenizer-json.ts';

/** Writes tokenizer.json + tokenizer_config.json (loadable by transformers / transformers.js). */
export function saveTokenizer(tokenizer: Pick<BertTokenizer, 'tokenizerJson' | 'tokenizerConfig'>, folder: string): void {
  fs.mkdirSync(folder, { recursive: true });
  writeJsonAtomic(path.join(folder, 'tokenizer.json'), tokenizer.tokenizerJson);
  writeJsonAtomic(path.join(folder, 'tokenizer_config.json'), tokenizer.tokenizerConfig);
}

/** A JSON object file, no larger than its kind's limit (src/util/limits.ts). */
export function readJsonFile(file: string, what: string, kind: LimitKind = 'modelConfig'): Record<string, unknown> {
  return parseJsonObject(readTextLimited(file, kind), file, what);
}

/** vocab.txt: one token per line, the line number (0-based) is the id. Duplicates and blanks are errors. */
export function readVocabFile(file: string): string[] {
  checkFileSize(file, 'vocabFile');
  const tokens: string[] = [];
  const seen = new Map<string, number>();
  let blank = 0;
  for (const { text, line } of readLines(file)) {
    const token = text.trim();
    if (token === '') {
      blank ||= line;
      continue;
    }
    if (blank) throw new UserError(`${file}:${blank}: empty line in vocabulary; expected one token per line`);
    const prev = seen.get(token);
    if (prev !== undefined) throw new UserError(`${file}:${line}: duplicate token ${JSON.stringify(token)} (first on line ${prev})`);
    seen.set(token, line);
    tokens.push(token);
  }
  if (tokens.length === 0) throw new UserError(`${file}: vocabulary is empty; expected one token per line`);
  return tokens;
}

/**
 * Loads a tokenizer from a folder (tokenizer.json [+ tokenizer_config.json], else vocab.txt), a
 * tokenizer.json file, or a vocab.txt file (then the standard BERT tokenizer is built around it).
 */
export async function loadTokenizer(fileOrFolder: string, opts: BertTokenizerOptions = {}): Promise<BertTokenizer> {
  if (!fs.existsSync(fileOrFolder)) throw new UserError(`tokenizer not found: ${fileOrFolder} (expected a folder, tokenizer.json or vocab.txt)`);
  if (fs.statSync(fileOrFolder).isDirectory()) {
    // Every file a folder names is confined to it (src/io/confine.ts): no symlink out of the folder.
    const has = (f: string) => modelFolderFile(fileOrFolder, f, 'tokenizer file') !== undefined;
    if (has('tokenizer.json')) return fromTokenizerJson(path.join(fileOrFolder, 'tokenizer.json'), opts);
    if (has('vocab.txt')) return fromVocab(path.join(fileOrFolder, 'vocab.txt'), opts);
    if (has('vocab.json') && has('merges.txt')) return fromByteLevelBpe(fileOrFolder);
    const spm = ['spiece.model', 'sentencepiece.bpe.model', 'spm.model'].find(has);
    if (spm) {
      throw new UserError(
        `${path.join(fileOrFolder, spm)}: a SentencePiece model file cannot be read here; write tokenizer.json next to it with ` +
          `transformers (python -c "from transformers import AutoTokenizer as T; T.from_pretrained('${fileOrFolder}').save_pretrained('${fileOrFolder}')")`,
      );
    }
    throw new UserError(`${fileOrFolder}: no tokenizer in this folder (expected tokenizer.json, vocab.txt, or vocab.json + merges.txt)`);
  }
  return fileOrFolder.endsWith('.json') ? fromTokenizerJson(fileOrFolder, opts) : fromVocab(fileOrFolder, opts);
}

function fromVocab(file: string, opts: BertTokenizerOptions): BertTokenizer {
  const vocab = readVocabFile(file);
  return new BertTokenizer(buildBertTokenizerJson(vocab, opts), buildTokenizerConfig(opts), file);
}

/** tokenizer_config.json beside a tokenizer file, confined to that folder; undefined when absent. */
function siblingConfig(dir: string): Record<string, unknown> | undefined {
  const file = modelFolderFile(dir, 'tokenizer_config.json', 'tokenizer file');
  return file === undefined ? undefined : readJsonFile(file, 'tokenizer_config.json');
}

function fromTokenizerJson(file: string, opts: BertTokenizerOptions): BertTokenizer {
  const config = siblingConfig(path.dirname(file)) ?? null;
  return tokenizerFromJson(readJsonFile(file, 'tokenizer.json', 'tokenizerJson'), config, file, opts);
}

/**
 * RoBERTa / GPT-2 style files: vocab.json + merges.txt make a byte-level BPE tokenizer with
 * RoBERTa's template (<s> A </s></s> B </s>); tokenizer_config.json, when present, names the
 * special tokens and add_prefix_space.
 */
function fromByteLevelBpe(dir: string): BertTokenizer {
  const vocabFile = path.join(dir, 'vocab.json');
  const vocab = readJsonFile(vocabFile, 'vocab.json', 'vocabFile') as Record<string, number>;
  const merges: string[] = [];
  checkFileSize(path.join(dir, 'merges.txt'), 'vocabFile');
  for (const { text, line } of readLines(path.join(dir, 'merges.txt'))) {
    if (text.startsWith('#version') || text.trim() === '') continue;
    if (text.split(' ').length !== 2) throw new UserError(`${path.join(dir, 'merges.txt')}:${line}: expected two space-separated symbols, got ${JSON.stringify(text)}`);
    merges.push(text);
  }
  const config = siblingConfig(dir) ?? {};
  const token = (key: string, fallback: string) => configToken(config, key) ?? fallback;
  const specials = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'].map((t, i) => token(['bos_token', 'pad_token', 'eos_token', 'unk_token', 'mask_token'][i], t));
  const cls = token('cls_token', specials[0]);
  const sep = token('sep_token', specials[2]);
  for (const t of [cls, sep]) if (vocab[t] === undefined) throw new UserError(`${vocabFile}: lacks the special token ${JSON.stringify(t)}`);
  const addPrefixSpace = config.add_prefix_space === true;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...new Set([...specials, cls, sep])]
      .filter((t) => vocab[t] !== undefined)
      .map((content) => ({ id: vocab[content], content, single_word: false, lstrip: content === '<mask>', rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: [sep, vocab[sep]], cls: [cls, vocab[cls]], trim_offsets: true, add_prefix_space: addPrefixSpace },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  return new BertTokenizer(json, { model_max_length: 512, ...config }, vocabFile);
}
