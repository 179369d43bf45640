/**
 * Teacher-cache benchmark (not a test).
 *
 * 1. Throughput: buildCache over N examples vs a bare session.run loop over the same batches and
 *    the same outputs (same model file, same threads), best of three rounds each. Target >= 0.9x.
 * 2. Memory: peak RSS while caching a large split (default 100k synthetic sentences); it should
 *    stay flat because shards stream to disk.
 *
 * The teacher is a random-weight BERT built with the project's ONNX exporter (default 4 layers,
 * hidden 256, 4 heads, FFN 1024), over the tiny fixture vocabulary.
 *
 *   npx tsx scripts/bench-teacher.ts [--compare 2000] [--examples 100000] [--threads 2]
 *        [--layers 4] [--hidden 256] [--heads 4] [--batch 32] [--max-length 64] [--rss-layers 0,4]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { collate, encodeExamples } from '../src/data/batching.ts';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import { loadTokenizer } from '../src/data/tokenizer.ts';
import { buildOnnxModel } from '../src/export/bert-graph.ts';
import type { WeightMap } from '../src/export/weights.ts';
import type { BuildInfo } from '../src/cache/format.ts';
import { planCache } from '../src/cache/plan.ts';
import { buildCache } from '../src/cache/writer.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../src/student/config.ts';
import { allParamNames } from '../src/student/param-names.ts';
import { createSession } from '../src/teacher/session.ts';
import { Rng } from '../src/util/rng.ts';

const { values: args } = parseArgs({
  options: {
    compare: { type: 'string', default: '2000' },
    examples: { type: 'string', default: '100000' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    layers: { type: 'string', default: '4' },
    hidden: { type: 'string', default: '256' },
    heads: { type: 'string', default: '4' },
    batch: { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '64' },
    'rss-layers': { type: 'string', default: '' },
  },
});
const threads = Number(args.threads);
const numLayers = Number(args.layers);
const batchSize = Number(args.batch);
const maxLength = Number(args['max-length']);
const fixture = path.resolve(import.meta.dirname, '../test/fixtures/tiny-bert-opset17');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-teacher-'));
const quiet = () => {};

function makeTeacher(): string {
  const dir = path.join(root, 'teacher');
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  fs.copyFileSync(path.join(fixture, 'vocab.txt'), path.join(dir, 'vocab.txt'));
  const vocab = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').trim().split('\n').length;
  const H = Number(args.hidden);
  const config: BertConfig = {
    ...DEFAULT_BERT_CONFIG,
    vocab_size: vocab,
    hidden_size: H,
    num_hidden_layers: numLayers,
    num_attention_heads: Number(args.heads),
    intermediate_size: 4 * H,
    max_position_embeddings: 512,
    num_labels: 2,
    problem_type: 'single_label_classification',
    id2label: { 0: 'negative', 1: 'positive' },
    label2id: { negative: 0, positive: 1 },
  };
  const rng = new Rng(5);
  const shapes: Record<string, number[]> = {};
  const weights: WeightMap = new Map();
  for (const name of allParamNames(numLayers)) {
    const s = shapeOf(name, config);
    shapes[name] = s;
    const data = new Float32Array(s.reduce((a, b) => a * b, 1));
    const ln = name.includes('LayerNorm');
    for (let i = 0; i < data.length; i++) data[i] = ln && name.endsWith('weight') ? 1 : 0.05 * rng.normal();
    weights.set(name, { shape: s, data });
  }
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), buildOnnxModel(config, weights));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

function shapeOf(name: string, c: BertConfig): number[] {
  const H = c.hidden_size;
  const I = c.intermediate_size;
  if (name === 'embeddings.word_embeddings.weight') return [c.vocab_size, H];
  if (name === 'embeddings.position_embeddings.weight') return [c.max_position_embeddings, H];
  if (name === 'embeddings.token_type_embeddings.weight') return [c.type_vocab_size, H];
  if (name === 'classifier.weight') return [H, c.num_labels];
  if (name === 'classifier.bias') return [c.num_labels];
  if (name.includes('intermediate.dense.weight')) return [H, I];
  if (name.includes('intermediate.dense.bias')) return [I];
  if (/layer\.\d+\.output\.dense\.weight/.test(name)) return [I, H];
  return name.endsWith('.weight') && !name.includes('LayerNorm') ? [H, H] : [H];
}

const WORDS = 'the movie film story plot acting good great bad awful fun boring love hate best worst very really so too more most one two some all of in on at to for with by from as'.split(' ');

function writeData(name: string, n: number): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(11);
  const fd = fs.openSync(path.join(dir, 'train.tsv'), 'w');
  fs.writeSync(fd, 'sentence\tlabel\n');
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 3 + rng.int(30) }, () => WORDS[rng.int(WORDS.length)]);
    fs.writeSync(fd, `${words.join(' ')}\t${rng.int(2)}\n`);
  }
  fs.closeSync(fd);
  return dir;
}

/** The same batches buildCache ran, through the same modified model, with nothing written. */
async function bareLoop(teacherDir: string, dataDir: string, cacheDir: string): Promise<{ wall: number; cpu: number }> {
  const info: BuildInfo = JSON.parse(fs.readFileSync(path.join(cacheDir, 'build.json'), 'utf8'));
  const tok = await loadTokenizer(teacherDir);
  const encoded = encodeExamples(tok, readSplit(loadTask('sst2'), dataDir, 'train'), maxLength);
  const lengths = encoded.map((e) => e.inputIds.length);
  const batches = planCache(lengths, batchSize, info.layout, info.fingerprint.shardBytes).shards.flatMap((s) => s.batches).map((b) => collate(encoded, b));
  const session = await createSession(path.join(cacheDir, 'teacher-features.onnx'), { provider: 'cpu', intraOpThreads: threads });
  const meter = new Meter();
  for (const b of batches) {
    const dims = [b.size, b.seqLen];
    await session.run({
      input_ids: { data: b.inputIds, dims, type: 'int64' },
      attention_mask: { data: b.attentionMask, dims, type: 'int64' },
      token_type_ids: { data: b.tokenTypeIds, dims, type: 'int64' },
    });
    meter.batch(b.size);
  }
  await session.release();
  return meter.rates();
}

