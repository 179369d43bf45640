/**
 * BERT WordPiece tokenizer on top of @huggingface/tokenizers (the library transformers.js uses, so
 * ids match it). The library has no truncation; pairs are truncated here with HF's longest_first rule.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import {
  buildBertTokenizerJson,
  buildTokenizerConfig,
  readJsonFile,
  readVocabFile,
  type BertTokenizerOptions,
  type SpecialTokens,
} from './tokenizer-json.ts';
import { readLines } from './lines.ts';
import { truncateLongestFirst } from './truncation.ts';
import type { Encoded } from './types.ts';

export type { BertTokenizerOptions } from './tokenizer-json.ts';

/** One position of a special-token template: a special token's ids, or sequence A / B. */
export type TemplatePiece = { ids: number[]; typeId: number } | { seq: 'A' | 'B'; typeId: number };

/** How special tokens wrap one text and a pair (BERT: [CLS] A [SEP] B [SEP]; RoBERTa: <s> A </s></s> B </s>). */
export interface SpecialTemplate {
  single: TemplatePiece[];
  pair: TemplatePiece[];
}

/**
 * A Hugging Face tokenizer (WordPiece, byte-level BPE or Unigram, as tokenizer.json describes it) on
 * top of @huggingface/tokenizers (the library transformers.js uses, so ids match it), with the
 * family's special tokens and pair template read from the file. The library has no truncation;
 * pairs are truncated here with HF's longest_first rule. (The name is historical: BERT's WordPiece
 * was the first and is still the default.)
 */
export class BertTokenizer {
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** -1 when the vocabulary has no mask token. */
  readonly maskId: number;
  readonly unkId: number;
  /** Longest input (special tokens included) the model accepts. */
  readonly modelMaxLength: number;
  /** "WordPiece", "BPE" or "Unigram". */
  readonly modelType: string;
  readonly template: SpecialTemplate;
  private readonly inner: Tokenizer;
  private readonly lowercases: boolean;

  constructor(
    readonly tokenizerJson: Record<string, unknown>,
    readonly tokenizerConfig: Record<string, unknown>,
    where = 'tokenizer',
  ) {
    const model = tokenizerJson.model as { type?: string; vocab?: unknown; unk_token?: unknown } | undefined;
    if (!model || !MODEL_TYPES.includes(model.type as string) || typeof model.vocab !== 'object') {
      throw new UserError(`${where}: expected a WordPiece, BPE or Unigram tokenizer (model.type), got ${JSON.stringify(model?.type)}`);
    }
    this.modelType = model.type!;
    try {
      this.inner = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new UserError(`${where}: the tokenizer library cannot build this tokenizer: ${(e as Error).message}`);
    }
    const vocab = this.inner.get_vocab(true) as Map<string, number>;
    const specials = resolveSpecials(tokenizerConfig, tokenizerJson, vocab, where);
    const id = (t: string | undefined) => (t === undefined ? -1 : (this.inner.token_to_id(t) ?? -1));
    this.clsId = id(specials.cls);
    this.sepId = id(specials.sep);
    this.padId = id(specials.pad);
    this.maskId = id(specials.mask);
    this.unkId = id(specials.unk);
    this.vocabSize = vocab.size;
    this.template = templateOf(tokenizerJson, this.clsId, this.sepId, where);
    this.lowercases = /"type":"Lowercase"/.test(JSON.stringify(tokenizerJson.normalizer ?? null));
    const max = tokenizerConfig.model_max_length;
    this.modelMaxLength = typeof max === 'number' && max > 0 && max < 1e9 ? max : 512;
  }

  /** Ids of one text, no special tokens. */
  tokenizeToIds(text: string): number[] {
    return this.inner.encode(this.prepare(text), { add_special_tokens: false }).ids;
  }

  /** Tokens of one text, no special tokens. */
  tokenize(text: string): string[] {
    return this.inner.tokenize(this.prepare(text));
  }

  /**
   * The Lowercase normalizer of Rust's library (the Python one's) maps Σ to σ everywhere; JavaScript's toLowerCase
   * writes ς at the end of a word, a token the vocabulary may lack. Doing Σ → σ first agrees with Rust.
   */
  private prepare(text: string): string {
    return this.lowercases ? text.replace(/\u03a3/g, '\u03c3') : text;
  }

  /** Special tokens the template adds to one text (`pair` false) or a pair. */
  numSpecialTokens(pair: boolean): number {
    return (pair ? this.template.pair : this.template.single).reduce((n, p) => n + ('ids' in p ? p.ids.length : 0), 0);
  }

