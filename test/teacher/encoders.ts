/**
 * The encoder compatibility fixtures (scripts/make_encoder_fixtures.py): tiny Hugging Face models
 * of each family, exported by each exporter, with PyTorch's outputs in reference.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Batch } from '../../src/data/types.ts';
import { FIXTURES } from './helpers.ts';

export const ENCODERS = path.join(FIXTURES, 'encoders');

export interface Flat {
  0: number[];
  1: number[];
}

export interface TokenizerCase {
  text: string;
  pairWith: string;
  ids: number[];
  single: number[];
  pair: number[];
  pairTypes?: number[];
}

export interface EncoderReference {
  family: string;
  inputNames: string[];
  lengths: number[];
  batch: Record<string, number[][]>;
  /** [values, shape] */
  logits: [number[], number[]];
  hidden: [number[], number[]][];
  attentions: [number[], number[]][];
  specials: Record<'cls' | 'sep' | 'pad' | 'unk' | 'mask', number>;
  tokenizer: TokenizerCase[];
}

export interface EncoderManifest {
  family: string;
  exports: Record<string, { error?: string; exporter?: string; opset?: number | null; tool?: string }>;
}

export const familyDir = (family: string) => path.join(ENCODERS, family);

export function families(): string[] {
  return fs.readdirSync(ENCODERS).filter((f) => fs.existsSync(path.join(ENCODERS, f, 'reference.json'))).sort();
}

export function readEncoderReference(family: string): EncoderReference {
  return JSON.parse(fs.readFileSync(path.join(familyDir(family), 'reference.json'), 'utf8'));
}

export function readManifest(family: string): EncoderManifest {
  return JSON.parse(fs.readFileSync(path.join(familyDir(family), 'manifest.json'), 'utf8'));
}

/**
 * A teacher folder as a user has it: the family's config and tokenizer files, and one export as
 * model.onnx (copied, so the fixture itself is never the teacher's own file).
 */
export function teacherFolder(family: string, exportName: string, into: string): string {
  const dir = path.join(into, `${family}-${exportName}`);
  fs.mkdirSync(dir, { recursive: true });
  const src = familyDir(family);
  for (const f of fs.readdirSync(src)) {
    if (f.endsWith('.onnx') || f === 'reference.json' || f === 'manifest.json') continue;
    const p = path.join(src, f);
    if (fs.statSync(p).isFile()) fs.copyFileSync(p, path.join(dir, f));
  }
  fs.copyFileSync(path.join(src, `${exportName}.onnx`), path.join(dir, 'model.onnx'));
  return dir;
}

/** The reference inputs as a padded Batch (token types zero where the family has none). */
export function encoderBatch(ref: EncoderReference): Batch {
  const ids = ref.batch.input_ids;
  const size = ids.length;
  const seqLen = ids[0].length;
  const zeros = ids.map((r) => r.map(() => 0));
  return {
    size,
    seqLen,
    inputIds: Int32Array.from(ids.flat()),
    attentionMask: Int32Array.from(ref.batch.attention_mask.flat()),
    tokenTypeIds: Int32Array.from((ref.batch.token_type_ids ?? zeros).flat()),
    lengths: ref.lengths,
    indices: ref.lengths.map((_, i) => i),
  };
}
