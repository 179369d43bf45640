/**
 * A saved student in the Hugging Face layout: config.json (BertConfig), model.safetensors (HF names,
 * dense kernels [out, in] like nn.Linear) and the tokenizer files, so PyTorch `from_pretrained`, the
 * exporter and this toolkit all read the same folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_BERT_CONFIG, type BertConfig } from './config.ts';
import { Student, paramShapes } from './model.ts';
import { hfName, isDenseKernel } from './param-names.ts';
import { readSafetensors, toFloat32, writeSafetensors, type SafeTensor } from '../io/safetensors.ts';
import { completeTokenizerFiles, copyTokenizerFiles, hfConfigJson, tokenizerVocabSize } from '../io/hf-files.ts';
import { writeFolderAtomic } from '../util/atomic.ts';
import { modelFolderFile, requireModelFolderFile } from '../io/confine.ts';
import { UserError } from '../util/errors.ts';
import { QUANTIZATION_FILE, parseQuantizationJson, quantizationJson } from '../quant/quant-json.ts';
import { Quantization } from '../quant/quantization.ts';
import { readTextLimited } from '../util/limits.ts';

/** A tokenizer object whose files can be written (src/data/bert-tokenizer.ts BertTokenizer). */
export interface SavableTokenizer {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

/** [rows, cols] row-major -> [cols, rows]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** The student's weights as HF's state dict: HF names, [out, in] dense kernels. */
export function studentStateDict(student: Student): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const [name, v] of student.params) {
    const data = v.dataSync() as Float32Array;
    if (isDenseKernel(name)) {
      const [rows, cols] = v.shape;
      out.set(hfName(name), { dtype: 'F32', shape: [cols, rows], data: transpose2d(data, rows, cols) });
    } else {
      out.set(hfName(name), { dtype: 'F32', shape: [...v.shape], data: Float32Array.from(data) });
    }
  }
  return out;
}

async function writeTokenizer(source: string | SavableTokenizer, config: BertConfig, dir: string): Promise<void> {
  if (typeof source !== 'string') {
    const { saveTokenizer } = await import('../data/tokenizer.ts');
    saveTokenizer(source, dir);
    return;
  }
  if (!fs.existsSync(source)) throw new UserError(`tokenizer ${source} does not exist`);
  const jsonFile = fs.statSync(source).isDirectory() ? modelFolderFile(source, 'tokenizer.json', 'tokenizer file') : source;
  if (jsonFile && fs.existsSync(jsonFile) && path.basename(jsonFile) === 'tokenizer.json') {
    const n = tokenizerVocabSize(jsonFile);
    if (n > config.vocab_size) {
      throw new UserError(`tokenizer ${jsonFile} produces ids up to ${n - 1}, beyond the student's vocab_size ${config.vocab_size}`);
    }
    copyTokenizerFiles(jsonFile, config, dir);
    return;
  }
  // A vocab.txt (or a folder with only one): let the tokenizer module build tokenizer.json.
  const { loadTokenizer, saveTokenizer } = await import('../data/tokenizer.ts');
  saveTokenizer(await loadTokenizer(source), dir);
}

/**
 * Writes config.json, model.safetensors and the tokenizer files into `dir`, all at once (a temporary
 * folder renamed into place). `tokenizer` is a folder or tokenizer.json / vocab.txt path, or a tokenizer
 * object. An existing `dir` is refused unless `force`.
 */
export async function saveStudentFolder(
  student: Student,
  tokenizer: string | SavableTokenizer,
  dir: string,
  opts: { force?: boolean } = {},
): Promise<void> {
  const state = studentStateDict(student);
  // A quantisation-aware student keeps its observed ranges next to the weights (export builds the int8 model from them).
  const q = student.quantization?.active ? student.quantization : undefined;
  const quant = q ? quantizationJson({ options: q.options, ranges: q.ranges() }) : undefined;
  await writeFolderAtomic(dir, opts.force ?? false, async (tmp) => {
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(hfConfigJson(student.config), null, 2) + '\n');
    if (quant) fs.writeFileSync(path.join(tmp, QUANTIZATION_FILE), JSON.stringify(quant, null, 2) + '\n');
    writeSafetensors(path.join(tmp, 'model.safetensors'), state, { format: 'pt' });
    await writeTokenizer(tokenizer, student.config, tmp);
    completeTokenizerFiles(tmp, student.config);
  });
}

