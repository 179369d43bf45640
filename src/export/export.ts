import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BertConfig } from '../student/config.ts';
import { loadStudentFolder } from '../student/folder.ts';
import { writeFileAtomic, writeFolderAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { buildOnnxModel } from './bert-graph.ts';
import { writeModelCard } from './model-card.ts';
import { checkVocabularyMatches, copyTokenizerFiles, hfConfigJson, tokenizerJsonPath } from '../io/hf-files.ts';
import { studentWeights, type StudentLike, type WeightMap } from './weights.ts';
import { weightQmax } from '../quant/qparams.ts';
import { QUANTIZATION_FILE } from '../quant/quant-json.ts';

export { studentWeights, type StudentLike };

/** The trained quantisation of a student, as the graph builder takes it; undefined for a float student. */
type QatSpec = { ranges: Map<string, { min: number; max: number }>; qmax: number };

function qatSpecOf(student: StudentLike): QatSpec | undefined {
  const q = student.quantization;
  return q?.active ? { ranges: q.ranges(), qmax: weightQmax(q.options.reduceRange) } : undefined;
}

export interface ExportOptions {
  /** An in-memory student, or... */
  student?: StudentLike;
  /** ...a saved student folder (config.json + model.safetensors + tokenizer files). */
  studentFolder?: string;
  /** tokenizer.json or a folder holding it; defaults to studentFolder. */
  tokenizer?: string;
  outDir: string;
  /** Write into outDir if it exists, replacing the files export writes (other files are kept). */
  force?: boolean;
  /** Also output hidden_states.{i}, attention_scores.{i}, attentions.{i} (to serve as a teacher). */
  withIntermediates?: boolean;
  /**
   * Also write onnx/model_quantized.onnx (dynamic int8). A student trained quantisation-aware always gets
   * one, built from its trained ranges (QDQ) instead.
   */
  quantize?: boolean;
  /** 7-bit weights in the int8 model (default true; see quantize.ts). */
  reduceRange?: boolean;
  /** The run folder the student came from (resolved-config.json, train-summary.json, eval.json), for README.md. */
  runDir?: string;
}

export interface ExportResult {
  /** Paths relative to outDir. */
  files: string[];
  /** Bytes per file, keyed like `files`. */
  sizes: Record<string, number>;
}

async function loadFromFolder(folder: string): Promise<{ config: BertConfig; weights: WeightMap; qat?: QatSpec }> {
  if (!fs.existsSync(path.join(folder, 'config.json'))) {
    throw new UserError(`student folder ${folder}: config.json not found (is this a saved student?)`);
  }
  const student = await loadStudentFolder(folder);
  try {
    return { config: student.config, weights: studentWeights(student), qat: qatSpecOf(student) };
  } finally {
    student.dispose();
  }
}

/**
 * Writes a Hugging Face model folder for the student: config.json, tokenizer files, onnx/model.onnx
 * and (quantize) onnx/model_quantized.onnx. The folder appears whole or not at all.
 */
export async function exportStudent(opts: ExportOptions): Promise<ExportResult> {
  if (!opts.student === !opts.studentFolder) throw new UserError('export: give exactly one of a student or a student folder');
  if (opts.studentFolder && !fs.existsSync(opts.studentFolder)) {
    throw new UserError(`export: student folder ${opts.studentFolder} does not exist`);
  }
  if (fs.existsSync(opts.outDir) && !opts.force) {
    throw new UserError(`export: output folder ${opts.outDir} already exists (use --force to replace it)`);
  }
  const tokenizerSource = opts.tokenizer ?? opts.studentFolder;
  if (!tokenizerSource) throw new UserError('export: no tokenizer given (pass the tokenizer folder or tokenizer.json)');
  const tokenizerFile = tokenizerJsonPath(tokenizerSource);

  const { config, weights, qat } = opts.student
    ? { config: opts.student.config, weights: studentWeights(opts.student), qat: qatSpecOf(opts.student) }
    : await loadFromFolder(opts.studentFolder!);
  checkVocabularyMatches(config, tokenizerFile);

  const files: string[] = [];
  await writeFolderAtomic(opts.outDir, opts.force ?? false, (tmp) => {
    writeJsonAtomic(path.join(tmp, 'config.json'), hfConfigJson(config));
    files.push('config.json');
    files.push(...copyTokenizerFiles(tokenizerFile, config, tmp));
    fs.mkdirSync(path.join(tmp, 'onnx'));
    const common = { withIntermediates: opts.withIntermediates, reduceRange: opts.reduceRange };
    writeFileAtomic(path.join(tmp, 'onnx', 'model.onnx'), buildOnnxModel(config, weights, { ...common, weightFormat: 'fp32' }));
    files.push('onnx/model.onnx');
    if (qat) {
      // The int8 model the student was trained for: its own weight grid and activation ranges.
      const q = buildOnnxModel(config, weights, { withIntermediates: opts.withIntermediates, weightFormat: 'qat', qat });
      writeFileAtomic(path.join(tmp, 'onnx', 'model_quantized.onnx'), q);
      files.push('onnx/model_quantized.onnx');
    } else if (opts.quantize) {
      const q = buildOnnxModel(config, weights, { ...common, weightFormat: 'int8' });
      writeFileAtomic(path.join(tmp, 'onnx', 'model_quantized.onnx'), q);
      files.push('onnx/model_quantized.onnx');
    }
    // The PyTorch-layout weights too, so Python transformers loads the same folder.
    if (opts.studentFolder && fs.existsSync(path.join(opts.studentFolder, 'model.safetensors'))) {
      fs.copyFileSync(path.join(opts.studentFolder, 'model.safetensors'), path.join(tmp, 'model.safetensors'));
      files.push('model.safetensors');
    }
    if (opts.studentFolder && qat && fs.existsSync(path.join(opts.studentFolder, QUANTIZATION_FILE))) {
      fs.copyFileSync(path.join(opts.studentFolder, QUANTIZATION_FILE), path.join(tmp, QUANTIZATION_FILE));
      files.push(QUANTIZATION_FILE);
    }
    writeModelCard(tmp, opts.runDir, path.basename(opts.outDir));
    files.push('README.md');
  }, { ownEntriesOnly: true });
  const sizes: Record<string, number> = {};
  for (const f of files) sizes[f] = fs.statSync(path.join(opts.outDir, f)).size;
  return { files, sizes };
}
