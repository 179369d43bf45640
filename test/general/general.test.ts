import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/reader.ts';
import { buildCache } from '../../src/cache/writer.ts';
import { collate } from '../../src/data/batching.ts';
import { readLog } from '../../src/train/log.ts';
import { exportStudent } from '../../src/export/export.ts';
import { readCorpus } from '../../src/general/corpus.ts';
import { generalDistill, generalTask, type GeneralOptions } from '../../src/general/general.ts';
import { OnlineTeacher } from '../../src/general/online-teacher.ts';
import { corpusWindows } from '../../src/general/windows.ts';
import { loadModelProto, onnx, saveModelProto } from '../../src/onnx/proto.ts';
import { loadTeacherFolder } from '../../src/teacher/folder.ts';
import { isUserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';
import { useCpu } from '../distill/helpers.ts';

/** General distillation end to end on the tiny ONNX BERT fixture (3 layers, hidden 32, 4 heads). */
const teacherDir = fileURLToPath(new URL('../fixtures/tiny-bert-opset17', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'general-e2e-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = () => {};

const WORDS = 'the movie film story plot acting good great bad awful fun boring love hate best worst very really so too'.split(' ');

/** `n` lines of 1..maxWords fixture words, a blank line every 7 lines. */
function writeCorpus(name: string, n: number, maxWords = 30): string {
  const rng = new Rng(11);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(Array.from({ length: 1 + rng.int(maxWords) }, () => WORDS[rng.int(WORDS.length)]).join(' '));
    if (i % 7 === 6) lines.push('');
  }
  const f = path.join(tmp, name);
  fs.writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

const corpusFile = writeCorpus('corpus.txt', 40);
// Student: 1 layer (uniform 3 → 1: hidden 0↔0, 1↔3; attention 0↔2), 16 wide, 2 heads: projections bridge both.
const base = (out: string): GeneralOptions => ({
  teacherDir,
  corpus: { files: [corpusFile] },
  maxLength: 24,
  outDir: path.join(tmp, out),
  student: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 40 },
  steps: 6,
  batchSize: 8,
  lr: 1e-3,
  seed: 3,
  bufferBatches: 2,
  cacheBatchSize: 8,
  intraOpThreads: 1,
  notice: quiet,
});

async function userError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (x) => x);
  expect(isUserError(e), String(e)).toBe(true);
  expect((e as Error).message).toMatch(pattern);
}

beforeAll(async () => {
  await useCpu();
});

describe('online teacher', () => {
  it('gives the same features as a float32 cache built from the same windows', async () => {
    const folder = await loadTeacherFolder(teacherDir);
    const windows = [...corpusWindows(readCorpus({ files: [corpusFile] }), folder.tokenizer, { maxLength: 24, pairs: true })].map((w) => ({ inputIds: w.inputIds, tokenTypeIds: w.tokenTypeIds }));
    expect(windows.some((w) => w.tokenTypeIds.includes(1))).toBe(true);
    const cacheDir = path.join(tmp, 'parity-cache');
    await buildCache({
      teacherDir, task: generalTask(corpusFile), dataDir: tmp, split: 'corpus', outDir: cacheDir, maxLength: 24, batchSize: 8, dtype: 'float32',
      hiddenLayers: [0, 3], attentionLayers: [3], encoded: { examples: windows, dataSha256: 'x' }, noLogits: true, intraOpThreads: 1, notice: quiet,
    });
    const cache = openCache(cacheDir);
    const rows = [0, 1, 2, windows.length - 1];
    const online = await OnlineTeacher.start(folder, collate(windows, rows, undefined, 0), { hiddenLayers: [0, 3], attentionLayers: [3], workDir: path.join(tmp, 'parity-work'), intraOpThreads: 1, notice: quiet });
    try {
      expect(cache.manifest.layout.logits).toBe(false);
      for (const i of rows) {
        const a = online.readExample(i);
        const b = cache.readExample(i);
        expect(a.length).toBe(windows[i].inputIds.length);
        expect(a.hidden).toEqual(b.hidden);
        expect(a.attention).toEqual(b.attention);
      }
    } finally {
      await online.dispose();
      cache.close?.();
    }
  });
});

