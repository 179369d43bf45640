import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadStudentFolder, saveStudentFolder } from '../../src/student/folder.ts';
import { Student } from '../../src/student/model.ts';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import { inputsFrom, tinyConfig, useCpu } from './helpers.ts';

beforeAll(useCpu);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'student-'));

/** A tokenizer folder with a minimal tokenizer.json of 20 ids and a tokenizer_config.json. */
function tokenizerFolder(): string {
  const dir = tmp();
  const vocab = Object.fromEntries(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'abcdefghijklmno'].map((t, i) => [t, i]));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab } }));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertTokenizer' }));
  return dir;
}

describe('student folder', () => {
  it('saves config.json, HF-layout model.safetensors and tokenizer files, and loads them back', async () => {
    const student = Student.create(tinyConfig(), 11);
    const out = path.join(tmp(), 'student');
    await saveStudentFolder(student, tokenizerFolder(), out);
    expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['student']); // no temp folder left

    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'a', 1: 'b', 2: 'c' });
    expect(config.label2id).toEqual({ a: 0, b: 1, c: 2 });
    expect(config.hidden_size).toBe(8);

    const { tensors } = readSafetensors(path.join(out, 'model.safetensors'));
    expect(tensors.has('bert.embeddings.word_embeddings.weight')).toBe(true);
    expect(tensors.has('classifier.weight')).toBe(true);
    // Dense kernels are [out, in] in the file: classifier [3, 8], intermediate [12, 8]; tfjs holds [8, 3].
    expect(tensors.get('classifier.weight')!.shape).toEqual([3, 8]);
    expect(tensors.get('bert.encoder.layer.0.intermediate.dense.weight')!.shape).toEqual([12, 8]);
    const tfjsKernel = student.params.get('classifier.weight')!.arraySync() as number[][];
    const fileKernel = tensors.get('classifier.weight')!.data as Float32Array;
    expect(fileKernel[2 * 8 + 5]).toBe(tfjsKernel[5][2]); // file[out=2][in=5] == tfjs[in=5][out=2]

    const loaded = await loadStudentFolder(out);
    expect(loaded.config).toMatchObject(tinyConfig({ architectures: ['BertForSequenceClassification'] }));
    for (const [name, v] of student.params) expect(Array.from(loaded.params.get(name)!.dataSync()), name).toEqual(Array.from(v.dataSync()));
    const inputs = inputsFrom([[2, 3, 4]]);
    expect(Array.from(loaded.forward(inputs, { training: false }).logits.dataSync())).toEqual(
      Array.from(student.forward(inputs, { training: false }).logits.dataSync()),
    );
    loaded.dispose();

    // An existing folder is kept unless forced.
    await expect(saveStudentFolder(student, tokenizerFolder(), out)).rejects.toThrow(/already exists/);
    await saveStudentFolder(student, { tokenizerJson: {}, tokenizerConfig: {} }, out, { force: true });
    expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    student.dispose();
  });

  it('refuses a tokenizer with more ids than the vocabulary', async () => {
    const student = Student.create(tinyConfig({ vocab_size: 10 }), 1);
    await expect(saveStudentFolder(student, tokenizerFolder(), path.join(tmp(), 's'))).rejects.toThrow(/ids up to 19, beyond the student's vocab_size 10/);
  });

  it('names the tensor whose shape disagrees with config.json', async () => {
    const student = Student.create(tinyConfig(), 2);
    const out = path.join(tmp(), 's');
    await saveStudentFolder(student, tokenizerFolder(), out);
    const configFile = path.join(out, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    fs.writeFileSync(configFile, JSON.stringify({ ...config, intermediate_size: 16 }));
    await expect(loadStudentFolder(out)).rejects.toThrow(
      /model\.safetensors: tensor "bert\.encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[12,8\], config\.json implies \[16,8\]/,
    );
    fs.writeFileSync(configFile, JSON.stringify(config));
    const weightsFile = path.join(out, 'model.safetensors');
    const { tensors } = readSafetensors(weightsFile);
    tensors.delete('bert.pooler.dense.bias');
    writeSafetensors(weightsFile, tensors);
    await expect(loadStudentFolder(out)).rejects.toThrow(/tensor "bert\.pooler\.dense\.bias" is missing/);
    fs.writeFileSync(configFile, JSON.stringify({ ...config, hidden_size: 'big' }));
    await expect(loadStudentFolder(out)).rejects.toThrow(/"hidden_size" must be an integer/);
    await expect(loadStudentFolder(tmp())).rejects.toThrow(/config\.json not found/);
  });
});
