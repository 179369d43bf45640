/**
 * README.md of an exported model folder: what the model is, how it was made (teacher, data, recipe,
 * the checkpoint kept), how well and how fast it runs (fp32 and int8), and how to load it. Built from
 * the files a run leaves (resolved-config.json, train-summary.json, eval.json), so export and eval can
 * both (re)write it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { isPruned, layerHeadCount, layerIntermediateSize, type BertConfig } from '../student/config.ts';

interface RowLike {
  name: string;
  params?: number;
  sizeBytes?: number;
  latencyMs?: Record<string, number>;
  metrics?: Record<string, number>;
  agreement?: number;
  precision?: string;
}

export interface ModelCardInput {
  /** Folder name, used as the model's name. */
  name: string;
  /** The folder's config.json. */
  config: Record<string, unknown>;
  /** Files of the folder with their sizes in bytes. */
  files: Record<string, number>;
  /** resolved-config.json of the run, when the folder came from one. */
  run?: {
    task?: string;
    teacher?: { dir?: string };
    /** Teacher assistants the student learnt through (progressive distillation). */
    assistants?: { numLayers: number; hiddenSize: number }[];
    data?: { dir?: string; maxLength?: number };
    seed?: number;
    distill?: { batchSize?: number; stages?: { name: string; steps: number; lr: number; losses: { name: string; weight?: number }[] }[] };
    ema?: { enabled?: boolean; beta?: number };
  };
  /** train-summary.json: the checkpoint kept. */
  summary?: { steps?: number; best?: { step: number; stage: string; model: string; metric: string; score: number } };
  /** eval.json. */
  eval?: { task: string; split: string; primaryMetric: string; latencyBatchSizes: number[]; models: RowLike[] };
}

