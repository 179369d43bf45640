/**
 * The TinyBERT table for exported models (not a test): teacher vs student (fp32 and int8), all run
 * by onnxruntime-node on the same dev split in one process: parameters, ONNX size on disk, batch-1
 * latency, batch-32 throughput and the task's dev metric. Printed as markdown.
 *
 *   npx tsx scripts/bench-export.ts --teacher <folder> --student <folder> [--task sst2]
 *        [--data ../shared/glue/SST-2] [--split dev] [--threads 1] [--latency 100] [--batch 32] [--max-length 128]
 *
 * --teacher: an HF folder with onnx/model.onnx (its int8 row is built by extracting its weights).
 * --student: an exported folder (onnx/model.onnx [+ model_quantized.onnx]) or a saved student folder
 * (model.safetensors; exported here with int8). Without --teacher/--student, random-weight models
 * of BERT-base shape (12 layers, 768) and TinyBERT4 shape (4 layers, 312, FFN 1200) over the BERT
 * uncased vocabulary are built: speed and size are real, the dev metric is then chance level.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { collate, encodeExamples, planBatches } from '../src/data/batching.ts';
import { readSplit } from '../src/data/reader.ts';
import { loadTask } from '../src/data/tasks.ts';
import { loadTokenizer, saveTokenizer } from '../src/data/tokenizer.ts';
import type { Batch, Example, TaskSpec } from '../src/data/types.ts';
import { buildOnnxModel } from '../src/export/bert-graph.ts';
import { exportStudent } from '../src/export/export.ts';
import { computeTaskMetrics } from '../src/metrics/metrics.ts';
import { loadModelProto, tensorDims } from '../src/onnx/proto.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../src/student/config.ts';
import { expectedShapes, type WeightMap } from '../src/export/weights.ts';
import { hfConfigJson } from '../src/io/hf-files.ts';
import { Rng } from '../src/util/rng.ts';
import { createSession, type OnnxSession } from '../src/teacher/session.ts';
import { extractBertWeights } from '../src/teacher/weights.ts';

const { values: args } = parseArgs({
  options: {
    teacher: { type: 'string' },
    student: { type: 'string' },
    task: { type: 'string', default: 'sst2' },
    data: { type: 'string', default: path.resolve(import.meta.dirname, '../../shared/glue/SST-2') },
    split: { type: 'string' },
    threads: { type: 'string', default: '1' },
    latency: { type: 'string', default: '100' },
    batch: { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '128' },
  },
});
const threads = Number(args.threads);
const batchSize = Number(args.batch);
const maxLength = Number(args['max-length']);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-export-'));
const quiet = () => {};

interface Row {
  name: string;
  folder: string;
  onnx: string;
  params: number;
}

interface Measured extends Row {
  bytes: number;
  latencyMs: { median: number; p90: number };
  throughput: number;
  metrics: Record<string, number>;
  /** Argmax (classification) or score (regression) per example, and the raw logits. */
  predictions: Float64Array;
  logits: Float32Array[];
}

/** Parameters of a BERT graph: from its extracted weights, else every float initializer. */
function countParams(onnxPath: string): number {
  try {
    const { weights } = extractBertWeights(onnxPath);
    let n = 0;
    for (const w of weights.values()) n += w.data.length;
    return n;
  } catch {
    const model = loadModelProto(onnxPath);
    return (model.graph!.initializer ?? []).reduce((a, t) => a + tensorDims(t).reduce((x, y) => x * y, 1), 0);
  }
}