const REQUIRED_KEYS = [
  'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
  'max_position_embeddings', 'type_vocab_size',
] as const;

/** Reads a student folder's config.json, filling the fields HF leaves implicit. */
export function readStudentConfig(file: string): BertConfig {
  if (!modelFolderFile(path.dirname(file), path.basename(file), 'student config')) throw new UserError(`${file}: config.json not found`);
  const text = readTextLimited(file, 'modelConfig');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: cannot read config (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file}: expected a JSON object`);
  for (const key of REQUIRED_KEYS) {
    const v = raw[key];
    // type_vocab_size may be 0 (no segment embeddings); every other size is positive.
    if (!Number.isSafeInteger(v) || (v as number) < (key === 'type_vocab_size' ? 0 : 1)) {
      throw new UserError(`${file}: "${key}" must be an integer ${key === 'type_vocab_size' ? '>= 0' : '> 0'}, got ${JSON.stringify(v)}`);
    }
  }
  if (raw.id2label !== undefined && (!raw.id2label || typeof raw.id2label !== 'object' || Array.isArray(raw.id2label) || Object.values(raw.id2label).some((v) => typeof v !== 'string'))) {
    throw new UserError(`${file}: "id2label" must map label ids to names, e.g. {"0": "negative", "1": "positive"}`);
  }
  if (raw.num_labels !== undefined && (!Number.isSafeInteger(raw.num_labels) || (raw.num_labels as number) < 1)) {
    throw new UserError(`${file}: "num_labels" must be a positive integer, got ${JSON.stringify(raw.num_labels)}`);
  }
  const id2label = (raw.id2label as Record<string, string> | undefined) ?? {};
  const numLabels = (raw.num_labels as number | undefined) ?? (Object.keys(id2label).length || 2);
  const regression = raw.problem_type === 'regression';
  return {
    ...DEFAULT_BERT_CONFIG, // every shape key is required above, so only the optional defaults apply
    label2id: {},
    ...(raw as Partial<BertConfig>),
    num_labels: numLabels,
    problem_type: regression ? 'regression' : 'single_label_classification',
    id2label,
  } as BertConfig;
}

/**
 * Loads a student saved by saveStudentFolder (or any HF BertForSequenceClassification safetensors
 * folder with F32/F16/BF16 weights), checking every tensor's shape against config.json.
 */
export async function loadStudentFolder(dir: string): Promise<Student> {
  const configFile = requireModelFolderFile(dir, 'config.json', `student folder ${dir}: config.json not found`);
  const weightsFile = requireModelFolderFile(dir, 'model.safetensors', `student folder ${dir}: model.safetensors not found`);
  const config = readStudentConfig(configFile);
  const { tensors } = readSafetensors(weightsFile);
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of paramShapes(config)) {
    const key = hfName(name);
    const t = tensors.get(key);
    const fileShape = isDenseKernel(name) ? [shape[1], shape[0]] : shape;
    if (!t) throw new UserError(`${weightsFile}: tensor "${key}" is missing (config.json implies shape [${fileShape}])`);
    if (t.shape.length !== fileShape.length || t.shape.some((d, i) => d !== fileShape[i])) {
      throw new UserError(`${weightsFile}: tensor "${key}" has shape [${t.shape}], config.json implies [${fileShape}]`);
    }
    const data = toFloat32(t);
    weights.set(name, { shape, data: isDenseKernel(name) ? transpose2d(data, fileShape[0], fileShape[1]) : data });
  }
  const student = Student.fromWeights(config, weights);
  const quantFile = modelFolderFile(dir, QUANTIZATION_FILE, 'quantization ranges');
  if (quantFile) {
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(readTextLimited(quantFile, 'modelConfig'));
      } catch (e) {
        throw new UserError(`${quantFile}: not valid JSON (${(e as Error).message})`);
      }
      const { options, ranges } = parseQuantizationJson(raw, quantFile);
      const q = Quantization.forConfig(config, options);
      student.attachQuantization(q);
      q.setRanges(ranges, quantFile);
      q.active = true;
    } catch (e) {
      student.dispose();
      throw e;
    }
  }
  return student;
}
