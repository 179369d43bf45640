/**
 * A task student initialised from a general student folder (`distill train --init <folder>`): the
 * embeddings, encoder layers and pooler come from the folder, the classifier is fresh (the task's own
 * labels). The folder must have the run's shape and the run's vocabulary, token for token.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BertConfig } from '../student/config.ts';
import { loadStudentFolder, readStudentConfig } from '../student/folder.ts';
import { Student } from '../student/model.ts';
import { UserError } from '../util/errors.ts';
import { readJsonFile } from '../data/tokenizer.ts';
import { requireModelFolderFile } from '../io/confine.ts';

/** Config keys that fix the encoder's parameter shapes. */
export const SHAPE_KEYS = [
  'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
  'max_position_embeddings', 'type_vocab_size',
] as const;

/** Parameters taken from the init folder: everything but the task head. */
export function isEncoderParam(name: string): boolean {
  return !name.startsWith('classifier.');
}

/** One line per shape key where the folder's config differs from the run's. */
export function shapeDifferences(folder: BertConfig, run: BertConfig): string[] {
  return SHAPE_KEYS.filter((k) => folder[k] !== run[k]).map((k) => `${k} is ${folder[k]} there but ${run[k]} in the student config`);
}

function vocabOf(json: Record<string, unknown>, where: string): Record<string, number> {
  const vocab = (json.model as { vocab?: unknown } | undefined)?.vocab;
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) throw new UserError(`${where}: no WordPiece vocabulary (model.vocab)`);
  return vocab as Record<string, number>;
}

/** The first difference between two vocabularies (token → id), or undefined when they are equal. */
export function vocabularyDifference(a: Record<string, number>, b: Record<string, number>): string | undefined {
  const byId = (v: Record<string, number>) => {
    const m = new Map<number, string>();
    for (const [t, id] of Object.entries(v)) m.set(id, t);
    return m;
  };
  const ia = byId(a);
  const ib = byId(b);
  if (ia.size !== ib.size) return `${ia.size} tokens there, ${ib.size} in the run's tokenizer`;
  for (const [id, token] of ia) {
    const other = ib.get(id);
    if (other !== token) return `token id ${id} is ${JSON.stringify(token)} there but ${other === undefined ? 'absent' : JSON.stringify(other)} in the run's tokenizer`;
  }
  return undefined;
}

/**
 * Loads `dir` (a saved student folder) as the initialisation of a student with `config`, checking
 * shape and vocabulary against the run. `tokenizerJson` is the run's tokenizer (the teacher's).
 */
export async function studentFromInitFolder(dir: string, config: BertConfig, tokenizerJson: Record<string, unknown>, seed: number): Promise<Student> {
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) throw new UserError(`--init ${dir}: config.json not found (expected a student folder: config.json, model.safetensors, tokenizer.json)`);
  const diffs = shapeDifferences(readStudentConfig(configFile), config);
  if (diffs.length > 0) throw new UserError(`--init ${dir} does not match the student's shape: ${diffs.join('; ')}`);
  const tokFile = requireModelFolderFile(dir, 'tokenizer.json', `--init ${dir}: tokenizer.json not found; the vocabulary cannot be checked against the run's`);
  const tokJson = readJsonFile(tokFile, 'tokenizer.json', 'tokenizerJson');
  const diff = vocabularyDifference(vocabOf(tokJson, tokFile), vocabOf(tokenizerJson, "the run's tokenizer"));
  if (diff) throw new UserError(`--init ${dir} was trained on another vocabulary: ${diff}`);

  const init = await loadStudentFolder(dir);
  const fresh = Student.create(config, seed);
  try {
    for (const [name, v] of fresh.params) {
      if (isEncoderParam(name)) v.assign(init.params.get(name)!);
    }
  } catch (e) {
    fresh.dispose();
    throw e;
  } finally {
    init.dispose();
  }
  return fresh;
}