const SHAPES = {
  'bert-base': { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
  tinybert4: { hidden_size: 312, num_hidden_layers: 4, num_attention_heads: 12, intermediate_size: 1200 },
};

/** A random-weight (BERT init, std 0.02) model folder of the given shape; `exported` adds the int8 file. */
async function writeRandomFolder(dir: string, vocabFile: string, shape: keyof typeof SHAPES, numLabels: number, exported = false): Promise<string> {
  const tokenizer = await loadTokenizer(vocabFile);
  const id2label = Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
  const config: BertConfig = {
    ...DEFAULT_BERT_CONFIG, ...SHAPES[shape], vocab_size: tokenizer.vocabSize, num_labels: numLabels,
    problem_type: numLabels === 1 ? 'regression' : 'single_label_classification',
    id2label, label2id: Object.fromEntries(Object.entries(id2label).map(([i, l]) => [l, Number(i)])),
  };
  const rng = new Rng(shape.length);
  const weights: WeightMap = new Map();
  for (const [name, dims] of expectedShapes(config)) {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    const gain = name.includes('LayerNorm') && name.endsWith('.weight');
    for (let i = 0; i < data.length; i++) data[i] = gain ? 1 : 0.02 * rng.normal();
    weights.set(name, { shape: dims, data });
  }
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  saveTokenizer(tokenizer, dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfigJson(config), null, 2));
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), buildOnnxModel(config, weights));
  if (exported) fs.writeFileSync(path.join(dir, 'onnx', 'model_quantized.onnx'), buildOnnxModel(config, weights, { weightFormat: 'int8' }));
  return dir;
}

function readConfig(folder: string): BertConfig {
  return JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as BertConfig;
}

/** Teacher fp32 and, when its weights can be read back, an int8 build of the same weights. */
function teacherRows(folder: string): Row[] {
  const onnx = fs.existsSync(path.join(folder, 'onnx', 'model.onnx')) ? path.join(folder, 'onnx', 'model.onnx') : path.join(folder, 'model.onnx');
  const params = countParams(onnx);
  const rows: Row[] = [{ name: 'teacher fp32', folder, onnx, params }];
  try {
    const { weights, missing } = extractBertWeights(onnx);
    if (missing.length === 0) {
      const int8 = path.join(root, 'teacher-int8.onnx');
      fs.writeFileSync(int8, buildOnnxModel(readConfig(folder), weights, { weightFormat: 'int8' }));
      rows.push({ name: 'teacher int8', folder, onnx: int8, params });
    }
  } catch (e) {
    console.error(`(no int8 teacher row: ${(e as Error).message})`);
  }
  return rows;
}

async function studentRows(folder: string): Promise<Row[]> {
  let exported = folder;
  if (!fs.existsSync(path.join(folder, 'onnx', 'model.onnx'))) {
    exported = path.join(root, 'student-export');
    await exportStudent({ studentFolder: folder, outDir: exported, quantize: true });
  }
  const fp = path.join(exported, 'onnx', 'model.onnx');
  const params = countParams(fp);
  const rows: Row[] = [{ name: 'student fp32', folder: exported, onnx: fp, params }];
  const q = path.join(exported, 'onnx', 'model_quantized.onnx');
  if (fs.existsSync(q)) rows.push({ name: 'student int8', folder: exported, onnx: q, params });
  return rows;
}

