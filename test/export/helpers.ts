/** Shared test helpers for the export tests: a tiny WordPiece tokenizer.json and an ONNX runner. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createSession } from '../../src/teacher/session.ts';
import type { StudentLike } from '../../src/export/export.ts';
import type { WeightMap } from '../../src/export/weights.ts';
import { randomWeights, tinyConfig } from './reference-bert.ts';

export const TINY_WORDS = 'the a movie film good great bad awful fun boring not very was is it and'.split(' ');

/** Vocabulary: specials, letters, ##letters, words (so any lower-case text tokenizes). */
export function tinyVocab(): string[] {
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
  return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', '!', ...letters, ...letters.map((l) => `##${l}`), ...TINY_WORDS.filter((w) => w.length > 1)];
}

/** A Hugging Face tokenizer.json for a BERT uncased WordPiece tokenizer over `vocab`. */
export function bertTokenizerJson(vocab: string[]): Record<string, unknown> {
  const id = (t: string) => vocab.indexOf(t);
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => ({
    id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
}

/** Writes tokenizer.json (+ a BERT tokenizer_config.json) into `dir` and returns `dir`. */
export function writeTinyTokenizer(dir: string, vocab = tinyVocab()): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(vocab)));
  fs.writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 32, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' }),
  );
  return dir;
}

export interface OnnxOut {
  dims: number[];
  data: Float32Array;
}

/** Runs an ONNX model once on int64 inputs given as [B][L] arrays (CPU, through the teacher's session wrapper). */
export async function runOnnx(
  model: Uint8Array | string,
  ids: number[][],
  mask: number[][],
  types: number[][],
): Promise<Record<string, OnnxOut>> {
  const session = await createSession(model, { provider: 'cpu' });
  const dims = [ids.length, ids[0].length];
  try {
    return await session.run({
      input_ids: { data: ids.flat(), dims, type: 'int64' },
      attention_mask: { data: mask.flat(), dims, type: 'int64' },
      token_type_ids: { data: types.flat(), dims, type: 'int64' },
    });
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function argmaxRows(data: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out.push(best);
  }
  return out;
}

/** A student as the exporter sees it (tf.Variable has the same shape/dataSync surface). */
export function fakeStudent(config = tinyConfig({ vocab_size: tinyVocab().length }), weights: WeightMap = randomWeights(config, 9)): StudentLike {
  const params = new Map([...weights].map(([k, w]) => [k, { shape: w.shape, dataSync: () => w.data }]));
  return { config, params };
}

