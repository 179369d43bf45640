/**
 * The tokenizer itself, free of file I/O so the web playground runs the same code as Node: a Hugging Face
 * tokenizer.json (WordPiece, byte-level BPE or Unigram) on @huggingface/tokenizers (the library
 * transformers.js uses, so ids match it), with the family's special tokens and pair template read from
 * the file and HF's longest_first truncation. Reading and writing files: ./tokenizer.ts.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../util/errors.ts';
import { buildTokenizerConfig, type BertTokenizerOptions, type SpecialTokens } from './tokenizer-json.ts';
import { truncateLongestFirst } from './truncation.ts';
import type { Encoded } from './types.ts';

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
    if (!model || !MODEL_TYPES.includes(model.type as string) || !model.vocab || typeof model.vocab !== 'object') {
      throw new UserError(`${where}: expected a WordPiece, BPE or Unigram tokenizer (model.type), got ${JSON.stringify(model?.type)}`);
    }
    this.modelType = model.type!;
    checkTokenIds(tokenizerJson, where);
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

export function configToken(config: Record<string, unknown>, key: string): string | undefined {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/**
 * Token ids must be non-negative integers, and not far beyond the number of tokens: the tokenizer
 * library sizes arrays (and loops) by the largest id, so one id of 2^31 in a hostile vocab.json made
 * loading hang. Real vocabularies are dense (ids 0..n-1, added tokens after them).
 */
function checkTokenIds(json: Record<string, unknown>, where: string): void {
  const model = json.model as { vocab?: unknown };
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new UserError(`${where}: added_tokens is not a list`);
  const ids: unknown[] = added.map((t) => (t && typeof t === 'object' ? (t as { id?: unknown }).id : t));
  const entries = Array.isArray(model.vocab) ? model.vocab.length : Object.keys(model.vocab as object).length;
  if (!Array.isArray(model.vocab)) ids.push(...Object.values(model.vocab as object));
  const limit = 2 * (entries + added.length) + 1024;
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= limit) {
      throw new UserError(`${where}: token id ${JSON.stringify(id)} is not an integer from 0 to ${limit - 1} (the vocabulary has ${entries} tokens and ${added.length} added ones)`);
    }
  }
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
  const bad = (what: string, v: unknown): never => {
    throw new UserError(`${where}: post_processor ${what} is ${JSON.stringify(v) ?? String(v)}, not what tokenizer.json allows`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  const tokenId = (v: unknown, what: string): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : bad(what, v));
  const typeIdOf = (v: unknown, what: string): number => (v === undefined ? 0 : tokenId(v, what));
  /** BertProcessing / RobertaProcessing's ["[CLS]", 101] pairs. */
  const pairId = (v: unknown, fallback: number | undefined, what: string): number =>
    v === undefined && fallback !== undefined ? fallback : Array.isArray(v) ? tokenId(v[1], what) : bad(what, v);
  let pp = json.post_processor as PostProcessor | null | undefined;
  if (pp !== null && pp !== undefined && !isObject(pp)) bad('', pp);
  if (pp?.type === 'Sequence') {
    if (!Array.isArray(pp.processors ?? [])) bad('processors', pp.processors);
    pp = (pp.processors ?? []).find((p) => isObject(p) && ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing'].includes(p.type ?? ''));
  }
  const sp = (ids: number[], typeId = 0): TemplatePiece => ({ ids, typeId });
  const seq = (s: 'A' | 'B', typeId = 0): TemplatePiece => ({ seq: s, typeId });
  if (!pp || pp.type === 'BertProcessing') {
    const cls = pairId(pp?.cls, clsId, 'cls');
    const sep = pairId(pp?.sep, sepId, 'sep');
    return { single: [sp([cls]), seq('A'), sp([sep])], pair: [sp([cls]), seq('A'), sp([sep]), seq('B', 1), sp([sep], 1)] };
  }
  if (pp.type === 'RobertaProcessing') {
    const [cls, sep] = [pairId(pp.cls, undefined, 'cls'), pairId(pp.sep, undefined, 'sep')];
    return { single: [sp([cls]), seq('A'), sp([sep])], pair: [sp([cls]), seq('A'), sp([sep, sep]), seq('B'), sp([sep])] };
  }
  if (pp.type === 'TemplateProcessing') {
    const specials = isObject(pp.special_tokens) ? (pp.special_tokens as Record<string, unknown>) : {};
    const pieces = (list: unknown, which: string): TemplatePiece[] => {
      if (list !== undefined && !Array.isArray(list)) bad(which, list);
      return ((list as unknown[] | undefined) ?? []).map((raw) => {
        const p = isObject(raw) ? raw : bad(`${which} piece`, raw);
        if (p.Sequence !== undefined) {
          const s = isObject(p.Sequence) ? p.Sequence : bad(`${which} Sequence`, p.Sequence);
          if (s.id !== 'A' && s.id !== 'B') bad(`${which} Sequence id`, s.id);
          return seq(s.id as 'A' | 'B', typeIdOf(s.type_id, `${which} type_id`));
        }
        const t = isObject(p.SpecialToken) ? p.SpecialToken : bad(`${which} piece`, raw);
        const entry = typeof t.id === 'string' && Object.hasOwn(specials, t.id) ? specials[t.id] : undefined;
        const ids = isObject(entry) ? entry.ids : undefined;
        if (!Array.isArray(ids)) throw new UserError(`${where}: post_processor.${which} names special token ${JSON.stringify(t.id)} that special_tokens does not define`);
        return sp(ids.map((id) => tokenId(id, `special token ${JSON.stringify(t.id)} id`)), typeIdOf(t.type_id, `${which} type_id`));
      });
    };
    return { single: pieces(pp.single, 'single'), pair: pieces(pp.pair, 'pair') };
  }
  throw new UserError(`${where}: post_processor type ${JSON.stringify(pp.type)} is not supported (expected TemplateProcessing, BertProcessing or RobertaProcessing)`);
}

/**
 * A tokenizer from the parsed tokenizer.json and tokenizer_config.json (null when the folder has none).
 * Without a config, a WordPiece tokenizer is described from its own normalizer settings.
 */
export function tokenizerFromJson(
  json: Record<string, unknown>,
  config: Record<string, unknown> | null,
  where: string,
  opts: BertTokenizerOptions = {},
): BertTokenizer {
  const normalizer = json.normalizer as { lowercase?: boolean; strip_accents?: boolean | null; handle_chinese_chars?: boolean } | null;
  const wordPiece = (json.model as { type?: string } | undefined)?.type === 'WordPiece';
  const resolved =
    config ??
    (!wordPiece
      ? { model_max_length: opts.modelMaxLength ?? 512 }
      : buildTokenizerConfig({
        lowercase: normalizer?.lowercase ?? true,
        stripAccents: normalizer?.strip_accents ?? null,
        handleChineseChars: normalizer?.handle_chinese_chars ?? true,
        modelMaxLength: opts.modelMaxLength,
      }));
  return new BertTokenizer(json, resolved, where);
}

/** Parses a JSON object (tokenizer.json, config.json …) or says which file is wrong and why. */
export function parseJsonObject(text: string, file: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${file}: expected a JSON object (${what})`);
  return value as Record<string, unknown>;
}
