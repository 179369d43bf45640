/**
 * The teacher at run time: a folder, its graph with the requested features exposed as outputs, and
 * an onnxruntime session. `run(batch)` returns logits, hidden states and attention per layer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Batch } from '../data/types.ts';
import { GraphIndex } from '../onnx/graph.ts';
import { loadModelProto, saveModelProto, type ModelProto } from '../onnx/proto.ts';
import { UserError } from '../util/errors.ts';
import { loadTeacherFolder, type TeacherFolder } from './folder.ts';
import { createSession, type OnnxSession, type OutputTensor, type ProviderPreference, type TensorFeed } from './session.ts';
import { checkBertInputs } from './structure.ts';
import { addFeatureOutputs, type AttentionKind, type FeatureOutputs, type FeatureSelection } from './surgery.ts';
import { wordEmbeddingRows } from './weights.ts';

export interface TeacherOptions {
  hiddenLayers?: number[];
  attentionLayers?: number[];
  /** Default 'scores' (what TinyBERT's attention loss compares). */
  attention?: AttentionKind;
  /** Emit hidden states and attention as float16 (see FeatureSelection.float16). */
  float16?: boolean;
  /** Where the modified model is written (never over the user's file); required when features are exposed. */
  workDir?: string;
  provider?: ProviderPreference;
  intraOpThreads?: number;
  notice?: (message: string) => void;
}

export interface TeacherOutputs {
  /** [B, numLabels] */
  logits?: OutputTensor;
  /** By layer (0 = embeddings): [B, L, H]. */
  hidden: Map<number, OutputTensor>;
  /** By layer (1-based): [B, heads, L, L]. */
  scores: Map<number, OutputTensor>;
  probs: Map<number, OutputTensor>;
}

/** File name of the modified model inside workDir. */
export const SURGERY_FILE = 'teacher-features.onnx';

export class Teacher {
  private constructor(
    readonly folder: TeacherFolder,
    readonly session: OnnxSession,
    readonly outputs: FeatureOutputs,
    readonly selection: FeatureSelection,
    readonly hasTokenTypeIds: boolean,
    /** The ONNX file the session runs: the user's, or the modified copy in workDir. */
    readonly runPath: string,
  ) {}

  static async load(dir: string, opts: TeacherOptions = {}): Promise<Teacher> {
    return Teacher.fromFolder(await loadTeacherFolder(dir), opts);
  }

  /** The plain model, for evaluation: logits only, nothing written. */
  static async forLogits(dir: string, opts: Pick<TeacherOptions, 'provider' | 'intraOpThreads' | 'notice'> = {}): Promise<Teacher> {
    return Teacher.load(dir, { ...opts, hiddenLayers: [], attention: 'none' });
  }

