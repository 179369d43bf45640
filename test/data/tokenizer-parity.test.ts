/**
 * Parity on tricky strings with the bert-base-uncased vocabulary: our tokenizer vs an independent
 * Python implementation of BERT's original algorithm (scripts/tokenizer_reference.py, committed
 * output), and vs transformers.js loading the folder our saveTokenizer writes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer, saveTokenizer } from '../../src/data/tokenizer.ts';
import { sha256File } from '../../src/util/hash.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VOCAB = path.resolve(ROOT, '../shared/vocab/bert-base-uncased-vocab.txt');
const HAVE_VOCAB = fs.existsSync(VOCAB);
if (!HAVE_VOCAB) console.warn(`tokenizer parity tests skipped: ${VOCAB} is absent`);

interface RefCase {
  text: string;
  tokens: string[];
  ids: number[];
}
const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/tokenizer-reference.json'), 'utf8')) as {
  vocabSha256: string;
  cases: RefCase[];
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokpar-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!HAVE_VOCAB)('tokenizer parity (bert-base-uncased vocab from ../shared/vocab)', () => {
  it('the fixture was made from this vocabulary', () => {
    expect(sha256File(VOCAB)).toBe(ref.vocabSha256);
    expect(ref.cases.length).toBeGreaterThanOrEqual(25);
  });

  it('matches the Python reference on every tricky string', async () => {
    const tok = await loadTokenizer(VOCAB);
    for (const c of ref.cases) {
      expect({ text: c.text, ids: tok.tokenizeToIds(c.text) }).toEqual({ text: c.text, ids: c.ids });
      expect(tok.encode(c.text, undefined, 100_000).inputIds).toEqual([tok.clsId, ...c.ids, tok.sepId]);
    }
  });

  it('transformers.js AutoTokenizer on the saved folder gives the same ids, single and pairs', async () => {
    const tok = await loadTokenizer(VOCAB);
    saveTokenizer(tok, path.join(tmp, 'bert-uncased'));
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = tmp + path.sep;
    const hf = await AutoTokenizer.from_pretrained('bert-uncased');
    const toNumbers = (t: { tolist(): unknown } | undefined) => (t!.tolist() as bigint[][])[0].map(Number);
    for (let i = 0; i < ref.cases.length; i++) {
      const a = ref.cases[i].text;
      const b = ref.cases[(i + 7) % ref.cases.length].text;
      const single = hf(a, { add_special_tokens: true });
      expect(toNumbers(single.input_ids)).toEqual(tok.encode(a, undefined, 100_000).inputIds);
      if (b === '' || a === '') continue; // transformers.js drops an empty text_pair (treats it as no pair)
      const pair = hf(a, { text_pair: b, return_token_type_ids: true });
      const ours = tok.encode(a, b, 100_000);
      expect(toNumbers(pair.input_ids)).toEqual(ours.inputIds);
      expect(toNumbers(pair.token_type_ids)).toEqual(ours.tokenTypeIds);
    }
  });

  it('known, documented differences from the original algorithm', async () => {
    const tok = await loadTokenizer(VOCAB);
    // Special tokens written in the text are recognized (as HF fast tokenizers and transformers.js do);
    // the original algorithm splits "[SEP]" into "[", "sep", "]".
    expect(tok.tokenize('a [SEP] b')).toEqual(['a', '[SEP]', 'b']);
    // CJK ideographs outside the BMP are not isolated by @huggingface/tokenizers 0.2.0 (it checks
    // UTF-16 units), so "𠀀𠀁" is one unknown word; the original algorithm gives two.
    expect(tok.tokenize('𠀀𠀁')).toEqual(['[UNK]']);
  });
});
