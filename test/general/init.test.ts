import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type BertTokenizer } from '../../src/data/tokenizer.ts';
import { generalStudentConfig } from '../../src/general/general.ts';
import { isEncoderParam, shapeDifferences, studentFromInitFolder, vocabularyDifference } from '../../src/general/init.ts';
import type { BertConfig } from '../../src/student/config.ts';
import { saveStudentFolder } from '../../src/student/folder.ts';
import { Student } from '../../src/student/model.ts';
import { isUserError } from '../../src/util/errors.ts';
import { useCpu } from '../distill/helpers.ts';

const teacherDir = fileURLToPath(new URL('../fixtures/tiny-bert-opset17', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'general-init-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let tok: BertTokenizer;
let general: BertConfig;
const generalDir = path.join(tmp, 'general-student');

/** The task student: same shape as the general one, 3 labels. */
function taskConfig(over: Partial<BertConfig> = {}): BertConfig {
  return { ...general, num_labels: 3, id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 }, ...over };
}

async function userError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (x) => x);
  expect(isUserError(e), String(e)).toBe(true);
  expect((e as Error).message).toMatch(pattern);
}

beforeAll(async () => {
  await useCpu();
  tok = await loadTokenizer(teacherDir);
  general = generalStudentConfig({ hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 24 }, tok.vocabSize);
  const s = Student.create(general, 5);
  await saveStudentFolder(s, tok, generalDir);
  s.dispose();
});

describe('a task student from a general student folder', () => {
  it('takes every encoder and pooler weight, and a fresh classifier with the task labels', async () => {
    const saved = Student.create(general, 5);
    const s = await studentFromInitFolder(generalDir, taskConfig(), tok.tokenizerJson, 9);
    try {
      expect(s.config.num_labels).toBe(3);
      expect(s.params.get('classifier.weight')!.shape).toEqual([8, 3]);
      for (const [name, v] of s.params) {
        if (!isEncoderParam(name)) continue;
        expect(Array.from(v.dataSync()), name).toEqual(Array.from(saved.params.get(name)!.dataSync()));
      }
      expect(isEncoderParam('pooler.dense.weight')).toBe(true);
      expect(isEncoderParam('classifier.bias')).toBe(false);
    } finally {
      s.dispose();
      saved.dispose();
    }
  });

  it('refuses a folder of another shape, naming each differing key', async () => {
    await userError(studentFromInitFolder(generalDir, taskConfig({ hidden_size: 16 }), tok.tokenizerJson, 1), /does not match the student's shape: hidden_size is 8 there but 16 in the student config/);
    expect(shapeDifferences(general, taskConfig({ num_hidden_layers: 2, max_position_embeddings: 40 }))).toEqual([
      'num_hidden_layers is 1 there but 2 in the student config',
      'max_position_embeddings is 24 there but 40 in the student config',
    ]);
  });

  it('refuses a folder trained on another vocabulary, naming the first differing token', async () => {
    const json = structuredClone(tok.tokenizerJson) as { model: { vocab: Record<string, number> } };
    const vocab = json.model.vocab;
    const [a, b] = ['movie', 'film'];
    [vocab[a], vocab[b]] = [vocab[b], vocab[a]];
    await userError(studentFromInitFolder(generalDir, taskConfig(), json, 1), /was trained on another vocabulary: token id \d+ is "(movie|film)" there but "(film|movie)"/);
    expect(vocabularyDifference({ x: 0, y: 1 }, { x: 0 })).toBe("2 tokens there, 1 in the run's tokenizer");
    expect(vocabularyDifference({ x: 0 }, { x: 0 })).toBeUndefined();
  });

  it('refuses a folder that is not a student folder', async () => {
    await userError(studentFromInitFolder(path.join(tmp, 'nothing'), taskConfig(), tok.tokenizerJson, 1), /--init .*nothing: config.json not found/);
    const noTok = path.join(tmp, 'no-tokenizer');
    fs.cpSync(generalDir, noTok, { recursive: true });
    fs.rmSync(path.join(noTok, 'tokenizer.json'));
    await userError(studentFromInitFolder(noTok, taskConfig(), tok.tokenizerJson, 1), /tokenizer.json not found/);
  });
});