/**
 * Steady-state rates from the end of the first batch (warm-up excluded) to the last: examples per
 * wall second and per CPU second of the whole process (the fairer figure on a shared machine).
 */
class Meter {
  private start?: { t: number; cpu: number };
  private last = { t: 0, cpu: 0 };
  private examples = 0;
  batch(size: number): void {
    const now = { t: performance.now() / 1000, cpu: cpuSeconds() };
    if (!this.start) this.start = now;
    else this.examples += size;
    this.last = now;
  }
  rates(): { wall: number; cpu: number } {
    const s = this.start!;
    return { wall: this.examples / (this.last.t - s.t), cpu: this.examples / (this.last.cpu - s.cpu) };
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const teacherDir = makeTeacher();
  const compareN = Number(args.compare);
  const compareData = writeData('compare', compareN);
  console.log(`teacher: ${numLayers} layers, hidden ${args.hidden}, ${args.heads} heads; batch ${batchSize}, max length ${maxLength}, ${threads} threads, ${compareN} examples`);
  const cacheOpts = { teacherDir, task: 'sst2', dataDir: compareData, split: 'train', maxLength, batchSize, intraOpThreads: threads, provider: 'cpu' as const, notice: quiet, force: true };
  const bare = { wall: 0, cpu: 0 };
  const cached = { wall: 0, cpu: 0 };
  const best = (into: { wall: number; cpu: number }, r: { wall: number; cpu: number }) => {
    into.wall = Math.max(into.wall, r.wall);
    into.cpu = Math.max(into.cpu, r.cpu);
  };
  for (let round = 0; round < 3; round++) {
    const outDir = path.join(root, `cache-${round}`);
    const meter = new Meter();
    let last = 0;
    await buildCache({ ...cacheOpts, outDir, onProgress: (p) => (meter.batch(p.done - last), (last = p.done)) });
    best(cached, meter.rates());
    best(bare, await bareLoop(teacherDir, compareData, outDir));
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  const show = (r: { wall: number; cpu: number }) => `${r.wall.toFixed(0)} ex/s (${r.cpu.toFixed(0)} ex per CPU-second)`;
  console.log(`all layers + attention scores, float16: cache ${show(cached)}, bare session.run ${show(bare)}`);
  console.log(`ratio cache/bare: ${(cached.wall / bare.wall).toFixed(3)} by wall time, ${(cached.cpu / bare.cpu).toFixed(3)} by CPU time`);

  const n = Number(args.examples);
  const bigData = writeData('big', n);
  const layers = args['rss-layers'] ? args['rss-layers'].split(',').map(Number) : [0, numLayers];
  const samples: { done: number; rss: number }[] = [];
  let next = 0;
  const t0 = performance.now();
  const result = await buildCache({
    ...cacheOpts,
    dataDir: bigData,
    outDir: path.join(root, 'big-cache'),
    layers,
    onProgress: (p) => {
      if (p.done >= next) {
        samples.push({ done: p.done, rss: process.memoryUsage().rss });
        next += Math.ceil(n / 20);
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  const peak = Math.max(...samples.map((s) => s.rss));
  console.log(`${n} examples, layers [${layers.join(', ')}]: ${seconds.toFixed(0)} s in all (${result.examplesPerSecond.toFixed(0)} ex/s in the teacher loop), ${(result.estimatedBytes / 1e9).toFixed(2)} GB`);
  console.log(`RSS at ${samples.map((s) => `${Math.round((100 * s.done) / n)}%: ${mb(s.rss)}`).join(', ')}; peak ${mb(peak)}`);
  fs.rmSync(root, { recursive: true, force: true });
}

await main();
