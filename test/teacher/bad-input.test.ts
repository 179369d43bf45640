import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCache } from '../../src/cache/writer.ts';
import { loadModelProto, onnx, saveModelProto } from '../../src/onnx/proto.ts';
import { Teacher } from '../../src/teacher/teacher.ts';
import { UserError } from '../../src/util/errors.ts';
import { writeSst2 } from '../cache/helpers.ts';
import { fixtureDir, readReference, referenceBatch } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'teacher-bad-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = () => {};

/** A copy of the opset-17 fixture whose files the test may change. */
function copyFixture(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(fixtureDir(17), dir, { recursive: true });
  return dir;
}

async function loadError(dir: string, workDir = path.join(tmp, 'work-unused')): Promise<UserError> {
  const err = await Teacher.load(dir, { workDir, notice: quiet }).then(
    (t) => t.dispose().then(() => undefined),
    (e) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err;
}

describe('bad teacher input gives a clear UserError', () => {
  it('names the missing folder, model file or unreadable ONNX', async () => {
    expect((await loadError(path.join(tmp, 'nope'))).message).toMatch(/teacher folder .*nope does not exist/);
    const dir = copyFixture('no-onnx');
    fs.rmSync(path.join(dir, 'onnx'), { recursive: true });
    expect((await loadError(dir)).message).toMatch(/has no ONNX model: expected .*onnx\/model\.onnx or .*model\.onnx/);
    const garbage = copyFixture('garbage');
    fs.writeFileSync(path.join(garbage, 'onnx', 'model.onnx'), 'not a protobuf at all');
    expect((await loadError(garbage)).message).toMatch(/is not a readable ONNX model/);
  });

  it('refuses a graph that is not a BERT encoder, saying what it found', async () => {
    const dir = copyFixture('not-bert');
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'bag_of_words',
        input: ['input_ids', 'attention_mask'].map((name) => ({ name, type: { tensorType: { elemType: 7 } } })),
        output: [{ name: 'logits', type: { tensorType: { elemType: 1 } } }],
        initializer: [{ name: 'table', dims: [122, 2], dataType: 1, floatData: new Array(244).fill(0.5) }],
        node: [
          { opType: 'Gather', input: ['table', 'input_ids'], output: ['emb'] },
          { opType: 'ReduceMean', input: ['emb'], output: ['logits'], attribute: [{ name: 'axes', type: 7, ints: [1] }, { name: 'keepdims', type: 2, i: 0 }] },
        ],
      },
    });
    saveModelProto(model, path.join(dir, 'onnx', 'model.onnx'));
    const work = path.join(tmp, 'not-bert-work');
    const err = await loadError(dir, work);
    expect(err.message).toMatch(/does not look like a BERT encoder: expected one self-attention Softmax/);
    expect(err.message).toContain('found 0 self-attention Softmax node(s) (0 Softmax in all), 0 LayerNorm(s)');
    expect(err.message).toContain('inputs [input_ids, attention_mask], outputs [logits]');
    expect(fs.existsSync(work)).toBe(false);
    // And buildCache leaves no half-made cache folder behind.
    const out = path.join(tmp, 'not-bert-cache');
    const cacheErr = await buildCache({ teacherDir: dir, task: 'sst2', dataDir: writeSst2(path.join(tmp, 'd'), 5), split: 'train', outDir: out, maxLength: 16, notice: quiet }).catch((e) => e);
    expect(cacheErr).toBeInstanceOf(UserError);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('names the missing graph inputs', async () => {
    const dir = copyFixture('no-mask');
    const file = path.join(dir, 'onnx', 'model.onnx');
    const model = loadModelProto(file);
    const g = model.graph!;
    g.input = g.input!.map((v) => (v.name === 'attention_mask' ? { ...v, name: 'mask' } : v));
    for (const n of g.node!) n.input = n.input!.map((i) => (i === 'attention_mask' ? 'mask' : i));
    saveModelProto(model, file);
    expect((await loadError(dir)).message).toMatch(/lacks the input\(s\) attention_mask; it has \[input_ids, mask, token_type_ids\]/);
  });

  it('refuses a tokenizer whose vocabulary does not match the model', async () => {
    const dir = copyFixture('short-vocab');
    const vocab = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').trim().split('\n');
    fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.slice(0, -3).join('\n') + '\n');
    expect((await loadError(dir)).message).toBe(`teacher folder ${dir}: the tokenizer has ${vocab.length - 3} tokens but config.json says vocab_size ${vocab.length}`);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    delete config.vocab_size;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    expect((await loadError(dir)).message).toMatch(new RegExp(`word embedding has ${vocab.length} rows but the tokenizer in .* has ${vocab.length - 3} tokens`));
  });

  it('names a bad config.json key', async () => {
    const dir = copyFixture('bad-config');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    config.num_hidden_layers = 'three';
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    expect((await loadError(dir)).message).toBe(`${path.join(dir, 'config.json')}: "num_hidden_layers" (or "n_layers" / "n_layer" / "num_layers") must be a positive integer, got "three"`);
  });

  it('refuses sequences longer than max_position_embeddings', async () => {
    const teacher = await Teacher.load(fixtureDir(17), { hiddenLayers: [], attention: 'none', notice: quiet });
    try {
      const b = referenceBatch(readReference(17));
      const long = { ...b, seqLen: 41, inputIds: new Int32Array(3 * 41), attentionMask: new Int32Array(3 * 41).fill(1), tokenTypeIds: new Int32Array(3 * 41) };
      await expect(teacher.run(long)).rejects.toThrow(/sequence length 41, longer than the teacher takes: 40 by its position table; lower --max-length to at most 40/);
    } finally {
      await teacher.dispose();
    }
    const err = await buildCache({ teacherDir: fixtureDir(17), task: 'sst2', dataDir: path.join(tmp, 'd'), split: 'train', outDir: path.join(tmp, 'long'), maxLength: 64, notice: quiet }).catch((e) => e);
    expect(err.message).toBe("maxLength 64 is longer than the teacher's max_position_embeddings 40");
  });
});
