/**
 * Turning one batch of teacher outputs into cache records (real tokens only) and back.
 */
import type { Batch } from '../data/types.ts';
import { decodeFloat16, encodeFloat16Range } from '../onnx/float16.ts';
import type { OutputTensor } from '../teacher/session.ts';
import type { TeacherOutputs } from '../teacher/teacher.ts';
import { UserError } from '../util/errors.ts';
import { recordSections, type CacheLayout } from './format.ts';

export interface CachedExample {
  index: number;
  length: number;
  /** [numLabels], when the cache stores logits. */
  logits?: Float32Array;
  /** One per manifest layout.hiddenLayers entry (same order): length × hidden, row-major. */
  hidden: Float32Array[];
  /** Pre-softmax scores, one per layout.attentionLayers entry: heads × length × length. */
  attention: Float32Array[];
  /** Softmax probabilities, when stored: heads × length × length each. */
  attentionProbs?: Float32Array[];
  /** One per layout.qkvLayers entry: query, key and value projections, 3 × length × hidden (in that order). */
  qkv?: Float32Array[];
}

function expectDims(name: string, t: OutputTensor | undefined, dims: number[]): OutputTensor {
  if (!t) throw new Error(`internal: teacher output ${name} missing`);
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    throw new UserError(`teacher output ${name} has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}] (check num_attention_heads / hidden_size / num_labels in config.json)`);
  }
  return t;
}

/** The bytes encodeBatchRecords writes for a batch. */
export function batchRecordBytes(batch: Batch, layout: CacheLayout): number {
  return batch.lengths.reduce((s, len) => s + recordSections(layout, len).total, 0);
}

/**
 * Encodes the batch's records, rows in batch order, into one buffer: the front of `into` when it is
 * given and large enough (every byte of the result is written, so a reused buffer needs no clearing),
 * else a new one. Reusing matters: a fresh multi-megabyte buffer per batch costs more in page faults
 * than the copy itself.
 */
export function encodeBatchRecords(out: TeacherOutputs, batch: Batch, layout: CacheLayout, into?: Uint8Array): Uint8Array {
  const { size: B, seqLen: L } = batch;
  const { hiddenSize: H, numHeads: A } = layout;
  const sections = batch.lengths.map((len) => recordSections(layout, len));
  const total = sections.reduce((s, r) => s + r.total, 0);
  // Views below start at offset 0 of the buffer: a reused one must be a whole ArrayBuffer's front.
  const buf = into && into.byteOffset === 0 && into.byteLength >= total ? into.subarray(0, total) : new Uint8Array(total);
  // Every section starts at a multiple of the value width, so one view over the batch serves all.
  const half = layout.dtype === 'float16';
  const u16 = half ? new Uint16Array(buf.buffer, 0, total >> 1) : undefined;
  const f32 = half ? undefined : new Float32Array(buf.buffer, 0, total >> 2);
  const width = half ? 2 : 4;
  /** Copies count values from t at element `from` to byte `at`, converting to the record dtype. */
  const copy = (t: Source, from: number, count: number, at: number) => {
    const d = at / width;
    if (u16 && t.half) {
      if (count > 64) u16.set(t.half.subarray(from, from + count), d);
      else for (let k = 0; k < count; k++) u16[d + k] = t.half[from + k];
    }
    else if (u16) encodeFloat16Range(t.bits!, from, count, u16, d);
    else if (count > 64) f32!.set(t.tensor.data.subarray(from, from + count), d);
    else for (let k = 0, src = t.tensor.data; k < count; k++) f32![d + k] = src[from + k];
  };
  // Half outputs (the teacher's float16 mode) are stored bit for bit; float32 ones are converted here.
  type Source = { tensor: OutputTensor; half?: Uint16Array; bits?: Uint32Array };
  const withBits = (t: OutputTensor): Source => {
    if (t.float16Bits) return { tensor: t, half: t.float16Bits };
    return { tensor: t, bits: u16 ? new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length) : undefined };
  };
  const logits = layout.logits ? expectDims('logits', out.logits, [B, layout.numLabels]) : undefined;
  const hidden = layout.hiddenLayers.map((l) => withBits(expectDims(`hidden ${l}`, out.hidden.get(l), [B, L, H])));
  const scores = layout.scores ? layout.attentionLayers.map((l) => withBits(expectDims(`attention scores ${l}`, out.scores.get(l), [B, A, L, L]))) : [];
  const probs = layout.probs ? layout.attentionLayers.map((l) => withBits(expectDims(`attention probs ${l}`, out.probs.get(l), [B, A, L, L]))) : [];
  const qkv = (layout.qkvLayers ?? []).map((l) =>
    (['query', 'key', 'value'] as const).map((part) => withBits(expectDims(`${part} ${l}`, out[part]?.get(l), [B, L, H]))),
  );
  let base = 0;
  for (let b = 0; b < B; b++) {
    const len = batch.lengths[b];
    const s = sections[b];
    if (logits) new Float32Array(buf.buffer, base + s.logits, layout.numLabels).set(logits.data.subarray(b * layout.numLabels, (b + 1) * layout.numLabels));
    hidden.forEach((t, k) => copy(t, b * L * H, len * H, base + s.hidden[k]));
    // The real len × len block of each head, row by row.
    const block = (t: Source, at: number) => {
      for (let h = 0; h < A; h++) for (let i = 0; i < len; i++) copy(t, ((b * A + h) * L + i) * L, len, at + width * (h * len + i) * len);
    };
    scores.forEach((t, k) => block(t, base + s.scores[k]));
    probs.forEach((t, k) => block(t, base + s.probs[k]));
    qkv.forEach((parts, k) => parts.forEach((t, j) => copy(t, b * L * H, len * H, base + s.qkv[k] + j * width * len * H)));
    base += s.total;
  }
  return buf;
}

/** Decodes one record (the bytes of `buf` must start at offset 0 of a fresh buffer, for alignment). */
export function decodeRecord(buf: Uint8Array, layout: CacheLayout, index: number, length: number): CachedExample {
  const s = recordSections(layout, length);
  const half = layout.dtype === 'float16';
  const read = (at: number, count: number): Float32Array =>
    half ? decodeFloat16(new Uint16Array(buf.buffer, buf.byteOffset + at, count)) : new Float32Array(buf.buffer, buf.byteOffset + at, count).slice();
  const block = layout.numHeads * length * length;
  const ex: CachedExample = {
    index,
    length,
    hidden: s.hidden.map((at) => read(at, length * layout.hiddenSize)),
    attention: s.scores.map((at) => read(at, block)),
  };
  if (layout.logits) ex.logits = new Float32Array(buf.buffer, buf.byteOffset + s.logits, layout.numLabels).slice();
  if (layout.probs) ex.attentionProbs = s.probs.map((at) => read(at, block));
  if (layout.qkvLayers?.length) ex.qkv = s.qkv.map((at) => read(at, 3 * length * layout.hiddenSize));
  return ex;
}
