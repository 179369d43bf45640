/**
 * The teacher at run time: a folder, its graph with the requested features exposed as outputs, and
 * an onnxruntime session. `run(batch)` returns logits, hidden states and attention per layer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Batch } from '../data/types.ts';
import { GraphIndex } from '../onnx/graph.ts';
import { checkExternalData, confinedExternalFile, externalDataIn, loadModelProto, saveModelProto, type ModelProto } from '../onnx/proto.ts';
import { UserError } from '../util/errors.ts';
import { loadTeacherFolder, type TeacherFolder } from './folder.ts';
import { createSession, type OnnxSession, type OutputTensor, type ProviderPreference, type TensorFeed } from './session.ts';
import { checkBertInputs } from './structure.ts';
import { reorderLogits } from './labels.ts';
import { findLogitsOutput, graphInputs, logitsNotice, positionLimit, positionTableRows, type GraphInput, type PositionLimit } from './inputs.ts';
import { addFeatureOutputs, emptyFeatureOutputs, type AttentionKind, type FeatureOutputs, type FeatureSelection } from './surgery.ts';
import { wordEmbeddingRows } from './weights.ts';

export interface TeacherOptions {
  hiddenLayers?: number[];
  attentionLayers?: number[];
  /** Default 'scores' (what TinyBERT's attention loss compares). */
  attention?: AttentionKind;
  /** Layers (1-based) whose query / key / value projections are returned (relation losses). Default none. */
  qkvLayers?: number[];
  /** Teacher logit column of each task label (src/teacher/labels.ts); logits come back in the task's order. */
  labelOrder?: number[];
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
  /** By layer (1-based): query / key / value projections, [B, L, H]. */
  query: Map<number, OutputTensor>;
  key: Map<number, OutputTensor>;
  value: Map<number, OutputTensor>;
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
    /** The graph's inputs as declared (element types, fixed dimensions). */
    readonly inputs: GraphInput[],
    readonly positions: PositionLimit,
    readonly labelOrder?: number[],
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
      qkvLayers: opts.qkvLayers ?? [],
      float16: opts.float16,
    };
    if (selection.attention === 'none') selection.attentionLayers = [];
    const what = `teacher model ${folder.onnxPath}`;
    proto ??= loadModelProto(folder.onnxPath);
    checkExternalData(proto, path.dirname(folder.onnxPath));
    const index = new GraphIndex(proto.graph!, externalDataIn(path.dirname(folder.onnxPath)));
    const { hasTokenTypeIds } = checkBertInputs(index, what);
    const rows = wordEmbeddingRows(index);
    if (rows !== undefined && rows !== folder.tokenizer.vocabSize) {
      throw new UserError(`${what}: its word embedding has ${rows} rows but the tokenizer in ${dir} has ${folder.tokenizer.vocabSize} tokens`);
    }
    const inputs = graphInputs(proto.graph!, what);
    const logits = findLogitsOutput(proto.graph!, folder.config.num_labels);
    const warn = logitsNotice(what, logits);
    if (warn) (opts.notice ?? ((m: string) => process.stderr.write(m + '\n')))(warn);
    const positions = positionLimit(folder.config, positionTableRows(index, rows));
    let runPath = folder.onnxPath;
    let outputs: FeatureOutputs = emptyFeatureOutputs();
    const needsSurgery = selection.hiddenLayers.length > 0 || selection.attentionLayers.length > 0 || (selection.qkvLayers?.length ?? 0) > 0;
    if (needsSurgery && /^deberta/.test(folder.config.model_type ?? '')) {
      throw new UserError(
        `${what}: ${folder.config.model_type} adds disentangled relative-position terms (c2p / p2c) to every attention score, which the BERT-layout ` +
          'feature finder and student do not model, so hidden states and attention are not read from it. Its logits are: cache with --logits-only and train with logit losses only',
      );
    }
    if (needsSurgery) {
      const result = addFeatureOutputs(proto, selection, what, logits.name);
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
    } else if (logits.name) {
      outputs.logits = logits.name;
    }
    if (!outputs.logits && !needsSurgery) throw new UserError(`${what} has no "logits" output and no single rank-2 output to take for it; it has [${index.outputNames.join(', ')}]`);
    const session = await createSession(runPath, { provider: opts.provider, intraOpThreads: opts.intraOpThreads, notice: opts.notice });
    return new Teacher(folder, session, outputs, selection, hasTokenTypeIds, runPath, inputs, positions, opts.labelOrder);
  }

  get provider(): string {
    return this.session.provider;
  }

  /** Longest sequence the teacher takes: its position table's rows less RoBERTa's offset, or a fixed input length. */
  get maxPositions(): number {
    const fixed = this.fixedLength;
    return fixed !== undefined ? Math.min(fixed, this.positions.limit) : this.positions.limit;
  }

  /** The sequence length of a fixed-shape export (batches are padded to it). */
  get fixedLength(): number | undefined {
    return this.inputs.find((i) => i.name === 'input_ids')?.dims[1];
  }

  /**
   * Feeds for one padded batch, in the element types the graph declares; padded to a fixed-shape
   * export's sequence length (outputs are cut back in run()).
   */
  feeds(batch: Batch): Record<string, TensorFeed> {
    if (batch.seqLen > this.maxPositions) {
      const why = this.fixedLength !== undefined && this.fixedLength < this.positions.limit ? `its fixed input length` : `its position table${this.positions.offset ? ` (${this.positions.rows} rows less the offset ${this.positions.offset})` : ''}`;
      throw new UserError(`a batch has sequence length ${batch.seqLen}, longer than the teacher takes: ${this.maxPositions} by ${why}; lower --max-length to at most ${this.maxPositions}`);
    }
    const L = this.fixedLength ?? batch.seqLen;
    const pad = (data: ArrayLike<number>, fill: number): ArrayLike<number> => {
      if (L === batch.seqLen) return data;
      const out = new Int32Array(batch.size * L).fill(fill);
      for (let b = 0; b < batch.size; b++) for (let i = 0; i < batch.seqLen; i++) out[b * L + i] = data[b * batch.seqLen + i];
      return out;
    };
    const dims = [batch.size, L];
    const type = (name: string) => this.inputs.find((i) => i.name === name)?.type ?? 'int64';
    const feeds: Record<string, TensorFeed> = {
      input_ids: { data: pad(batch.inputIds, this.folder.tokenizer.padId), dims, type: type('input_ids') },
      attention_mask: { data: pad(batch.attentionMask, 0), dims, type: type('attention_mask') },
    };
    if (this.hasTokenTypeIds) feeds.token_type_ids = { data: pad(batch.tokenTypeIds, 0), dims, type: type('token_type_ids') };
    return feeds;
  }

  async run(batch: Batch, opts: { logitsOnly?: boolean } = {}): Promise<TeacherOutputs> {
    const fixedBatch = this.inputs.find((i) => i.name === 'input_ids')?.dims[0];
    if (fixedBatch !== undefined && fixedBatch !== batch.size) return this.runInChunks(batch, fixedBatch, opts);
    const o = this.outputs;
    const wanted = opts.logitsOnly
      ? [o.logits!]
      : [o.logits, ...o.hidden.values(), ...o.scores.values(), ...o.probs.values(), ...o.query.values(), ...o.key.values(), ...o.value.values()].filter((x): x is string => !!x);
    const raw = await this.session.run(this.feeds(batch), wanted);
    const r = this.fixedLength !== undefined && this.fixedLength !== batch.seqLen ? cropSequence(raw, batch.seqLen, this.outputs) : raw;
    const pick = (m: Map<number, string>) => new Map(opts.logitsOnly ? [] : [...m].map(([l, name]) => [l, r[name]] as const));
    const logits = o.logits ? r[o.logits] : undefined;
    const ordered = logits && this.labelOrder ? { data: reorderLogits(logits.data, this.labelOrder), dims: logits.dims } : logits;
    return { logits: ordered, hidden: pick(o.hidden), scores: pick(o.scores), probs: pick(o.probs), query: pick(o.query), key: pick(o.key), value: pick(o.value) };
  }

  /** A fixed-batch export (e.g. batch 1) runs `size` rows at a time; the pieces are joined on axis 0. */
  private async runInChunks(batch: Batch, size: number, opts: { logitsOnly?: boolean }): Promise<TeacherOutputs> {
    const parts: TeacherOutputs[] = [];
    const L = batch.seqLen;
    for (let start = 0; start < batch.size; start += size) {
      const rows = Array.from({ length: size }, (_, k) => Math.min(start + k, batch.size - 1));
      const take = (d: Int32Array) => Int32Array.from(rows.flatMap((r) => Array.from(d.subarray(r * L, (r + 1) * L))));
      const piece: Batch = { ...batch, size, inputIds: take(batch.inputIds), attentionMask: take(batch.attentionMask), tokenTypeIds: take(batch.tokenTypeIds), lengths: rows.map((r) => batch.lengths[r]), indices: rows.map((r) => batch.indices[r]) };
      parts.push(await this.run(piece, opts));
    }
    const join = (ts: (OutputTensor | undefined)[]): OutputTensor | undefined => {
      if (!ts[0]) return undefined;
      const per = ts[0].data.length / ts[0].dims[0];
      const data = new Float32Array(batch.size * per);
      ts.forEach((t, i) => data.set(t!.data.subarray(0, Math.min(size, batch.size - i * size) * per), i * size * per));
      return { data, dims: [batch.size, ...ts[0].dims.slice(1)] };
    };
    const joinMap = (key: 'hidden' | 'scores' | 'probs' | 'query' | 'key' | 'value') => new Map([...parts[0][key].keys()].map((l) => [l, join(parts.map((p) => p[key].get(l)))!] as const));
    return {
      logits: join(parts.map((p) => p.logits)),
      hidden: joinMap('hidden'), scores: joinMap('scores'), probs: joinMap('probs'),
      query: joinMap('query'), key: joinMap('key'), value: joinMap('value'),
    };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Cuts a fixed-length export's [B, Lfixed, …] features back to the batch's length (hidden on axis 1, attention on axes 2 and 3). */
function cropSequence(r: Record<string, OutputTensor>, L: number, o: FeatureOutputs): Record<string, OutputTensor> {
  const out: Record<string, OutputTensor> = { ...r };
  const crop = (t: OutputTensor, attention: boolean): OutputTensor => {
    const [B, ...rest] = t.dims;
    const src = t.data;
    if (!attention) {
      const [Lf, H] = rest;
      const data = new Float32Array(B * L * H);
      for (let b = 0; b < B; b++) data.set(src.subarray(b * Lf * H, (b * Lf + L) * H), b * L * H);
      return { data, dims: [B, L, H] };
    }
    const [A, Lf] = rest;
    const data = new Float32Array(B * A * L * L);
    for (let b = 0; b < B * A; b++) for (let i = 0; i < L; i++) data.set(src.subarray((b * Lf + i) * Lf, (b * Lf + i) * Lf + L), (b * L + i) * L);
    return { data, dims: [B, A, L, L] };
  };
  for (const name of [...o.hidden.values(), ...o.query.values(), ...o.key.values(), ...o.value.values()]) if (r[name]) out[name] = crop(r[name], false);
  for (const name of [...o.scores.values(), ...o.probs.values()]) if (r[name]) out[name] = crop(r[name], true);
  return out;
}

/**
 * The modified model sits in another folder; its external data files (models over 2 GB) appear there as
 * hard links (a copy across file systems), because onnxruntime refuses a location that resolves outside
 * the model's folder, symlinks included. Each location is confined to the teacher's folder first.
 */
function linkExternalData(initializers: { name?: string | null; externalData?: { key?: string | null; value?: string | null }[] | null }[], fromDir: string, toDir: string): void {
  const files = new Map<string, string>();
  for (const t of initializers) for (const e of t.externalData ?? []) if (e.key === 'location' && e.value) files.set(e.value, t.name ?? '?');
  for (const [f, tensor] of files) {
    const source = confinedExternalFile(fromDir, f, tensor);
    const target = path.join(toDir, f);
    if (!path.resolve(target).startsWith(path.resolve(toDir) + path.sep)) throw new UserError(`tensor ${tensor}: external data location "${f}" resolves outside the model folder`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.rmSync(target, { force: true });
    try {
      fs.linkSync(source, target);
    } catch {
      fs.copyFileSync(source, target);
    }
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