const mib = (n: number | undefined) => (n === undefined ? '–' : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const count = (n: number | undefined) => (n === undefined ? '–' : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

/** " through teacher assistants 2 × 64 → …" for a chain's student, else nothing. */
function throughAssistants(a: { numLayers: number; hiddenSize: number }[] | undefined): string {
  if (!a?.length) return '';
  return ` through ${a.length === 1 ? 'a teacher assistant' : 'teacher assistants'} (${a.map((x) => `${x.numLayers} layers × hidden ${x.hiddenSize}`).join(' → ')})`;
}

export function renderModelCard(i: ModelCardInput): string {
  const c = i.config;
  const id2label = (c.id2label ?? {}) as Record<string, string>;
  const regression = c.problem_type === 'regression';
  const task = i.run?.task ?? i.eval?.task;
  const out: string[] = [
    '---',
    'library_name: transformers.js',
    'pipeline_tag: text-classification',
    'tags: [bert, knowledge-distillation, onnx, distill-ts]',
    '---',
    '',
    `# ${i.name}`,
    '',
    `A BERT text ${regression ? 'regression model' : 'classifier'}: ${c.num_hidden_layers} layers, hidden size ${c.hidden_size}, ` +
      `${shapeText(c as unknown as BertConfig)}, up to ${c.max_position_embeddings} tokens (longer input is truncated), ` +
      `vocabulary ${c.vocab_size}.` +
      (i.run ? ` Distilled with distill-ts from the teacher \`${i.run.teacher?.dir ?? '?'}\`${throughAssistants(i.run.assistants)} on ${task ?? 'its task'} (data \`${i.run.data?.dir ?? '?'}\`).` : ''),
    '',
  ];
  if (!regression) {
    out.push('## Labels', '', '| id | label |', '|---|---|', ...Object.entries(id2label).map(([k, v]) => `| ${k} | ${v} |`), '');
  }
  if (i.run?.distill?.stages?.length) {
    out.push('## Recipe', '', '| stage | steps | learning rate | losses |', '|---|---:|---:|---|');
    for (const s of i.run.distill.stages) {
      out.push(`| ${s.name} | ${s.steps} | ${s.lr} | ${s.losses.map((l) => (l.weight !== undefined && l.weight !== 1 ? `${l.weight}·${l.name}` : l.name)).join(' + ')} |`);
    }
    out.push(
      '',
      `Batch size ${i.run.distill.batchSize ?? '?'}, max length ${i.run.data?.maxLength ?? '?'}, seed ${i.run.seed ?? '?'}` +
        (i.run.ema?.enabled ? `, EMA of the weights (β ${i.run.ema.beta}) evaluated beside the raw weights` : '') +
        '.',
    );
    const b = i.summary?.best;
    if (b) out.push(`Kept: the ${b.model === 'ema' ? 'EMA' : 'raw'} weights at step ${b.step} (stage ${b.stage}), dev ${b.metric} ${b.score.toFixed(4)}.`);
    out.push('');
  }
  if (i.eval?.models.length) {
    const e = i.eval;
    const m = e.primaryMetric;
    const teacher = e.models.find((r) => r.name === 'teacher');
    out.push(`## Results (${e.task} ${e.split})`, '');
    out.push(`| model | parameters | size | ${e.latencyBatchSizes.map((b) => `latency b=${b}`).join(' | ')} | ${m} | % of teacher | same prediction as fp32 |`);
    out.push(`|---|---:|---:|${e.latencyBatchSizes.map(() => '---:|').join('')}---:|---:|---:|`);
    for (const r of e.models) {
      const v = r.metrics?.[m];
      const base = teacher?.metrics?.[m];
      out.push(
        `| ${r.name} | ${count(r.params)} | ${mib(r.sizeBytes)} | ${e.latencyBatchSizes.map((b) => (r.latencyMs?.[b] === undefined ? '–' : `${r.latencyMs[b].toFixed(2)} ms`)).join(' | ')} | ` +
          `${v === undefined ? '–' : v.toFixed(4)} | ${r !== teacher && v !== undefined && base ? `${((100 * v) / base).toFixed(1)}%` : '–'} | ` +
          `${r.agreement === undefined ? '–' : `${(100 * r.agreement).toFixed(1)}%`} |`,
      );
    }
    out.push('', 'Latency: median of one onnxruntime forward pass on the machine that ran `distill eval`.', '');
  }
  out.push('## Files', '', '| file | size |', '|---|---:|', ...Object.entries(i.files).map(([f, n]) => `| \`${f}\` | ${mib(n)} |`), '');
  out.push(
    '## Use',
    '',
    'transformers.js (browser or Node; `dtype: "q8"` loads the int8 model):',
    '',
    '```js',
    "import { pipeline } from '@huggingface/transformers';",
    `const classify = await pipeline('text-classification', '${i.name}', { dtype: 'fp32' });`,
    "console.log(await classify('a gripping, beautifully acted film'));",
    '```',
    '',
    'onnxruntime (Python; `onnx/model_quantized.onnx` for int8):',
    '',
    '```python',
    'import onnxruntime as ort',
    'from transformers import AutoTokenizer',
    `tok = AutoTokenizer.from_pretrained("${i.name}")`,
    `session = ort.InferenceSession("${i.name}/onnx/model.onnx")`,
    'enc = tok(["a gripping film"], return_tensors="np", truncation=True, padding=True)',
    'logits = session.run(["logits"], {k: v.astype("int64") for k, v in enc.items()})[0]',
    '```',
    '',
  );
  if (i.files['model.safetensors'] !== undefined) {
    out.push(
      'PyTorch `transformers` (the same weights, `model.safetensors`):',
      '',
      '```python',
      'from transformers import AutoTokenizer, BertForSequenceClassification',
      `model = BertForSequenceClassification.from_pretrained("${i.name}").eval()`,
      `tok = AutoTokenizer.from_pretrained("${i.name}")`,
      'logits = model(**tok(["a gripping film"], return_tensors="pt", truncation=True)).logits',
      '```',
      '',
    );
  }
  out.push('distill-ts: `distill predict --model ' + i.name + ' --input rows.tsv` (add `--quantized` for int8).', '');
  return out.join('\n');
}

function readJson<T>(file: string): T | undefined {
  try {
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : undefined;
  } catch {
    return undefined; // a card is best effort: a missing or torn run file leaves its section out
  }
}

function listFiles(dir: string, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, listFiles(dir, rel));
    else if (e.name !== 'README.md') out[rel] = fs.statSync(path.join(dir, rel)).size;
  }
  return out;
}

/** Writes `<exportDir>/README.md` from the folder and, when given, the run folder it came from. */
export function writeModelCard(exportDir: string, runDir?: string, name = path.basename(exportDir)): void {
  const config = readJson<Record<string, unknown>>(path.join(exportDir, 'config.json')) ?? {};
  const input: ModelCardInput = { name, config, files: listFiles(exportDir) };
  if (runDir) {
    input.run = readJson(path.join(runDir, 'resolved-config.json'));
    input.summary = readJson(path.join(runDir, 'train-summary.json'));
    input.eval = readJson(path.join(runDir, 'eval.json'));
  }
  writeFileAtomic(path.join(exportDir, 'README.md'), renderModelCard(input));
}

/** "12 heads, FFN 1200", or the per-layer shapes of a structurally pruned student. */
function shapeText(c: BertConfig): string {
  if (!isPruned(c)) return `${c.num_attention_heads} heads, FFN ${c.intermediate_size}`;
  const layers = [...Array(c.num_hidden_layers).keys()];
  return `pruned to ${layers.map((i) => layerHeadCount(c, i)).join('/')} heads and FFN ${layers.map((i) => layerIntermediateSize(c, i)).join('/')} per layer (of ${c.num_attention_heads} and ${c.intermediate_size})`;
}
