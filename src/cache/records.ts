/**
 * Turning one batch of teacher outputs into cache records (real tokens only) and back.
 */
import type { Batch } from '../data/types.ts';
import { decodeFloat16, encodeFloat16 } from '../onnx/float16.ts';
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
}

function expectDims(name: string, t: OutputTensor | undefined, dims: number[]): OutputTensor {
  if (!t) throw new Error(`internal: teacher output ${name} missing`);
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    throw new UserError(`teacher output ${name} has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}] (check num_attention_heads / hidden_size / num_labels in config.json)`);
  }
  return t;
}

/** Encodes the batch's records, rows in batch order, into one buffer. */
export function encodeBatchRecords(out: TeacherOutputs, batch: Batch, layout: CacheLayout): Uint8Array {
  const { size: B, seqLen: L } = batch;
  const { hiddenSize: H, numHeads: A } = layout;
  const sections = batch.lengths.map((len) => recordSections(layout, len));
  const total = sections.reduce((s, r) => s + r.total, 0);
  const buf = new Uint8Array(total);
  const half = layout.dtype === 'float16';
  const scratch = new Float32Array(Math.max(L * H, A * L * L));
  /** Writes `values` (float32) at byte `at` in the record dtype. */
  const put = (at: number, values: Float32Array) => {
    if (half) encodeFloat16(values, new Uint16Array(buf.buffer, at, values.length));
    else new Float32Array(buf.buffer, at, values.length).set(values);
  };
  const logits = layout.logits ? expectDims('logits', out.logits, [B, layout.numLabels]) : undefined;
  const hidden = layout.hiddenLayers.map((l) => expectDims(`hidden ${l}`, out.hidden.get(l), [B, L, H]));
  const scores = layout.scores ? layout.attentionLayers.map((l) => expectDims(`attention scores ${l}`, out.scores.get(l), [B, A, L, L])) : [];
  const probs = layout.probs ? layout.attentionLayers.map((l) => expectDims(`attention probs ${l}`, out.probs.get(l), [B, A, L, L])) : [];
  let base = 0;
  for (let b = 0; b < B; b++) {
    const len = batch.lengths[b];
    const s = sections[b];
    if (logits) new Float32Array(buf.buffer, base + s.logits, layout.numLabels).set(logits.data.subarray(b * layout.numLabels, (b + 1) * layout.numLabels));
    hidden.forEach((t, k) => put(base + s.hidden[k], t.data.subarray(b * L * H, (b * L + len) * H)));
    const block = (t: OutputTensor, at: number) => {
      const v = scratch.subarray(0, A * len * len);
      for (let h = 0; h < A; h++)
        for (let i = 0; i < len; i++) {
          const from = ((b * A + h) * L + i) * L;
          v.set(t.data.subarray(from, from + len), (h * len + i) * len);
        }
      put(at, v);
    };
    scores.forEach((t, k) => block(t, base + s.scores[k]));
    probs.forEach((t, k) => block(t, base + s.probs[k]));
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
  return ex;
}
