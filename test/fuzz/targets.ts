/**
 * Fuzz targets: every parser of an untrusted file, fed one input (bytes). The property, checked by the
 * fast-check suite (test/fuzz/parsers.test.ts) and the coverage-guided run (scripts/fuzz.ts), is that
 * any input either parses or raises UserError (exit 1 at the CLI) — never another exception (exit 2),
 * a hang or an out-of-memory. Each target writes its input where the reader expects a file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INDEX_ENTRY_BYTES, CACHE_FORMAT, CACHE_VERSION, recordBytes, type CacheLayout } from '../../src/cache/format.ts';
import { openCache } from '../../src/cache/reader.ts';
import { loadConfig } from '../../src/cli/config-load.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { loadTokenizer } from '../../src/data/tokenizer.ts';
import type { TaskSpec } from '../../src/data/types.ts';
import { tokenizerVocabSize } from '../../src/io/hf-files.ts';
import { decodeSafetensors, toFloat32 } from '../../src/io/safetensors.ts';
import { GraphIndex } from '../../src/onnx/graph.ts';
import { decodeModelProto, externalDataIn } from '../../src/onnx/proto.ts';
import { readStudentConfig } from '../../src/student/folder.ts';
import { readTeacherConfig } from '../../src/teacher/folder.ts';
import { checkBertInputs, findBertStructure } from '../../src/teacher/structure.ts';
import { isUserError } from '../../src/util/errors.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Seed inputs and crashers found so far (regression fixtures), one folder per target. */
export const CORPUS_DIR = path.join(ROOT, 'test/fixtures/fuzz');

export interface FuzzTarget {
  name: string;
  /** What the input is, for the README and --help. */
  input: string;
  /** The parser's own source files (relative to the repository), for the coverage figure of a long run. */
  sources: string[];
  /** How many files one input holds, separated by NUL bytes (default 1). */
  parts?: number;
  run(data: Uint8Array): void | Promise<void>;
  /** Seed inputs built from the repository's own fixtures (the corpus folder adds more). */
  seeds(): Uint8Array[];
}

let scratch: string | undefined;
/** A fresh empty folder per input, under one temp folder removed at exit. */
function freshDir(): string {
  if (!scratch) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-fuzz-'));
    const root = scratch;
    process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  }
  const dir = path.join(scratch, 'in');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  return dir;
}

function writeIn(name: string, data: Uint8Array): string {
  const dir = freshDir();
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
  return dir;
}

/** Splits one input into parts at NUL bytes (several files from one input). */
export function splitParts(data: Uint8Array, n: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < n - 1; i++) {
    const at = data.indexOf(0, start);
    if (at < 0) break;
    parts.push(data.subarray(start, at));
    start = at + 1;
  }
  parts.push(data.subarray(start));
  while (parts.length < n) parts.push(new Uint8Array(0));
  return parts;
}

export const joinParts = (...parts: (string | Uint8Array)[]): Uint8Array =>
  Buffer.concat(parts.flatMap((p, i) => [Buffer.from(p), ...(i < parts.length - 1 ? [Buffer.from([0])] : [])]));

const text = (s: string) => new Uint8Array(Buffer.from(s));
const fixture = (...p: string[]) => new Uint8Array(fs.readFileSync(path.join(ROOT, 'test/fixtures', ...p)));

const CSV_TASK: TaskSpec = {
  name: 'reviews', displayName: 'reviews', labels: ['neg', 'pos'], metrics: ['accuracy'], devSplit: 'dev', format: 'csv',
  splits: { dev: { file: 'dev.csv', header: true, textA: 'text', textB: 'context', label: 'label' } },
};
const JSONL_TASK: TaskSpec = {
  name: 'reviews', displayName: 'reviews', labels: ['0', '1'], metrics: ['accuracy'], devSplit: 'dev', format: 'jsonl',
  splits: { dev: { file: 'dev.jsonl', header: false, textA: 'text', textB: 'pair', label: 'label' } },
};

/** A small, valid teacher cache: 2 examples of 3 tokens in one shard; the input replaces manifest and index. */
const CACHE_LAYOUT: CacheLayout = { numLabels: 2, hiddenSize: 4, numHeads: 1, numLayers: 1, dtype: 'float32', logits: true, hiddenLayers: [1], attentionLayers: [1], scores: true, probs: false };
const RECORD = recordBytes(CACHE_LAYOUT, 3);
function validManifest(): Record<string, unknown> {
  return {
    fingerprint: { format: CACHE_FORMAT, version: CACHE_VERSION, numExamples: 2 },
    layout: CACHE_LAYOUT,
    index: { file: 'index.bin', crc32: '', entryBytes: INDEX_ENTRY_BYTES },
    shards: [{ file: 'shards/shard-000000.bin', examples: 2, bytes: 2 * RECORD, crc32: '' }],
    complete: true,
    providers: ['cpu'],
    totalBytes: 2 * RECORD,
  };
}
function validIndex(): Uint8Array {
  const b = Buffer.alloc(2 * INDEX_ENTRY_BYTES);
  for (let i = 0; i < 2; i++) {
    b.writeUInt32LE(0, i * 16);
    b.writeUInt32LE(3, i * 16 + 4);
    b.writeDoubleLE(i * RECORD, i * 16 + 8);
  }
  return b;
}

