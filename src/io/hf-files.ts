import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BertConfig } from '../student/config.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';

/** config.json as Hugging Face's BertConfig / transformers.js expect it. */
export function hfConfigJson(config: BertConfig): Record<string, unknown> {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  for (let i = 0; i < config.num_labels; i++) {
    const label = config.id2label?.[String(i)] ?? `LABEL_${i}`;
    id2label[String(i)] = label;
    label2id[label] = i;
  }
  return {
    ...config,
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    hidden_act: 'gelu',
    position_embedding_type: 'absolute',
    id2label,
    label2id,
  };
}

/** The tokenizer.json of a folder (or the file itself). */
export function tokenizerJsonPath(fileOrFolder: string): string {
  const p = fs.existsSync(fileOrFolder) && fs.statSync(fileOrFolder).isDirectory() ? path.join(fileOrFolder, 'tokenizer.json') : fileOrFolder;
  if (!fs.existsSync(p)) throw new UserError(`tokenizer: ${p} does not exist (expected a tokenizer.json or a folder holding one)`);
  return p;
}

/** Number of ids a tokenizer.json can produce: 1 + the largest id in its vocabulary and added tokens. */
export function tokenizerVocabSize(tokenizerJsonFile: string): number {
  let json: { model?: { vocab?: unknown }; added_tokens?: { id: number }[] };
  try {
    json = JSON.parse(fs.readFileSync(tokenizerJsonFile, 'utf8'));
  } catch (e) {
    throw new UserError(`tokenizer: ${tokenizerJsonFile} is not valid JSON (${(e as Error).message})`);
  }
  const vocab = json.model?.vocab;
  let maxId = -1;
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const id of Object.values(vocab as Record<string, number>)) maxId = Math.max(maxId, id);
  } else if (Array.isArray(vocab)) {
    maxId = vocab.length - 1; // Unigram: [[piece, score], ...]
  } else {
    throw new UserError(`tokenizer: ${tokenizerJsonFile} has no model.vocab`);
  }
  for (const t of json.added_tokens ?? []) maxId = Math.max(maxId, t.id);
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
    const src = path.join(srcDir, name);
    if (fs.existsSync(src)) {
      fs.copyFileSync(src, path.join(outDir, name));
      written.push(name);
    }
  }
  if (!written.includes('tokenizer_config.json')) {
    writeJsonAtomic(path.join(outDir, 'tokenizer_config.json'), {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: config.max_position_embeddings,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
    });
    written.push('tokenizer_config.json');
  }
  return written;
}
