/**
 * Each encoder family's tokenizer (test/fixtures/encoders/<family>: WordPiece, byte-level BPE,
 * Unigram, as transformers saves them) against the ids Python transformers gave on the tricky
 * strings of the WordPiece parity test: no special tokens, one text, and pairs with the family's
 * template and token types.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/data/tokenizer.ts';
import { families, familyDir, readEncoderReference } from '../teacher/encoders.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokfam-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(families())('%s tokenizer', (family) => {
  const ref = readEncoderReference(family);

  it('matches Python transformers on every tricky string, single and pairs', async () => {
    const tok = await loadTokenizer(familyDir(family));
    expect({ cls: tok.clsId, sep: tok.sepId, pad: tok.padId, unk: tok.unkId, mask: tok.maskId }).toEqual(ref.specials);
    for (const c of ref.tokenizer) {
      expect({ text: c.text, ids: tok.tokenizeToIds(c.text) }).toEqual({ text: c.text, ids: c.ids });
      expect({ text: c.text, single: tok.encode(c.text, undefined, 100_000).inputIds }).toEqual({ text: c.text, single: c.single });
      if (c.text === '' || c.pairWith === '') continue; // Python treats an empty text_pair as no pair
      const pair = tok.encode(c.text, c.pairWith, 100_000);
      expect({ text: c.text, pair: pair.inputIds }).toEqual({ text: c.text, pair: c.pair });
      if (c.pairTypes) expect(pair.tokenTypeIds).toEqual(c.pairTypes);
    }
  });

  it('truncates pairs longest-first around the template', async () => {
    const tok = await loadTokenizer(familyDir(family));
    const c = ref.tokenizer.find((x) => x.ids.length > 20)!;
    const e = tok.encode(c.text, c.text, 16);
    expect(e.inputIds).toHaveLength(16);
    expect(e.inputIds[0]).toBe(ref.specials.cls);
    expect(e.inputIds[15]).toBe(ref.specials.sep);
  });
});

describe('RoBERTa from vocab.json + merges.txt', () => {
  it('gives the same ids as its tokenizer.json', async () => {
    const src = familyDir('roberta');
    const json = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer.json'), 'utf8'));
    const dir = path.join(tmp, 'roberta-slow');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(json.model.vocab));
    const merges = (json.model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
    fs.writeFileSync(path.join(dir, 'merges.txt'), '#version: 0.2\n' + merges.join('\n') + '\n');
    fs.copyFileSync(path.join(src, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
    const tok = await loadTokenizer(dir);
    const ref = readEncoderReference('roberta');
    for (const c of ref.tokenizer) {
      expect(tok.encode(c.text, undefined, 100_000).inputIds).toEqual(c.single);
      if (c.text === '' || c.pairWith === '') continue;
      expect(tok.encode(c.text, c.pairWith, 100_000).inputIds).toEqual(c.pair);
    }
  });

  it('a SentencePiece model file alone is refused with the conversion command', async () => {
    const dir = path.join(tmp, 'spm');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'spiece.model'), 'x');
    await expect(loadTokenizer(dir)).rejects.toThrow(/spiece\.model: a SentencePiece model file cannot be read here.*save_pretrained/);
  });
});