describe('generalDistill', () => {
  it('auto mode caches a small corpus, trains on intermediate losses only, saves an exportable student', async () => {
    const o = base('cached');
    const r = await generalDistill({ ...o, maxCacheGb: 1 });
    expect(r.mode).toBe('cached');
    expect(r.reason).toMatch(/cached mode \(auto\): teacher cache .* fits the budget/);
    expect(r.steps).toBe(6);
    expect(fs.existsSync(path.join(o.outDir, 'cache', 'manifest.json'))).toBe(true);
    const steps = readLog(path.join(o.outDir, 'general-log.jsonl')).filter((x) => x.type === 'step');
    expect(steps).toHaveLength(6);
    const parts = Object.keys((steps[0] as { parts: Record<string, number> }).parts).sort();
    expect(parts).toEqual(['attention_mse/s0-t2', 'hidden_mse/s0-t0', 'hidden_mse/s1-t3']);
    const exported = path.join(tmp, 'cached-onnx');
    const e = await exportStudent({ studentFolder: r.studentDir, outDir: exported, withIntermediates: true });
    expect(e.files).toContain('onnx/model.onnx');
    expect(JSON.parse(fs.readFileSync(path.join(r.studentDir, 'config.json'), 'utf8'))).toMatchObject({ vocab_size: 122, hidden_size: 16, num_hidden_layers: 1 });
  });

  it('online mode: a run stopped after its checkpoint and resumed ends bit for bit like an uninterrupted one', async () => {
    const whole = await generalDistill({ ...base('online-whole'), mode: 'online', checkpointEvery: 2 });
    expect(whole.mode).toBe('online');
    expect(whole.reason).toMatch(/online mode \(requested\)/);
    const o = { ...base('online-resumed'), mode: 'online' as const, checkpointEvery: 2 };
    // Progress runs before the checkpoint of the same step, so failing at step 3 leaves the one of step 2.
    const stopAt3 = (step: number) => {
      if (step === 3) throw new Error('stopped by the test');
    };
    await expect(generalDistill({ ...o, onProgress: stopAt3 })).rejects.toThrow('stopped by the test');
    expect(fs.existsSync(path.join(o.outDir, 'checkpoints', 'latest.json'))).toBe(true);
    await userError(generalDistill(o), /holds a general-distillation run/);
    const resumed = await generalDistill({ ...o, resume: true });
    expect(resumed.steps).toBe(6);
    const bytes = (r: { studentDir: string }) => fs.readFileSync(path.join(r.studentDir, 'model.safetensors'));
    expect(bytes(resumed).equals(bytes(whole))).toBe(true);
    const events = readLog(path.join(o.outDir, 'general-log.jsonl')).filter((x) => x.type === 'event').map((x) => (x as { message: string }).message);
    expect(events.some((m) => m.startsWith('resumed from'))).toBe(true);
  });

  it('takes an encoder-only teacher (no task head, no logits output) in both modes', async () => {
    const encoderOnly = path.join(tmp, 'encoder-only');
    fs.cpSync(teacherDir, encoderOnly, { recursive: true });
    const file = path.join(encoderOnly, 'onnx', 'model.onnx');
    const model = loadModelProto(file);
    const g = model.graph!;
    const out = (g.node ?? []).find((n) => n.opType === 'Tanh')!.output![0]; // the pooler output instead of logits
    g.output = [onnx.ValueInfoProto.create({ name: out, type: { tensorType: { elemType: 1 } } })];
    saveModelProto(model, file);
    for (const mode of ['online', 'cached'] as const) {
      const r = await generalDistill({ ...base(`encoder-only-${mode}`), teacherDir: encoderOnly, mode, steps: 2 });
      expect(r.mode).toBe(mode);
      expect(Number.isFinite(r.finalLoss)).toBe(true);
    }
  });

  it('refuses an empty corpus, a cache over the budget and a teacher without a BERT encoder', async () => {
    const empty = path.join(tmp, 'empty.txt');
    fs.writeFileSync(empty, '\n\n');
    await userError(generalDistill({ ...base('empty'), corpus: { files: [empty] } }), /corpus is empty/);
    await userError(generalDistill({ ...base('budget'), mode: 'cached', maxCacheGb: 1e-6 }), /--mode cached: the teacher cache .* is above the budget/);
    const notBert = path.join(tmp, 'not-bert');
    fs.cpSync(teacherDir, notBert, { recursive: true });
    saveModelProto(onnx.ModelProto.create({
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
    }), path.join(notBert, 'onnx', 'model.onnx'));
    await userError(generalDistill({ ...base('not-bert-online'), teacherDir: notBert, mode: 'online' }), /does not look like a BERT encoder/);
    await userError(generalDistill({ ...base('bad-bytes'), corpus: { files: [writeBadBytes()] } }), /bad\.txt:3: invalid UTF-8 at byte offset 8/);
  });
});

/** Line 3 starts at byte 6 ("ab\ncd\n"); its third byte is 0xc3 without a continuation byte. */
function writeBadBytes(): string {
  const f = path.join(tmp, 'bad.txt');
  fs.writeFileSync(f, Buffer.concat([Buffer.from('ab\ncd\nxy'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
  return f;
}
