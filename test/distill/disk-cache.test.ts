import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCache } from '../../src/cache/writer.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { loadTokenizer } from '../../src/data/tokenizer.ts';
import { predictionMatches } from '../../src/distill/losses.ts';
import { mappingMatches, uniformMap } from '../../src/distill/mapping.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';
import { sha256File } from '../../src/util/hash.ts';
import { Rng } from '../../src/util/rng.ts';
import { tinyConfig, useCpu } from './helpers.ts';

/** The trainer on a real on-disk cache built by src/cache from the tiny ONNX BERT fixture (3 layers). */
const teacherDir = fileURLToPath(new URL('../fixtures/tiny-bert-opset17', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-disk-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeData(dir: string, n: number): string {
  const words = 'the movie film story good great bad awful fun boring love hate very really'.split(' ');
  const rng = new Rng(3);
  const lines = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) lines.push(`${Array.from({ length: 2 + rng.int(10) }, () => words[rng.int(words.length)]).join(' ')}\t${rng.int(2)}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'train.tsv'), lines.join('\n') + '\n');
  return dir;
}

describe('train from an on-disk teacher cache', () => {
  const dataDir = writeData(path.join(tmp, 'data'), 24);
  const cacheDir = path.join(tmp, 'cache');
  const task = loadTask('sst2');
  let opts: TrainOptions;

  beforeAll(async () => {
    await useCpu();
    // Stored: hidden 0 (embeddings) and 3, attention of encoder layer 3 only: what uniformMap(3, 1) needs.
    await buildCache({ teacherDir, task: 'sst2', dataDir, split: 'train', outDir: cacheDir, maxLength: 24, batchSize: 8, hiddenLayers: [0, 3], attentionLayers: [3], dtype: 'float32', intraOpThreads: 1, notice: () => {} });
    const tok = await loadTokenizer(teacherDir);
    const ex = readSplit(task, dataDir, 'train');
    opts = {
      task,
      studentConfig: tinyConfig({ vocab_size: tok.vocabSize, hidden_size: 16, num_attention_heads: 2, max_position_embeddings: 24, id2label: { 0: 'negative', 1: 'positive' }, label2id: { negative: 0, positive: 1 } }),
      train: { encoded: ex.map((e) => tok.encode(e.textA, e.textB, 24)), labels: ex.map((e) => e.label) },
      teachers: [{ cacheDir }],
      cacheFingerprint: { dataSha256: sha256File(path.join(dataDir, 'train.tsv')) },
      batchSize: 8,
      seed: 1,
      stages: [
        { name: 'intermediate', steps: 3, lr: 1e-3, matches: mappingMatches(uniformMap(3, 1)) },
        { name: 'prediction', steps: 3, lr: 1e-3, matches: predictionMatches({ regression: false }) },
      ],
    };
  });

  it('trains both stages with projections 16→32 wide and 2→4 heads', async () => {
    const res = await train(opts);
    expect(res.steps).toBe(6);
    expect(Number.isFinite(res.finalLoss)).toBe(true);
  });

  it('starts from a student folder (initFolder) and continues its weights', async () => {
    const { Student } = await import('../../src/student/model.ts');
    const { saveStudentFolder } = await import('../../src/student/folder.ts');
    const start = Student.create(opts.studentConfig!, 99);
    const folder = path.join(tmp, 'student-init');
    await saveStudentFolder(start, teacherDir, folder);
    const res = await train({ ...opts, studentConfig: undefined, initFolder: folder, stages: [{ ...opts.stages[1], steps: 1, lr: 1e-9 }] });
    const a = res.student.params.get('embeddings.word_embeddings.weight')!.dataSync();
    const b = start.params.get('embeddings.word_embeddings.weight')!.dataSync();
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeLessThan(1e-6);
    await expect(train({ ...opts, initFolder: folder })).rejects.toThrow(/exactly one of studentConfig, initFolder or initStudent/);
  });

  it('names the mismatching fingerprint field and a layer the cache lacks', async () => {
    await expect(train({ ...opts, cacheFingerprint: { dataSha256: 'f'.repeat(64) } })).rejects.toThrow(/data file/);
    const deeper = [{ feature: 'attention' as const, layerS: 0, layerT: 0, loss: 'attention_mse' as const, weight: 1 }];
    await expect(train({ ...opts, stages: [{ name: 'i', steps: 1, lr: 1e-3, matches: deeper }] })).rejects.toThrow(/does not store the attention of encoder layer 1 .*stored layers: 3/);
  });
});
