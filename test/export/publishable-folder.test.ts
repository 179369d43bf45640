/**
 * The exported folder as someone would publish it: tokenizer files a loader expects, real label names, a model
 * card, transformers.js on input far past the student's positions, and PyTorch `transformers` loading the
 * student folder's model.safetensors with the same logits as the tfjs student.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { openClassifier } from '../../src/eval/classifier.ts';
import { predictTexts } from '../../src/eval/predict.ts';
import { tempDir } from '../cli/helpers.ts';
import { findPython } from '../helpers/python.ts';
import { tinyStudentFolders } from '../helpers/tiny-models.ts';

const LONG = Array.from({ length: 500 }, (_, i) => ['the', 'film', 'was', 'not', 'good', 'fun'][i % 6]).join(' ');
const TEXTS = ['a wonderful film', 'the acting was not good', LONG];
const PY = findPython(['torch', 'transformers']);
if (!PY.python) console.warn(`PyTorch transformers check skipped: ${PY.reason}`);

describe('the exported folder is publishable', () => {
  const root = tempDir('publish-');
  let tiny: { studentDir: string; onnxDir: string };
  beforeAll(async () => {
    tiny = await tinyStudentFolders(root, ['negative', 'positive'], 17);
  });

  it('tokenizer files, model_max_length = max_position_embeddings, real label names, weights and a model card', () => {
    for (const dir of [tiny.studentDir, tiny.onnxDir]) {
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'model.safetensors']) {
        expect(fs.existsSync(path.join(dir, f)), `${dir}/${f}`).toBe(true);
      }
      // The demo teacher's tokenizer says 128; the student has 64 positions.
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).model_max_length).toBe(64);
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(config.id2label).toEqual({ 0: 'negative', 1: 'positive' });
      expect(config.label2id).toEqual({ negative: 0, positive: 1 });
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'special_tokens_map.json'), 'utf8'))).toEqual({
        cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
      });
      const vocab = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').trimEnd().split('\n');
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')).model.vocab as Record<string, number>;
      expect(vocab).toHaveLength(313);
      for (const [token, id] of Object.entries(json)) expect(vocab[id]).toBe(token);
    }
    const card = fs.readFileSync(path.join(tiny.onnxDir, 'README.md'), 'utf8');
    expect(card).toContain('# student-onnx');
    expect(card).toContain('2 layers, hidden size 16, 2 heads, FFN 32, up to 64 tokens');
    expect(card).toContain('| 1 | positive |');
    expect(card).toMatch(/\| `onnx\/model_quantized.onnx` \| [\d.]+ KiB \|/);
    expect(card).toContain("pipeline('text-classification', 'student-onnx'");
    expect(card).toContain('BertForSequenceClassification.from_pretrained("student-onnx")');
  });

  it('transformers.js truncates a 500-word input to the 64 positions and matches distill predict (fp32 and q8 = --quantized)', async () => {
    env.allowRemoteModels = false;
    env.localModelPath = root;
    env.useFSCache = false;
    for (const dtype of ['fp32', 'q8'] as const) {
      const classify = await pipeline('text-classification', 'student-onnx', { dtype });
      // One text per batch, as the pipeline runs them: int8 activations are quantized with one scale per
      // tensor, so a batch's other rows (and padding) move an int8 result slightly.
      const ours = await predictTexts(tiny.onnxDir, TEXTS, { quantized: dtype === 'q8', batchSize: 1 });
      try {
        for (let i = 0; i < TEXTS.length; i++) {
          const [got] = (await classify(TEXTS[i])) as { label: string; score: number }[];
          expect(got.label, `${dtype} ${i}`).toBe(ours[i].label);
          expect(Math.abs(got.score - Math.max(...ours[i].probs!)), `${dtype} ${i}`).toBeLessThan(1e-4);
        }
      } finally {
        await classify.dispose();
      }
    }
  }, 60_000);

  it.skipIf(!PY.python)('PyTorch transformers: BertForSequenceClassification.from_pretrained(student folder) gives the tfjs logits within 1e-4; the model card\'s Python snippets run as written', async () => {
    const model = await openClassifier(tiny.studentDir, { backend: 'cpu' });
    // The card's snippets classify this text; it goes last.
    const texts = [...TEXTS, 'a gripping film'];
    const encoded = texts.map((t) => model.tokenizer.encode(t, undefined, 64));
    const tfjs = await model.logits(encoded, 8);
    await model.dispose();
    const card = fs.readFileSync(path.join(tiny.onnxDir, 'README.md'), 'utf8');
    const snippets = [...card.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(snippets).toHaveLength(2); // onnxruntime, then PyTorch transformers
    const script = `
import json, sys, torch
import numpy as np
from transformers import AutoTokenizer, BertForSequenceClassification
d = json.load(open(sys.argv[1]))
model = BertForSequenceClassification.from_pretrained(d["dir"]).eval()
tok = AutoTokenizer.from_pretrained(d["dir"])
out = []
with torch.no_grad():
    for ids in d["ids"]:
        t = torch.tensor([ids])
        out.append(model(input_ids=t, attention_mask=torch.ones_like(t), token_type_ids=torch.zeros_like(t)).logits[0].tolist())
enc = [tok(text, truncation=True)["input_ids"] for text in d["texts"]]
card = []
for code in d["snippets"]:
    if "import onnxruntime" in code:
        try:
            import onnxruntime
        except ImportError:
            card.append(None)  # the onnxruntime snippet needs onnxruntime; the rest of the check stands
            continue
    ns = {}
    exec(code, ns)  # run from the folder holding the export, as a reader of the card would
    logits = ns["logits"]
    card.append(np.asarray(logits.detach() if hasattr(logits, "detach") else logits).tolist())
print(json.dumps({"logits": out, "ids": enc, "labels": model.config.id2label, "card": card}))
`;
    const input = path.join(root, 'py-input.json');
    fs.writeFileSync(input, JSON.stringify({ dir: tiny.studentDir, ids: encoded.map((e) => e.inputIds), texts, snippets }));
    const r = spawnSync(PY.python!, ['-c', script, input], { encoding: 'utf8', timeout: 900_000, cwd: root });
    expect(r.status, r.stderr).toBe(0);
    const py = JSON.parse(r.stdout.trim().split('\n').pop()!);
    for (let i = 0; i < texts.length; i++) {
      for (let c = 0; c < 2; c++) expect(Math.abs(py.logits[i][c] - tfjs[i * 2 + c])).toBeLessThan(1e-4);
    }
    // Python's tokenizer, from the same folder, produces our ids (model_max_length 64 truncates the long text alike).
    expect(py.ids).toEqual(encoded.map((e) => e.inputIds));
    expect(py.labels).toEqual({ 0: 'negative', 1: 'positive' });
    // The card's onnxruntime and transformers snippets, on the exported folder, give the tfjs logits too.
    const last = texts.length - 1;
    for (const logits of py.card) {
      if (logits === null) {
        console.warn(`model card's onnxruntime snippet not run: ${PY.python} has no onnxruntime`);
        continue;
      }
      expect(logits).toHaveLength(1);
      for (let c = 0; c < 2; c++) expect(Math.abs(logits[0][c] - tfjs[last * 2 + c])).toBeLessThan(1e-4);
    }
  }, 900_000);
});