function feeds(s: OnnxSession, b: Batch) {
  const dims = [b.size, b.seqLen];
  const f: Record<string, { data: Int32Array; dims: number[]; type: 'int64' }> = {
    input_ids: { data: b.inputIds, dims, type: 'int64' },
    attention_mask: { data: b.attentionMask, dims, type: 'int64' },
  };
  if (s.inputNames.includes('token_type_ids')) f.token_type_ids = { data: b.tokenTypeIds, dims, type: 'int64' };
  return f;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measure(row: Row, task: TaskSpec, examples: Example[]): Promise<Measured> {
  const tokenizer = await loadTokenizer(row.folder);
  const encoded = encodeExamples(tokenizer, examples, maxLength);
  const session = await createSession(row.onnx, { provider: 'cpu', intraOpThreads: threads, notice: quiet });
  try {
    // Batch 1: the first N examples one by one, after a short warm-up.
    const n = Math.min(Number(args.latency), encoded.length);
    for (let i = 0; i < Math.min(10, n); i++) await session.run(feeds(session, collate(encoded, [i])), ['logits']);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = collate(encoded, [i]);
      const t0 = performance.now();
      await session.run(feeds(session, b), ['logits']);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);

    // Batch 32 over the whole split sorted by length (least padding): throughput and predictions.
    const plan = planBatches(encoded.map((e) => e.inputIds.length), { batchSize, shuffle: false, seed: 0, bucketSize: Math.ceil(encoded.length / batchSize) });
    await session.run(feeds(session, collate(encoded, plan[0])), ['logits']);
    const predictions = new Float64Array(encoded.length);
    const logits: Float32Array[] = new Array(encoded.length);
    const t0 = performance.now();
    for (const indices of plan) {
      const out = (await session.run(feeds(session, collate(encoded, indices)), ['logits'])).logits;
      const k = out.dims[1];
      indices.forEach((ex, r) => {
        const row = out.data.slice(r * k, (r + 1) * k);
        logits[ex] = row;
        predictions[ex] = task.labels ? row.indexOf(Math.max(...row)) : row[0];
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    const labels = examples.map((e) => e.label ?? NaN);
    return {
      ...row,
      bytes: fs.statSync(row.onnx).size,
      latencyMs: { median: quantile(times, 0.5), p90: quantile(times, 0.9) },
      throughput: encoded.length / seconds,
      metrics: computeTaskMetrics(task, predictions, labels),
      predictions,
      logits,
    };
  } finally {
    await session.release();
  }
}

function table(rows: Measured[], task: TaskSpec, split: string, count: number): string {
  const teacher = rows.find((r) => r.name === 'teacher fp32') ?? rows[0];
  const studentFp = rows.find((r) => r.name === 'student fp32');
  const metricNames = task.metrics;
  const pct = (v: number) => (100 * v).toFixed(2);
  const lines = [
    `${task.displayName} ${split} (${count} examples), onnxruntime-node CPU, ${threads} thread(s), max length ${maxLength}`,
    '',
    `| model | params | size (MB) | smaller | latency b=1 median / p90 (ms) | throughput b=${batchSize} (ex/s) | faster | ${metricNames.join(' | ')} | Δ vs fp32 | same prediction as fp32 | max abs Δlogit vs fp32 |`,
    `|---|---:|---:|---:|---:|---:|---:|${metricNames.map(() => '---:').join('|')}|---:|---:|---:|`,
  ];
  for (const r of rows) {
    const base = r.name.startsWith('student') ? studentFp : teacher;
    const m0 = metricNames[0];
    const vsFp = r.name.endsWith('int8') && base;
    const delta = vsFp ? `${(100 * (r.metrics[m0] - base.metrics[m0])).toFixed(2)} (${m0})` : '';
    let same = '';
    let maxDiff = '';
    if (vsFp) {
      let agree = 0;
      let d = 0;
      r.predictions.forEach((p, i) => { if (p === base.predictions[i]) agree++; });
      r.logits.forEach((l, i) => l.forEach((v, j) => { d = Math.max(d, Math.abs(v - base.logits[i][j])); }));
      same = task.labels ? `${pct(agree / r.predictions.length)}%` : 'n/a';
      maxDiff = d.toExponential(1);
    }
    lines.push(
      `| ${r.name} | ${(r.params / 1e6).toFixed(1)}M | ${(r.bytes / 2 ** 20).toFixed(1)} | ${(teacher.bytes / r.bytes).toFixed(1)}x | ` +
        `${r.latencyMs.median.toFixed(2)} / ${r.latencyMs.p90.toFixed(2)} | ${r.throughput.toFixed(1)} | ${(r.throughput / teacher.throughput).toFixed(1)}x | ` +
        `${metricNames.map((m) => pct(r.metrics[m])).join(' | ')} | ${delta} | ${same} | ${maxDiff} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const task = loadTask(args.task!);
  const split = args.split ?? task.devSplit;
  const examples = readSplit(task, args.data!, split);
  let teacherDir = args.teacher;
  let studentDir = args.student;
  if (!teacherDir || !studentDir) {
    console.error('no --teacher/--student given: building random-weight BERT-base and TinyBERT4 shaped models (metric = chance)');
    const vocab = path.resolve(import.meta.dirname, '../../shared/vocab/bert-base-uncased-vocab.txt');
    const numLabels = task.labels?.length ?? 1;
    teacherDir ??= await writeRandomFolder(path.join(root, 'teacher'), vocab, 'bert-base', numLabels);
    studentDir ??= await writeRandomFolder(path.join(root, 'student'), vocab, 'tinybert4', numLabels, true);
  }
  const rows = [...teacherRows(teacherDir), ...(await studentRows(studentDir))];
  const measured: Measured[] = [];
  for (const r of rows) {
    console.error(`measuring ${r.name} (${r.onnx})`);
    measured.push(await measure(r, task, examples));
  }
  console.log(table(measured, task, split, examples.length));
}

try {
  await main();
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
