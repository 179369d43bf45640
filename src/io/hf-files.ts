import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BertConfig } from '../student/config.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { modelFolderFile } from './confine.ts';

export { hfConfigJson } from './hf-config.ts';

/** The tokenizer.json of a folder (or the file itself). */
export function tokenizerJsonPath(fileOrFolder: string): string {
  const isFolder = fs.existsSync(fileOrFolder) && fs.statSync(fileOrFolder).isDirectory();
  const p = isFolder ? (modelFolderFile(fileOrFolder, 'tokenizer.json', 'tokenizer file') ?? path.join(fileOrFolder, 'tokenizer.json')) : fileOrFolder;
  if (!fs.existsSync(p)) throw new UserError(`tokenizer: ${p} does not exist (expected a tokenizer.json or a folder holding one)`);
  return p;
}

/** Number of ids a tokenizer.json can produce: 1 + the largest id in its vocabulary and added tokens. */
export function tokenizerVocabSize(tokenizerJsonFile: string): number {
  let json: { model?: { vocab?: unknown }; added_tokens?: { id: number }[] };
  const text = readTextLimited(tokenizerJsonFile, 'tokenizerJson');
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`tokenizer: ${tokenizerJsonFile} is not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UserError(`tokenizer: ${tokenizerJsonFile} is not a JSON object`);
  const vocab = json.model?.vocab;
  let maxId = -1;
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const id of Object.values(vocab as Record<string, number>)) maxId = Math.max(maxId, id);
  } else if (Array.isArray(vocab)) {
    maxId = vocab.length - 1; // Unigram: [[piece, score], ...]
  } else {
    throw new UserError(`tokenizer: ${tokenizerJsonFile} has no model.vocab`);
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new UserError(`tokenizer: ${tokenizerJsonFile}: added_tokens is not a list`);
  for (const t of added) maxId = Math.max(maxId, t?.id);
  if (!Number.isSafeInteger(maxId) || maxId < 0) throw new UserError(`tokenizer: ${tokenizerJsonFile}: token ids are not non-negative integers`);
  return maxId + 1;
}

export function checkVocabularyMatches(config: BertConfig, tokenizerJsonFile: string): void {
  const n = tokenizerVocabSize(tokenizerJsonFile);
  if (n !== config.vocab_size) {
    throw new UserError(
      `the student's vocab_size is ${config.vocab_size} but the tokenizer ${tokenizerJsonFile} has ${n} tokens: ` +
        'export the student with the tokenizer it was trained with',
    );
  }
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

/**
 * Copies the tokenizer files next to tokenizer.json into `outDir`, writing a minimal BERT
 * tokenizer_config.json when the source has none (transformers.js needs one). Returns the names written.
 */
export function copyTokenizerFiles(tokenizerJsonFile: string, config: BertConfig, outDir: string): string[] {
  const srcDir = path.dirname(tokenizerJsonFile);
  const written: string[] = [];
  fs.copyFileSync(tokenizerJsonFile, path.join(outDir, 'tokenizer.json'));
  written.push('tokenizer.json');
  for (const name of TOKENIZER_FILES.slice(1)) {
    // Confined: a tokenizer file linked to one elsewhere must not be copied into a folder the user publishes.
    const src = modelFolderFile(srcDir, name, 'tokenizer file');
    if (src) {
      fs.copyFileSync(src, path.join(outDir, name));
      written.push(name);
    }
  }
  for (const name of completeTokenizerFiles(outDir, config)) if (!written.includes(name)) written.push(name);
  return written;
}

const SPECIAL_KEYS = ['cls_token', 'sep_token', 'pad_token', 'unk_token', 'mask_token'] as const;
const BERT_DEFAULT_SPECIALS: Record<(typeof SPECIAL_KEYS)[number], string> = {
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  mask_token: '[MASK]',
};

/**
 * Makes a folder's tokenizer files what loaders expect of a published BERT model: tokenizer_config.json
 * with model_max_length = the model's max_position_embeddings (a teacher's 512 on a 64-position student
 * makes transformers.js feed positions the model does not have), special_tokens_map.json, and vocab.txt
 * (Python's BertTokenizer) written from tokenizer.json's WordPiece vocabulary. Returns the names written.
 */
export function completeTokenizerFiles(dir: string, config: Pick<BertConfig, 'max_position_embeddings'>): string[] {
  const configFile = path.join(dir, 'tokenizer_config.json');
  const existing = fs.existsSync(configFile) ? (JSON.parse(readTextLimited(configFile, 'modelConfig')) as Record<string, unknown>) : undefined;
  const tokConfig: Record<string, unknown> = existing ?? { tokenizer_class: 'BertTokenizer', do_lower_case: true, ...BERT_DEFAULT_SPECIALS };
  tokConfig.model_max_length = config.max_position_embeddings;
  writeJsonAtomic(configFile, tokConfig);
  const written = ['tokenizer_config.json'];
  const mapFile = path.join(dir, 'special_tokens_map.json');
  if (!fs.existsSync(mapFile)) {
    const token = (k: (typeof SPECIAL_KEYS)[number]) => {
      const v = tokConfig[k];
      return typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : BERT_DEFAULT_SPECIALS[k];
    };
    writeJsonAtomic(mapFile, Object.fromEntries(SPECIAL_KEYS.map((k) => [k, token(k)])));
    written.push('special_tokens_map.json');
  }
  const vocabFile = path.join(dir, 'vocab.txt');
  const jsonFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(vocabFile) && fs.existsSync(jsonFile)) {
    const model = (JSON.parse(readTextLimited(jsonFile, 'tokenizerJson')) as { model?: { type?: string; vocab?: Record<string, number> } }).model;
    if (model?.type === 'WordPiece' && model.vocab) {
      const byId: string[] = [];
      for (const [token, id] of Object.entries(model.vocab)) byId[id] = token;
      // Gaps (never in a BERT vocabulary, but cheap to survive) become unused placeholders so line n stays id n.
      const lines = Array.from(byId, (t, i) => t ?? `[unused_gap_${i}]`);
      fs.writeFileSync(vocabFile, lines.join('\n') + '\n');
      written.push('vocab.txt');
    }
  }
  return written;
}
