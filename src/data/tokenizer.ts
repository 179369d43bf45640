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
  BERT_SPECIALS,
  buildBertTokenizerJson,
  buildTokenizerConfig,
  checkSpecials,
  readJsonFile,
  readVocabFile,
  type BertTokenizerOptions,
  type SpecialTokens,
} from './tokenizer-json.ts';
import { truncateLongestFirst } from './truncation.ts';
import type { Encoded } from './types.ts';

export type { BertTokenizerOptions } from './tokenizer-json.ts';

export class BertTokenizer {
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;
  readonly unkId: number;
  /** Longest input (special tokens included) the model accepts. */
  readonly modelMaxLength: number;
  private readonly inner: Tokenizer;

  constructor(
    readonly tokenizerJson: Record<string, unknown>,
    readonly tokenizerConfig: Record<string, unknown>,
    where = 'tokenizer',
  ) {
    const model = tokenizerJson.model as { type?: string; vocab?: Record<string, number> } | undefined;
    if (model?.type !== 'WordPiece' || typeof model.vocab !== 'object') {
      throw new UserError(`${where}: expected a BERT WordPiece tokenizer (model.type "WordPiece"), got ${JSON.stringify(model?.type)}`);
    }
    const specials = specialsFromConfig(tokenizerConfig);
    checkSpecials(model.vocab, specials, where);
    this.inner = new Tokenizer(tokenizerJson, tokenizerConfig);
    const id = (t: string) => this.inner.token_to_id(t) as number;
    this.clsId = id(specials.cls);
    this.sepId = id(specials.sep);
    this.padId = id(specials.pad);
    this.maskId = id(specials.mask);
    this.unkId = id(specials.unk);
    this.vocabSize = this.inner.get_vocab(true).size;
    const max = tokenizerConfig.model_max_length;
    this.modelMaxLength = typeof max === 'number' && max > 0 && max < 1e9 ? max : 512;
  }

  /** WordPiece ids of one text, no special tokens. */
  tokenizeToIds(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  /** WordPiece tokens of one text, no special tokens. */
  tokenize(text: string): string[] {
    return this.inner.tokenize(text);
  }

  /**
   * `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` with token types 0 / 1, truncated to `maxLength`
   * tokens (special tokens included; default modelMaxLength) with longest_first.
   */
  encode(textA: string, textB?: string, maxLength: number = this.modelMaxLength): Encoded {
    const a = this.tokenizeToIds(textA);
    const b = textB === undefined ? undefined : this.tokenizeToIds(textB);
    const specials = b === undefined ? 2 : 3;
    if (!Number.isInteger(maxLength) || maxLength < specials) {
      throw new UserError(`maxLength ${maxLength} is too small: expected an integer >= ${specials} (room for the special tokens)`);
    }
    const [na, nb] = truncateLongestFirst(a.length, b?.length ?? 0, maxLength - specials);
    const inputIds = [this.clsId, ...a.slice(0, na), this.sepId];
    const tokenTypeIds = new Array<number>(inputIds.length).fill(0);
    if (b !== undefined) {
      inputIds.push(...b.slice(0, nb), this.sepId);
      tokenTypeIds.push(...new Array<number>(nb + 1).fill(1));
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

function specialsFromConfig(config: Record<string, unknown>): SpecialTokens {
  const pick = (key: string, fallback: string): string => {
    const v = config[key];
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
    return fallback;
  };
  return {
    pad: pick('pad_token', BERT_SPECIALS.pad),
    unk: pick('unk_token', BERT_SPECIALS.unk),
    cls: pick('cls_token', BERT_SPECIALS.cls),
    sep: pick('sep_token', BERT_SPECIALS.sep),
    mask: pick('mask_token', BERT_SPECIALS.mask),
  };
}

/**
 * Loads a tokenizer from a folder (tokenizer.json [+ tokenizer_config.json], else vocab.txt), a
 * tokenizer.json file, or a vocab.txt file (then the standard BERT tokenizer is built around it).
 */
export async function loadTokenizer(fileOrFolder: string, opts: BertTokenizerOptions = {}): Promise<BertTokenizer> {
  if (!fs.existsSync(fileOrFolder)) throw new UserError(`tokenizer not found: ${fileOrFolder} (expected a folder, tokenizer.json or vocab.txt)`);
  if (fs.statSync(fileOrFolder).isDirectory()) {
    const json = path.join(fileOrFolder, 'tokenizer.json');
    const vocab = path.join(fileOrFolder, 'vocab.txt');
    if (fs.existsSync(json)) return fromTokenizerJson(json, opts);
    if (fs.existsSync(vocab)) return fromVocab(vocab, opts);
    throw new UserError(`${fileOrFolder}: no tokenizer.json or vocab.txt in this folder`);
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
  // Without a tokenizer_config.json, describe the tokenizer from its own normalizer settings.
  const config = fs.existsSync(configFile)
    ? readJsonFile(configFile, 'tokenizer_config.json')
    : buildTokenizerConfig({
        lowercase: normalizer?.lowercase ?? true,
        stripAccents: normalizer?.strip_accents ?? null,
        handleChineseChars: normalizer?.handle_chinese_chars ?? true,
        modelMaxLength: opts.modelMaxLength,
      });
  return new BertTokenizer(json, config, file);
}