  /**
   * One text or a pair wrapped by the family's template (`[CLS] A [SEP] B [SEP]` with token types
   * 0 / 1 for BERT), truncated to `maxLength` tokens (special tokens included; default
   * modelMaxLength) with longest_first.
   */
  encode(textA: string, textB?: string, maxLength: number = this.modelMaxLength): Encoded {
    const a = this.tokenizeToIds(textA);
    const b = textB === undefined ? undefined : this.tokenizeToIds(textB);
    const specials = this.numSpecialTokens(b !== undefined);
    if (!Number.isInteger(maxLength) || maxLength < specials) {
      throw new UserError(`maxLength ${maxLength} is too small: expected an integer >= ${specials} (room for the special tokens)`);
    }
    const [na, nb] = truncateLongestFirst(a.length, b?.length ?? 0, maxLength - specials);
    const inputIds: number[] = [];
    const tokenTypeIds: number[] = [];
    for (const piece of b === undefined ? this.template.single : this.template.pair) {
      const ids = 'ids' in piece ? piece.ids : piece.seq === 'A' ? a.slice(0, na) : b!.slice(0, nb);
      inputIds.push(...ids);
      for (let i = 0; i < ids.length; i++) tokenTypeIds.push(piece.typeId);
    }
    return { inputIds, tokenTypeIds };
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return ids.length ? this.inner.decode(ids, { skip_special_tokens: skipSpecialTokens }) : '';
  }

  /** Writes tokenizer.json + tokenizer_config.json (loadable by transformers / transformers.js). */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
    writeJsonAtomic(path.join(folder, 'tokenizer.json'), this.tokenizerJson);
    writeJsonAtomic(path.join(folder, 'tokenizer_config.json'), this.tokenizerConfig);
  }
}

const MODEL_TYPES = ['WordPiece', 'BPE', 'Unigram'];

/** Candidate spellings of each special token when tokenizer_config.json does not name it. */
const SPECIAL_GUESSES: Record<keyof SpecialTokens, string[]> = {
  cls: ['[CLS]', '<s>', '<cls>'],
  sep: ['[SEP]', '</s>', '<sep>'],
  pad: ['[PAD]', '<pad>'],
  unk: ['[UNK]', '<unk>'],
  mask: ['[MASK]', '<mask>'],
};