const VALID_TEACHER_CONFIG = JSON.stringify({ hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 64, vocab_size: 100, id2label: { 0: 'neg', 1: 'pos' } });
const VALID_STUDENT_CONFIG = JSON.stringify({
  vocab_size: 100, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64, type_vocab_size: 2, id2label: { 0: 'neg', 1: 'pos' }, num_labels: 2,
});

export const TARGETS: FuzzTarget[] = [
  {
    name: 'tsv',
    sources: ['src/data/reader.ts', 'src/data/lines.ts'],
    input: 'a GLUE SST-2 dev.tsv',
    run: (d) => void readSplit(loadTask('sst2'), writeIn('dev.tsv', d), 'dev'),
    seeds: () => [text('sentence\tlabel\ngood movie\t1\nbad\t0\n'), text('sentence\tlabel\n\ufeffx\t2\n\n')],
  },
  {
    name: 'csv',
    sources: ['src/data/reader.ts', 'src/data/lines.ts', 'src/data/csv.ts'],
    input: 'a user task dev.csv (RFC 4180, header)',
    run: (d) => void readSplit(CSV_TASK, writeIn('dev.csv', d), 'dev'),
    seeds: () => [text('label,text,context\npos,"good, really","she said ""wow"""\r\nneg,"two\nlines",\n')],
  },
  {
    name: 'jsonl',
    sources: ['src/data/reader.ts', 'src/data/lines.ts'],
    input: 'a user task dev.jsonl',
    run: (d) => void readSplit(JSONL_TASK, writeIn('dev.jsonl', d), 'dev'),
    seeds: () => [text('{"text":"fine","label":1}\n\n{"text":"bad","pair":"x","label":"0"}\n')],
  },
  {
    name: 'tokenizer-json',
    sources: ['src/data/tokenizer.ts', 'src/data/bert-tokenizer.ts', 'src/io/hf-files.ts', 'src/io/confine.ts', 'src/util/limits.ts'],
    input: 'tokenizer.json, NUL, tokenizer_config.json',
    parts: 2,
    async run(d) {
      const [json, config] = splitParts(d, 2);
      const dir = writeIn('tokenizer.json', json);
      if (config.length) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), config);
      try {
        tokenizerVocabSize(path.join(dir, 'tokenizer.json'));
      } catch (e) {
        if (!isUserError(e)) throw e;
      }
      const tok = await loadTokenizer(dir);
      tok.tokenizeToIds('the movie was good, naïve 東京 🙂');
    },
    seeds: () => [joinParts(fixture('encoders/bert/tokenizer.json'), fixture('encoders/bert/tokenizer_config.json'))],
  },
  {
    name: 'vocab-txt',
    sources: ['src/data/tokenizer.ts', 'src/data/tokenizer-json.ts', 'src/data/bert-tokenizer.ts', 'src/data/lines.ts'],
    input: 'vocab.txt',
    async run(d) {
      const tok = await loadTokenizer(writeIn('vocab.txt', d));
      tok.tokenizeToIds('the movie was good');
    },
    seeds: () => [fixture('tiny-bert-opset17/vocab.txt')],
  },
  {
    name: 'bpe',
    sources: ['src/data/tokenizer.ts', 'src/data/bert-tokenizer.ts', 'src/data/lines.ts'],
    input: 'vocab.json, NUL, merges.txt, NUL, tokenizer_config.json',
    parts: 3,
    async run(d) {
      const [vocab, merges, config] = splitParts(d, 3);
      const dir = writeIn('vocab.json', vocab);
      fs.writeFileSync(path.join(dir, 'merges.txt'), merges);
      if (config.length) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), config);
      const tok = await loadTokenizer(dir);
      tok.tokenizeToIds('the movie was good');
    },
    seeds: () => [joinParts('{"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"<mask>":4,"t":5,"h":6,"th":7,"e":8,"the":9,"Ġ":10}', '#version: 0.2\nt h\nth e\n', '{"add_prefix_space":false}')],
  },
  {
    name: 'safetensors',
    sources: ['src/io/safetensors.ts', 'src/onnx/float16.ts'],
    input: 'model.safetensors bytes',
    run(d) {
      for (const t of decodeSafetensors(d, 'fuzz.safetensors').tensors.values()) toFloat32(t);
    },
    seeds: () => {
      const header = JSON.stringify({ __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [1, 2], data_offsets: [8, 12] } });
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      return [new Uint8Array(Buffer.concat([len, Buffer.from(header), Buffer.alloc(12, 1)]))];
    },
  },
  {
    name: 'onnx',
    sources: ['src/onnx/proto.ts', 'src/onnx/proto-core.ts', 'src/onnx/graph.ts', 'src/teacher/structure.ts'],
    input: 'model.onnx bytes (protobuf), recognised as a BERT graph',
    run(d) {
      const model = decodeModelProto(d, 'fuzz.onnx');
      const g = new GraphIndex(model.graph!, externalDataIn(freshDir()));
      checkBertInputs(g, 'fuzz.onnx');
      findBertStructure(g, 'fuzz.onnx');
    },
    seeds: () => [fixture('tiny-bert-opset17/onnx/model.onnx')],
  },
  {
    name: 'cache',
    sources: ['src/cache/reader.ts', 'src/cache/format.ts', 'src/cache/records.ts'],
    input: 'teacher cache manifest.json, NUL, index.bin (over a fixed 2-example shard)',
    parts: 2,
    run(d) {
      const [manifest, index] = splitParts(d, 2);
      const dir = writeIn('manifest.json', manifest);
      fs.writeFileSync(path.join(dir, 'index.bin'), index);
      fs.mkdirSync(path.join(dir, 'shards'));
      fs.writeFileSync(path.join(dir, 'shards/shard-000000.bin'), Buffer.alloc(2 * RECORD, 0x3c));
      const cache = openCache(dir);
      try {
        for (let i = 0; i < Math.min(cache.numExamples, 64); i++) cache.readExample(i);
      } finally {
        cache.close();
      }
    },
    seeds: () => [joinParts(JSON.stringify(validManifest()), validIndex())],
  },
  {
    name: 'teacher-config',
    sources: ['src/teacher/folder.ts'],
    input: "a teacher's config.json",
    run: (d) => void readTeacherConfig(path.join(writeIn('config.json', d), 'config.json')),
    seeds: () => [text(VALID_TEACHER_CONFIG), fixture('tiny-bert-opset17/config.json')],
  },
  {
    name: 'student-config',
    sources: ['src/student/folder.ts'],
    input: "a student's config.json",
    run: (d) => void readStudentConfig(path.join(writeIn('config.json', d), 'config.json')),
    seeds: () => [text(VALID_STUDENT_CONFIG)],
  },
  {
    name: 'task-json',
    sources: ['src/data/tasks.ts', 'src/data/task-schema.ts'],
    input: 'a task declaration (tasks/*.json)',
    run: (d) => void loadTask(path.join(writeIn('task.json', d), 'task.json')),
    seeds: () => [fixture('../../tasks/sst2.json'), fixture('../../tasks/mnli.json')],
  },
  {
    name: 'run-config',
    sources: ['src/cli/config-load.ts', 'src/cli/config-schema.ts'],
    input: 'a run config: first byte even = JSON, odd = YAML; the rest is the file',
    run(d) {
      const yaml = d.length > 0 && d[0] % 2 === 1;
      const file = path.join(writeIn(yaml ? 'run.yaml' : 'run.json', d.subarray(1)), yaml ? 'run.yaml' : 'run.json');
      loadConfig({ file, cwd: path.dirname(file) });
    },
    seeds: () => [
      new Uint8Array([0, ...Buffer.from(JSON.stringify({ task: 'sst2', teacher: { dir: 'teacher' }, data: { dir: 'glue/SST-2' }, out: 'runs/x', distill: { stages: [{ name: 'p', steps: 10 }] } }))]),
      new Uint8Array([1, ...Buffer.from('task: sst2\nteacher:\n  dir: teacher\ndata:\n  dir: glue\nout: runs/x\n')]),
    ],
  },
];

export function targetByName(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target "${name}"; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}

/** Seeds plus the kept corpus (test/fixtures/fuzz/<target>/*: crashers found before, interesting inputs). */
export function corpusOf(t: FuzzTarget): Uint8Array[] {
  const dir = path.join(CORPUS_DIR, t.name);
  const kept = fs.existsSync(dir) ? fs.readdirSync(dir).sort().map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f)))) : [];
  return [...t.seeds(), ...kept];
}

/** Runs one input: resolves when it parsed or raised a UserError; rejects (with the input's error) otherwise. */
export async function runOne(t: FuzzTarget, data: Uint8Array): Promise<void> {
  try {
    await t.run(data);
  } catch (e) {
    if (!isUserError(e)) throw e;
  }
}
