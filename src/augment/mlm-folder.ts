/**
 * Opens a masked-LM model folder (Hugging Face layout: config.json, tokenizer.json or vocab.txt,
 * onnx/model.onnx with output `logits` [B, L, V]) as an MLM candidate source, through the project's
 * onnxruntime session wrapper (CUDA when installed).
 */
import { loadTeacherFolder, type TeacherFolder } from '../teacher/folder.ts';
import { createSession, type OnnxSession, type ProviderPreference } from '../teacher/session.ts';
import { UserError } from '../util/errors.ts';
import type { MlmSource } from './candidates.ts';
import type { MlmBatch } from './mlm.ts';

export interface MlmFolderOptions {
  k: number;
  provider?: ProviderPreference;
  /** Rows per batch (default 256; 1 gives the one-at-a-time loop). */
  maxBatchRows?: number;
  /** Sort rows by length before batching (default true). */
  sortByLength?: boolean;
  /** Longest MLM input row (default: the model's limit, at most 512). */
  maxLength?: number;
  notice?: (message: string) => void;
}

export interface OpenMlm {
  source: MlmSource;
  session: OnnxSession;
  folder: TeacherFolder;
}

export async function openMlmFolder(dir: string, opts: MlmFolderOptions): Promise<OpenMlm> {
  let folder: TeacherFolder;
  try {
    folder = await loadTeacherFolder(dir);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`masked-LM model: ${e.message.replace(/^teacher folder/, 'folder')}`);
    throw e;
  }
  const tok = folder.tokenizer;
  const vocab: string[] = [];
  for (let i = 0; i < tok.vocabSize; i++) vocab.push(tok.idToToken(i) ?? '');
  const session = await createSession(folder.onnxPath, { provider: opts.provider, notice: opts.notice });
  if (!session.outputNames.includes('logits')) {
    await session.release();
    throw new UserError(`masked-LM model ${folder.onnxPath} has no output "logits" (outputs: ${session.outputNames.join(', ')})`);
  }
  const hasTypes = session.inputNames.includes('token_type_ids');
  const run = async (b: MlmBatch): Promise<Float32Array> => {
    const dims = [b.rows, b.seqLen];
    const feeds: Parameters<OnnxSession['run']>[0] = {
      input_ids: { data: b.inputIds, dims, type: 'int64' },
      attention_mask: { data: b.attentionMask, dims, type: 'int64' },
    };
    if (hasTypes) feeds.token_type_ids = { data: b.tokenTypeIds, dims, type: 'int64' };
    return (await session.run(feeds, ['logits'])).logits.data;
  };
  const piecesOf = new Map<string, number[]>();
  const pieces = (word: string): number[] => {
    let p = piecesOf.get(word);
    if (!p) piecesOf.set(word, (p = tok.tokenizeToIds(word)));
    return p;
  };
  const maxLength = opts.maxLength ?? Math.min(folder.config.max_position_embeddings, tok.modelMaxLength, 512);
  const model = { vocab, clsId: tok.clsId, sepId: tok.sepId, maskId: tok.maskId, padId: tok.padId, maxLength, run };
  const options = { k: opts.k, maxBatchRows: opts.maxBatchRows ?? 256, sortByLength: opts.sortByLength };
  return { source: { model, pieces, options }, session, folder };
}
