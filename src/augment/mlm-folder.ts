/**
 * Opens a masked-LM model folder (Hugging Face layout: config.json, tokenizer.json or vocab.txt,
 * onnx/model.onnx with output `logits` [B, L, V]) as an MLM candidate source, through the project's
 * onnxruntime session wrapper (CUDA when installed).
 */
import { loadTeacherFolder, type TeacherFolder } from '../teacher/folder.ts';
import { createSession, type OnnxSession, type ProviderPreference } from '../teacher/session.ts';
import { UserError } from '../util/errors.ts';
import { encodeModelProto, loadModelProto } from '../onnx/proto.ts';
import type { MlmSource } from './candidates.ts';
import { candidatePieceIds, type MlmBatch, type MlmModel } from './mlm.ts';
import { logitsVocabSize, maskedTopKModel, MASKED_INDEX, TOP_INDICES, TOP_VALUES } from './mlm-surgery.ts';

export interface MlmFolderOptions {
  k: number;
  provider?: ProviderPreference;
  /** Rows per batch (default 256; 1 gives the one-at-a-time loop). */
  maxBatchRows?: number;
  /** Sort rows by length before batching (default true). */
  sortByLength?: boolean;
  /** Longest MLM input row (default: the model's limit, at most 512). */
  maxLength?: number;
  /**
   * Rewrite the graph to score only masked positions and return their top-k (default true; falls
   * back to full logits when the decoder is not recognised).
   */
  fastPath?: boolean;
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
  const proto = loadModelProto(folder.onnxPath);
  const modelVocab = logitsVocabSize(proto);
  if (modelVocab !== undefined && modelVocab !== vocab.length) {
    throw new UserError(`masked-LM model ${folder.onnxPath} scores ${modelVocab} pieces but its tokenizer has ${vocab.length}: the model's vocabulary does not match its tokenizer`);
  }
  const sessionOpts = { provider: opts.provider, notice: opts.notice };
  const rewritten = opts.fastPath === false ? null : maskedTopKModel(proto, candidatePieceIds(vocab), vocab.length, opts.k);
  const fast = rewritten ? await createSession(encodeModelProto(rewritten), sessionOpts) : undefined;
  // The plain session (all positions' logits) opens only when something asks for it.
  let plain: Promise<OnnxSession> | undefined = fast ? undefined : createSession(folder.onnxPath, sessionOpts);
  const plainSession = (): Promise<OnnxSession> => (plain ??= createSession(folder.onnxPath, sessionOpts));
  const first = fast ?? (await plainSession());
  if (!fast && !first.outputNames.includes('logits')) {
    await first.release();
    throw new UserError(`masked-LM model ${folder.onnxPath} has no output "logits" (outputs: ${first.outputNames.join(', ')})`);
  }
  const hasTypes = first.inputNames.includes('token_type_ids');
  const feedsOf = (b: MlmBatch): Parameters<OnnxSession['run']>[0] => {
    const dims = [b.rows, b.seqLen];
    const feeds: Parameters<OnnxSession['run']>[0] = {
      input_ids: { data: b.inputIds, dims, type: 'int64' },
      attention_mask: { data: b.attentionMask, dims, type: 'int64' },
    };
    if (hasTypes) feeds.token_type_ids = { data: b.tokenTypeIds, dims, type: 'int64' };
    return feeds;
  };
  const run = async (b: MlmBatch): Promise<Float32Array> => (await (await plainSession()).run(feedsOf(b), ['logits'])).logits.data;
  const topAtMask: MlmModel['topAtMask'] = fast
    ? async (b, flatIndex) => {
        const feeds = feedsOf(b);
        feeds[MASKED_INDEX] = { data: BigInt64Array.from(flatIndex, BigInt), dims: [flatIndex.length], type: 'int64' };
        const out = await fast.run(feeds, [TOP_VALUES, TOP_INDICES]);
        return { ids: out[TOP_INDICES].data, values: out[TOP_VALUES].data, k: out[TOP_INDICES].dims[1] };
      }
    : undefined;
  const session: OnnxSession = {
    provider: first.provider,
    inputNames: first.inputNames,
    outputNames: first.outputNames,
    run: (feeds, outputs) => first.run(feeds, outputs),
    release: async () => {
      await fast?.release();
      if (plain) await (await plain).release();
    },
  };
  const piecesOf = new Map<string, number[]>();
  const pieces = (word: string): number[] => {
    let p = piecesOf.get(word);
    if (!p) piecesOf.set(word, (p = tok.tokenizeToIds(word)));
    return p;
  };
  const maxLength = opts.maxLength ?? Math.min(folder.config.max_position_embeddings, tok.modelMaxLength, 512);
  const model: MlmModel = { vocab, clsId: tok.clsId, sepId: tok.sepId, maskId: tok.maskId, padId: tok.padId, maxLength, run, topAtMask };
  const options = { k: opts.k, maxBatchRows: opts.maxBatchRows ?? 256, sortByLength: opts.sortByLength };
  return { source: { model, pieces, options }, session, folder };
}
