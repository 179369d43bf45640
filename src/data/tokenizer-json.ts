/**
 * Builds the Hugging Face `tokenizer.json` (and `tokenizer_config.json`) objects of a standard BERT
 * WordPiece tokenizer from a plain vocab.txt, exactly as `BertTokenizerFast` serializes them.
 */
import { UserError } from '../util/errors.ts';

export interface BertTokenizerOptions {
  /** Lower-case the input (uncased models). Default true. */
  lowercase?: boolean;
  /** Strip accents; null (the default) follows `lowercase`, as in BERT. */
  stripAccents?: boolean | null;
  /** Put spaces around CJK ideographs so each becomes its own word. Default true. */
  handleChineseChars?: boolean;
  /** Longest input the model accepts (tokenizer_config.json model_max_length). Default 512. */
  modelMaxLength?: number;
}

export interface SpecialTokens {
  pad: string;
  unk: string;
  cls: string;
  sep: string;
  mask: string;
}

export const BERT_SPECIALS: SpecialTokens = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' };

export function checkSpecials(vocab: Map<string, number> | Record<string, number>, specials: SpecialTokens, where: string): void {
  const has = (t: string) => (vocab instanceof Map ? vocab.has(t) : Object.hasOwn(vocab, t));
  const missing = Object.values(specials).filter((t) => !has(t));
  if (missing.length) throw new UserError(`${where}: vocabulary lacks the special token(s) ${missing.join(', ')}`);
}

export function buildBertTokenizerJson(vocab: string[], opts: BertTokenizerOptions = {}, specials = BERT_SPECIALS): Record<string, unknown> {
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => (ids[t] = i));
  checkSpecials(ids, specials, 'vocabulary');
  const added = [specials.pad, specials.unk, specials.cls, specials.sep, specials.mask]
    .map((content) => ({ id: ids[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const { cls, sep } = specials;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: opts.handleChineseChars ?? true,
      strip_accents: opts.stripAccents ?? null,
      lowercase: opts.lowercase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(cls, 0), seq('A', 0), special(sep, 0)],
      pair: [special(cls, 0), seq('A', 0), special(sep, 0), seq('B', 1), special(sep, 1)],
      special_tokens: {
        [cls]: { id: cls, ids: [ids[cls]], tokens: [cls] },
        [sep]: { id: sep, ids: [ids[sep]], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: specials.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  };
}

/** tokenizer_config.json as transformers / transformers.js expect it for a BERT tokenizer. */
export function buildTokenizerConfig(opts: BertTokenizerOptions = {}, specials = BERT_SPECIALS): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: opts.lowercase ?? true,
    strip_accents: opts.stripAccents ?? null,
    tokenize_chinese_chars: opts.handleChineseChars ?? true,
    model_max_length: opts.modelMaxLength ?? 512,
    clean_up_tokenization_spaces: true,
    cls_token: specials.cls,
    sep_token: specials.sep,
    pad_token: specials.pad,
    unk_token: specials.unk,
    mask_token: specials.mask,
  };
}
