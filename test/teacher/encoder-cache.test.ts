/**
 * `distill cache` on the encoder fixtures: teachers of any depth without a config, RoBERTa's real
 * position limit, and graphs whose attention onnxruntime fused away (hidden states and logits only,
 * said in one line and in the manifest).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/reader.ts';
import { TeacherSet, type OpenCacheDir } from '../../src/distill/teachers.ts';
import { runCli, tempDir } from '../cli/helpers.ts';
import { teacherFolder } from './encoders.ts';
import { FIXTURES } from './helpers.ts';

const openDir: OpenCacheDir = (dir) => openCache(dir);

const work = tempDir('encoder-cache-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const SST2 = path.join(FIXTURES, 'glue', 'SST-2');
// A three-class task whose labels run in another order than the fixtures' negative / neutral / positive.
const SENTIMENT = path.join(work, 'sentiment');
fs.mkdirSync(SENTIMENT);
fs.writeFileSync(path.join(SENTIMENT, 'train.tsv'), 'sentence\tlabel\na warm , funny film\tpositive\ndull and lifeless\tnegative\nit is a film\tneutral\n');
const TASK = path.join(work, 'sentiment.json');
fs.writeFileSync(
  TASK,
  JSON.stringify({ name: 'sentiment3', displayName: 'Sentiment3', format: 'tsv', labels: ['positive', 'negative', 'neutral'], metrics: ['accuracy'], devSplit: 'train', splits: { train: { file: 'train.tsv', header: true, textA: 'sentence', label: 'label' } } }),
);
const cache = (teacher: string, out: string, ...more: string[]) =>
  runCli(['cache', '--teacher', teacher, '--task', TASK, '--data', SENTIMENT, '--out', path.join(work, out), '--max-length', '16', '--dtype', 'float32', ...more]);
const manifest = (out: string) => JSON.parse(fs.readFileSync(path.join(work, out, 'cache', 'manifest.json'), 'utf8'));

describe('distill cache on encoder teachers', () => {
  it('a 3-layer teacher without a config is cached (no demand that its depth fit the default student)', async () => {
    const r = await runCli(['cache', '--teacher', path.join(FIXTURES, 'tiny-bert-opset17'), '--task', 'sst2', '--data', SST2, '--out', path.join(work, 'three'), '--max-length', '16']);
    expect(r.err).not.toMatch(/multiple/);
    expect(r.code).toBe(0);
    expect(manifest('three').layout.hiddenLayers).toEqual([0, 1, 2, 3]);
  });

  it("RoBERTa: --max-length is checked against the position table less padding_idx + 1", async () => {
    const dir = teacherFolder('roberta', 'ts17', work);
    const ok = await cache(dir, 'roberta-ok', '--max-length', '64');
    expect(ok.err).toMatch(/teacher labels matched by name: task label i is teacher class \[2, 0, 1\]\[i\]/);
    expect(ok.code).toBe(0);
    expect(manifest('roberta-ok').fingerprint.labelOrder).toEqual([2, 0, 1]);
    const r = await cache(dir, 'roberta-long', '--max-length', '65');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/maxLength 65 is longer than teacher .* takes: at most 64 tokens \(its position table has 66 rows, of which the first 2 are skipped \(padding_idx \+ 1\)\); lower --max-length/);
    expect(fs.existsSync(path.join(work, 'roberta-long', 'cache', 'build.json'))).toBe(false);
  });

  it('fused attention: hidden states and logits are cached, said in one line and in the manifest', async () => {
    const dir = teacherFolder('bert-legacy-mask', 'ort-fused', work);
    const r = await runCli(['cache', '--teacher', dir, '--task', 'sst2', '--data', SST2, '--out', path.join(work, 'fused'), '--max-length', '16']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/attention is fused into onnxruntime Attention ops, so only hidden states and logits are cached; attention losses will be refused/);
    const m = manifest('fused');
    expect(m.teacher.attentionUnavailable).toBe('fused into onnxruntime Attention ops');
    expect(m.layout.attentionLayers).toEqual([]);
    expect(m.layout.hiddenLayers).toEqual([0, 1, 2, 3]);
    expect(m.layout.logits).toBe(true);
    // Training opens the cache: attention losses are refused up front with the reason, the rest is accepted.
    const expectation = { studentVocabSize: m.tokenizer.vocabSize, numLabels: 2, task: 'sst2' };
    const cacheDir = path.join(work, 'fused', 'cache');
    expect(() => TeacherSet.open([{ cacheDir }], 0, expectation, { hidden: [0, 3], attention: [1], logits: true }, openDir)).toThrow(
      /holds no attention: the teacher's attention is fused into onnxruntime Attention ops; remove the attention losses/,
    );
    TeacherSet.open([{ cacheDir }], 0, expectation, { hidden: [0, 3], attention: [], logits: true }, openDir).close();
  });
});

describe('labels by name', () => {
  it("the teacher's id2label disagreeing with the task's labels is refused without --label-map, and resolved with it", async () => {
    const dir = teacherFolder('bert', 'ts17', work);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.id2label = { 0: 'neg', 1: 'neu', 2: 'pos' };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    const refused = await cache(dir, 'labels-refused');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/labels \[neg, neu, pos\] \(config.json id2label\) do not match the task's labels \[positive, negative, neutral\]: give the correspondence as --label-map/);
    const mapped = await cache(dir, 'labels-mapped', '--label-map', 'neg=negative,neu=neutral,pos=positive');
    expect(mapped.code).toBe(0);
    expect(manifest('labels-mapped').fingerprint.labelOrder).toEqual([2, 0, 1]);
  });
});
