/**
 * A Hugging Face style teacher folder: config.json, tokenizer.json (or vocab.txt) and model.onnx
 * or onnx/model.onnx (the optimum / transformers.js layout).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer, type BertTokenizer } from '../data/tokenizer.ts';
import { modelFolderFile } from '../io/confine.ts';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { parseTeacherConfig, type TeacherConfig } from './config.ts';

export type { TeacherConfig } from './config.ts';

export interface TeacherFolder {
  dir: string;
  config: TeacherConfig;
  tokenizer: BertTokenizer;
  onnxPath: string;
}

/** model.onnx candidates in the order optimum / transformers.js use. */
export function findOnnxFile(dir: string): string {
  const names = [path.join('onnx', 'model.onnx'), 'model.onnx'];
  for (const name of names) {
    const found = modelFolderFile(dir, name, 'ONNX model');
    if (found) return found;
  }
  throw new UserError(`teacher folder ${dir} has no ONNX model: expected ${names.map((n) => path.join(dir, n)).join(' or ')}`);
}

/** Reads and checks a teacher's config.json (confined to its folder, size-limited). */
export function readTeacherConfig(file: string): TeacherConfig {
  // Confined to its folder: a config.json linked to a file elsewhere is refused.
  if (!modelFolderFile(path.dirname(file), path.basename(file), 'teacher config')) throw new UserError(`teacher config ${file} does not exist`);
  return parseTeacherConfig(readTextLimited(file, 'modelConfig'), file);
}

export async function loadTeacherFolder(dir: string): Promise<TeacherFolder> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`teacher folder ${dir} does not exist`);
  const config = readTeacherConfig(path.join(dir, 'config.json'));
  const onnxPath = findOnnxFile(dir);
  const tokenizer = await loadTokenizer(dir);
  if (config.vocab_size !== undefined && tokenizer.vocabSize !== config.vocab_size) {
    throw new UserError(`teacher folder ${dir}: the tokenizer has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.vocab_size}`);
  }
  return { dir, config, tokenizer, onnxPath };
}
