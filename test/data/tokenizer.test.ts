import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BertTokenizer, loadTokenizer, saveTokenizer } from '../../src/data/tokenizer.ts';
import { UserError } from '../../src/util/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A tiny vocabulary: ids are the line numbers.
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'was', 'not', 'good', 'un', '##believ', '##able', '!', ',', 'cafe', '中'];
const id = (t: string) => VOCAB.indexOf(t);

function writeVocab(tokens: string[], name = 'vocab.txt'): string {
  const file = path.join(tmp, `${Math.random().toString(36).slice(2)}-${name}`);
  fs.writeFileSync(file, tokens.join('\n') + '\n');
  return file;
}

async function errorOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('BertTokenizer from vocab.txt', async () => {
  const tok = await loadTokenizer(writeVocab(VOCAB));

  it('exposes the special ids and vocabulary size', () => {
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 1, 2, 3, 4]);
    expect(tok.vocabSize).toBe(VOCAB.length);
    expect(tok.tokenToId('film')).toBe(id('film'));
    expect(tok.idToToken(id('##able'))).toBe('##able');
  });

  it('lower-cases, strips accents, splits punctuation and word pieces', () => {
    expect(tok.tokenize('The FILM was UNBELIEVABLE, Café!')).toEqual(['the', 'film', 'was', 'un', '##believ', '##able', ',', 'cafe', '!']);
    expect(tok.tokenize('unknownword 中')).toEqual(['[UNK]', '中']);
  });

  it('encodes a single text as [CLS] A [SEP] with token type 0', () => {
    expect(tok.encode('the film!')).toEqual({
      inputIds: [2, id('the'), id('film'), id('!'), 3],
      tokenTypeIds: [0, 0, 0, 0, 0],
    });
    expect(tok.encode('')).toEqual({ inputIds: [2, 3], tokenTypeIds: [0, 0] });
  });

  it('encodes a pair as [CLS] A [SEP] B [SEP] with token types 0 then 1', () => {
    expect(tok.encode('the film', 'was good')).toEqual({
      inputIds: [2, id('the'), id('film'), 3, id('was'), id('good'), 3],
      tokenTypeIds: [0, 0, 0, 0, 1, 1, 1],
    });
    // An empty second text still counts as a pair.
    expect(tok.encode('film', '')).toEqual({ inputIds: [2, id('film'), 3, 3], tokenTypeIds: [0, 0, 0, 1] });
  });

  it('truncates longest_first to maxLength including the special tokens', () => {
    // A: 4 tokens, B: 2 tokens, maxLength 7 -> budget 4 -> A cut to 2.
    expect(tok.encode('the film was good', 'not good', 7).inputIds).toEqual([2, id('the'), id('film'), 3, id('not'), id('good'), 3]);
    // Equal lengths 3/3, budget 5: the first keeps 2, the second 3.
    expect(tok.encode('the film was', 'not good !', 8).inputIds).toEqual([2, id('the'), id('film'), 3, id('not'), id('good'), id('!'), 3]);
    // Single text: cut at the end, [SEP] kept.
    expect(tok.encode('the film was good', undefined, 4).inputIds).toEqual([2, id('the'), id('film'), 3]);
    const pair = tok.encode('the film was good', 'the film was not good', 6);
    expect(pair.inputIds).toHaveLength(6);
    expect(pair.tokenTypeIds).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('rejects a maxLength without room for the special tokens', async () => {
    expect(await errorOf(async () => tok.encode('film', 'good', 2))).toMatch(/maxLength 2 is too small: expected an integer >= 3/);
  });

  it('saveTokenizer writes tokenizer.json + tokenizer_config.json that load back to the same ids', async () => {
    const dir = path.join(tmp, 'saved');
    saveTokenizer(tok, dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512, cls_token: '[CLS]' });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    expect(json.model).toMatchObject({ type: 'WordPiece', continuing_subword_prefix: '##', max_input_chars_per_word: 100 });
    expect(json.normalizer).toMatchObject({ type: 'BertNormalizer', lowercase: true, handle_chinese_chars: true });
    for (const from of [dir, path.join(dir, 'tokenizer.json')]) {
      const back = await loadTokenizer(from);
      expect(back.encode('The film was unbelievable', 'not good!')).toEqual(tok.encode('The film was unbelievable', 'not good!'));
    }
  });

  it('options: a cased tokenizer keeps case', async () => {
    const cased = await loadTokenizer(writeVocab([...VOCAB, 'Film']), { lowercase: false });
    expect(cased.tokenize('Film film FILM')).toEqual(['Film', 'film', '[UNK]']);
    expect((cased.tokenizerConfig as { do_lower_case: boolean }).do_lower_case).toBe(false);
  });
});

describe('tokenizer bad input', () => {
  it('missing path', async () => {
    expect(await errorOf(() => loadTokenizer(path.join(tmp, 'nope')))).toMatch(/tokenizer not found: .*nope/);
  });
  it('folder without tokenizer files', async () => {
    const d = fs.mkdtempSync(path.join(tmp, 'empty-'));
    expect(await errorOf(() => loadTokenizer(d))).toMatch(/no tokenizer in this folder \(expected tokenizer\.json, vocab\.txt, or vocab\.json \+ merges\.txt\)/);
  });
  it('vocab missing a special token', async () => {
    expect(await errorOf(() => loadTokenizer(writeVocab(VOCAB.filter((t) => t !== '[MASK]'))))).toMatch(/lacks the special token\(s\) \[MASK\]/);
  });
  it('duplicate vocab entry names both lines', async () => {
    expect(await errorOf(() => loadTokenizer(writeVocab([...VOCAB, 'film'])))).toMatch(/vocab\.txt:18: duplicate token "film" \(first on line 7\)/);
  });
  it('tokenizer.json of an unsupported model type', async () => {
    const file = path.join(tmp, 'wordlevel-tokenizer.json');
    fs.writeFileSync(file, JSON.stringify({ model: { type: 'WordLevel', vocab: {} } }));
    expect(await errorOf(() => loadTokenizer(file))).toMatch(/expected a WordPiece, BPE or Unigram tokenizer \(model.type\), got "WordLevel"/);
  });
  it('tokenizer.json the library cannot build', async () => {
    const file = path.join(tmp, 'bpe-tokenizer.json');
    fs.writeFileSync(file, JSON.stringify({ model: { type: 'BPE', vocab: {} } }));
    expect(await errorOf(() => loadTokenizer(file))).toMatch(/bpe-tokenizer\.json: the tokenizer library cannot build this tokenizer/);
  });
  it('tokenizer.json that is not JSON', async () => {
    const file = path.join(tmp, 'broken-tokenizer.json');
    fs.writeFileSync(file, '{');
    expect(await errorOf(() => loadTokenizer(file))).toMatch(/cannot read tokenizer\.json .*broken-tokenizer\.json/);
  });
  it('constructing from objects validates too', () => {
    expect(() => new BertTokenizer({ model: { type: 'Unigram' } }, {})).toThrow(UserError);
  });
});