function configToken(config: Record<string, unknown>, key: string): string | undefined {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** Special tokens from tokenizer_config.json, else the family's usual spelling found in the vocabulary. */
function resolveSpecials(config: Record<string, unknown>, json: Record<string, unknown>, vocab: Map<string, number>, where: string): Partial<SpecialTokens> {
  const out: Partial<SpecialTokens> = {};
  for (const k of Object.keys(SPECIAL_GUESSES) as (keyof SpecialTokens)[]) {
    const named = configToken(config, `${k}_token`) ?? (k === 'unk' ? ((json.model as { unk_token?: string }).unk_token ?? undefined) : undefined);
    out[k] = named ?? SPECIAL_GUESSES[k].find((t) => vocab.has(t));
  }
  const missing = (['cls', 'sep', 'pad'] as const).filter((k) => out[k] === undefined || !vocab.has(out[k]!));
  if (missing.length) {
    const named = missing.map((k) => (out[k] ? `${k} ${JSON.stringify(out[k])}` : `${k} (none of ${SPECIAL_GUESSES[k].join(' ')})`));
    throw new UserError(`${where}: vocabulary lacks the special token(s) ${named.join(', ')}`);
  }
  return out;
}

type PostProcessor = { type?: string; processors?: PostProcessor[]; single?: unknown[]; pair?: unknown[]; special_tokens?: Record<string, { ids?: number[] }>; cls?: [string, number]; sep?: [string, number] };

/** The special-token template of tokenizer.json's post_processor (BERT's when there is none). */
export function templateOf(json: Record<string, unknown>, clsId: number, sepId: number, where: string): SpecialTemplate {
  let pp = json.post_processor as PostProcessor | null | undefined;
  if (pp?.type === 'Sequence') pp = (pp.processors ?? []).find((p) => ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing'].includes(p.type ?? ''));
  const sp = (ids: number[], typeId = 0): TemplatePiece => ({ ids, typeId });
  const seq = (s: 'A' | 'B', typeId = 0): TemplatePiece => ({ seq: s, typeId });
  if (!pp || pp.type === 'BertProcessing') {
    const cls = pp?.cls?.[1] ?? clsId;
    const sep = pp?.sep?.[1] ?? sepId;
    return { single: [sp([cls]), seq('A'), sp([sep])], pair: [sp([cls]), seq('A'), sp([sep]), seq('B', 1), sp([sep], 1)] };
  }
  if (pp.type === 'RobertaProcessing') {
    const [cls, sep] = [pp.cls![1], pp.sep![1]];
    return { single: [sp([cls]), seq('A'), sp([sep])], pair: [sp([cls]), seq('A'), sp([sep, sep]), seq('B'), sp([sep])] };
  }
  if (pp.type === 'TemplateProcessing') {
    const pieces = (list: unknown[] | undefined, which: string): TemplatePiece[] =>
      (list ?? []).map((raw) => {
        const p = raw as { SpecialToken?: { id: string; type_id: number }; Sequence?: { id: 'A' | 'B'; type_id: number } };
        if (p.Sequence) return seq(p.Sequence.id, p.Sequence.type_id);
        const ids = p.SpecialToken && pp!.special_tokens?.[p.SpecialToken.id]?.ids;
        if (!ids) throw new UserError(`${where}: post_processor.${which} names special token ${JSON.stringify(p.SpecialToken?.id)} that special_tokens does not define`);
        return sp(ids, p.SpecialToken!.type_id);
      });
    return { single: pieces(pp.single, 'single'), pair: pieces(pp.pair, 'pair') };
  }
  throw new UserError(`${where}: post_processor type ${JSON.stringify(pp.type)} is not supported (expected TemplateProcessing, BertProcessing or RobertaProcessing)`);
}

/**
 * Loads a tokenizer from a folder (tokenizer.json [+ tokenizer_config.json], else vocab.txt), a
 * tokenizer.json file, or a vocab.txt file (then the standard BERT tokenizer is built around it).
 */
export async function loadTokenizer(fileOrFolder: string, opts: BertTokenizerOptions = {}): Promise<BertTokenizer> {
  if (!fs.existsSync(fileOrFolder)) throw new UserError(`tokenizer not found: ${fileOrFolder} (expected a folder, tokenizer.json or vocab.txt)`);
  if (fs.statSync(fileOrFolder).isDirectory()) {
    const has = (f: string) => fs.existsSync(path.join(fileOrFolder, f));
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

function fromTokenizerJson(file: string, opts: BertTokenizerOptions): BertTokenizer {
  const json = readJsonFile(file, 'tokenizer.json');
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const normalizer = json.normalizer as { lowercase?: boolean; strip_accents?: boolean | null; handle_chinese_chars?: boolean } | null;
  const wordPiece = (json.model as { type?: string } | undefined)?.type === 'WordPiece';
  // Without a tokenizer_config.json, describe a WordPiece tokenizer from its own normalizer settings.
  const config = fs.existsSync(configFile)
    ? readJsonFile(configFile, 'tokenizer_config.json')
    : !wordPiece
      ? { model_max_length: opts.modelMaxLength ?? 512 }
      : buildTokenizerConfig({
        lowercase: normalizer?.lowercase ?? true,
        stripAccents: normalizer?.strip_accents ?? null,
        handleChineseChars: normalizer?.handle_chinese_chars ?? true,
        modelMaxLength: opts.modelMaxLength,
      });
  return new BertTokenizer(json, config, file);
}

/**
 * RoBERTa / GPT-2 style files: vocab.json + merges.txt make a byte-level BPE tokenizer with
 * RoBERTa's template (<s> A </s></s> B </s>); tokenizer_config.json, when present, names the
 * special tokens and add_prefix_space.
 */
function fromByteLevelBpe(dir: string): BertTokenizer {
  const vocabFile = path.join(dir, 'vocab.json');
  const vocab = readJsonFile(vocabFile, 'vocab.json') as Record<string, number>;
  const merges: string[] = [];
  for (const { text, line } of readLines(path.join(dir, 'merges.txt'))) {
    if (text.startsWith('#version') || text.trim() === '') continue;
    if (text.split(' ').length !== 2) throw new UserError(`${path.join(dir, 'merges.txt')}:${line}: expected two space-separated symbols, got ${JSON.stringify(text)}`);
    merges.push(text);
  }
  const configFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJsonFile(configFile, 'tokenizer_config.json') : {};
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