  /** `proto` may be passed when the caller already parsed folder.onnxPath. */
  static async fromFolder(folder: TeacherFolder, opts: TeacherOptions = {}, proto?: ModelProto): Promise<Teacher> {
    const dir = folder.dir;
    const n = folder.config.num_hidden_layers;
    const selection: FeatureSelection = {
      hiddenLayers: opts.hiddenLayers ?? Array.from({ length: n + 1 }, (_, i) => i),
      attentionLayers: opts.attentionLayers ?? Array.from({ length: n }, (_, i) => i + 1),
      attention: opts.attention ?? 'scores',
      float16: opts.float16,
    };
    if (selection.attention === 'none') selection.attentionLayers = [];
    const what = `teacher model ${folder.onnxPath}`;
    proto ??= loadModelProto(folder.onnxPath);
    const index = new GraphIndex(proto.graph!, path.dirname(folder.onnxPath));
    const { hasTokenTypeIds } = checkBertInputs(index, what);
    const rows = wordEmbeddingRows(index);
    if (rows !== undefined && rows !== folder.tokenizer.vocabSize) {
      throw new UserError(`${what}: its word embedding has ${rows} rows but the tokenizer in ${dir} has ${folder.tokenizer.vocabSize} tokens`);
    }
    let runPath = folder.onnxPath;
    let outputs: FeatureOutputs = { hidden: new Map(), scores: new Map(), probs: new Map() };
    const needsSurgery = selection.hiddenLayers.length > 0 || selection.attentionLayers.length > 0;
    if (needsSurgery) {
      const result = addFeatureOutputs(proto, selection, what);
      if (result.structure.numLayers !== n) {
        throw new UserError(`${what} has ${result.structure.numLayers} attention layers but config.json says num_hidden_layers ${n}`);
      }
      if (!opts.workDir) throw new Error('internal: Teacher.load needs workDir to write the modified model');
      fs.mkdirSync(opts.workDir, { recursive: true });
      runPath = path.join(opts.workDir, SURGERY_FILE);
      if (path.resolve(runPath) === path.resolve(folder.onnxPath)) throw new UserError(`refusing to overwrite the teacher's own file ${folder.onnxPath}`);
      linkExternalData(proto.graph!.initializer ?? [], path.dirname(folder.onnxPath), opts.workDir);
      saveModelProto(result.model, runPath);
      outputs = result.outputs;
    } else if (index.outputNames.includes('logits')) {
      outputs.logits = 'logits';
    }
    if (!outputs.logits && !needsSurgery) throw new UserError(`${what} has no "logits" output; it has [${index.outputNames.join(', ')}]`);
    const session = await createSession(runPath, { provider: opts.provider, intraOpThreads: opts.intraOpThreads, notice: opts.notice });
    return new Teacher(folder, session, outputs, selection, hasTokenTypeIds, runPath);
  }

  get provider(): string {
    return this.session.provider;
  }

  get maxPositions(): number {
    return this.folder.config.max_position_embeddings;
  }

  /** Feeds for one padded batch (ids, mask and token types as int64). */
  feeds(batch: Batch): Record<string, TensorFeed> {
    if (batch.seqLen > this.maxPositions) {
      throw new UserError(`a batch has sequence length ${batch.seqLen}, longer than the teacher's max_position_embeddings ${this.maxPositions}`);
    }
    const dims = [batch.size, batch.seqLen];
    const feeds: Record<string, TensorFeed> = {
      input_ids: { data: batch.inputIds, dims, type: 'int64' },
      attention_mask: { data: batch.attentionMask, dims, type: 'int64' },
    };
    if (this.hasTokenTypeIds) feeds.token_type_ids = { data: batch.tokenTypeIds, dims, type: 'int64' };
    return feeds;
  }

  async run(batch: Batch, opts: { logitsOnly?: boolean } = {}): Promise<TeacherOutputs> {
    const o = this.outputs;
    const wanted = opts.logitsOnly ? [o.logits!] : [o.logits, ...o.hidden.values(), ...o.scores.values(), ...o.probs.values()].filter((x): x is string => !!x);
    const r = await this.session.run(this.feeds(batch), wanted);
    const pick = (m: Map<number, string>) => new Map(opts.logitsOnly ? [] : [...m].map(([l, name]) => [l, r[name]] as const));
    return { logits: o.logits ? r[o.logits] : undefined, hidden: pick(o.hidden), scores: pick(o.scores), probs: pick(o.probs) };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** The modified model sits in another folder; its external data files (models over 2 GB) are linked there. */
function linkExternalData(initializers: { externalData?: { key?: string | null; value?: string | null }[] | null }[], fromDir: string, toDir: string): void {
  const files = new Set<string>();
  for (const t of initializers) for (const e of t.externalData ?? []) if (e.key === 'location' && e.value) files.add(e.value);
  for (const f of files) {
    const target = path.join(toDir, f);
    if (!fs.existsSync(target)) fs.symlinkSync(path.resolve(fromDir, f), target);
  }
}

/**
 * Runs the teacher over batches for evaluation: one Float32Array of [size × numLabels] logits per
 * batch, in batch order.
 */
export async function teacherLogits(teacher: Teacher, batches: Iterable<Batch>): Promise<Float32Array[]> {
  if (!teacher.outputs.logits) throw new UserError('the teacher has no "logits" output, so it cannot be evaluated');
  const out: Float32Array[] = [];
  for (const b of batches) out.push((await teacher.run(b, { logitsOnly: true })).logits!.data);
  return out;
}
