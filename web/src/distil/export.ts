/**
 * The trained student as the Hugging Face folder `distill export` writes — config.json, the tokenizer
 * files, onnx/model.onnx and onnx/model_quantized.onnx — built in memory with the CLI's graph builder
 * (src/export/bert-graph.ts) and zipped for download.
 */
import { buildOnnxModel } from '../../../src/export/bert-graph.ts';
import { studentWeightsAsync } from '../../../src/export/weights.ts';
import type { Student } from '../../../src/student/model.ts';
import { hfConfigJson } from '../../../src/io/hf-config.ts';
import { zipStore, type ZipEntry } from './zip.ts';

export interface TokenizerFiles {
  /** tokenizer.json's text. */
  tokenizerJson: string;
  /** tokenizer_config.json, when the teacher folder has one. */
  tokenizerConfig?: Record<string, unknown>;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

/** The folder's files by path; `folder` prefixes every path inside the zip. */
export async function exportedFiles(student: Student, tok: TokenizerFiles, folder: string): Promise<ZipEntry[]> {
  const weights = await studentWeightsAsync(student);
  const config = student.config;
  // model_max_length = the student's positions, as completeTokenizerFiles writes it for the CLI.
  const tokConfig = { tokenizer_class: 'BertTokenizer', do_lower_case: true, ...(tok.tokenizerConfig ?? {}), model_max_length: config.max_position_embeddings };
  return [
    { name: `${folder}/config.json`, data: json(hfConfigJson(config)) },
    { name: `${folder}/tokenizer.json`, data: new TextEncoder().encode(tok.tokenizerJson) },
    { name: `${folder}/tokenizer_config.json`, data: json(tokConfig) },
    { name: `${folder}/onnx/model.onnx`, data: buildOnnxModel(config, weights, { weightFormat: 'fp32' }) },
    { name: `${folder}/onnx/model_quantized.onnx`, data: buildOnnxModel(config, weights, { weightFormat: 'int8' }) },
  ];
}

export async function exportZip(student: Student, tok: TokenizerFiles, folder: string): Promise<Uint8Array> {
  return zipStore(await exportedFiles(student, tok, folder));
}
