/**
 * The teacher's hidden states and attention scores in the page, for the intermediate stage: the toolkit's
 * graph surgery (src/teacher/surgery.ts, as `distill cache` and Node's online teacher apply it) adds them to
 * the teacher's ONNX as outputs, in memory; onnxruntime-web runs the result per batch, and batchRows cuts
 * the padded outputs to real tokens as the cache stores them.
 */
import * as ort from 'onnxruntime-web';
import type { Batch } from '../../../src/data/types.ts';
import { batchRows, type CachedExample, type NeededFeatures } from '../../../src/distill/teacher-features.ts';
import { decodeModelProto, onnx } from '../../../src/onnx/proto-core.ts';
import { parseTeacherConfig } from '../../../src/teacher/config.ts';
import { addFeatureOutputs } from '../../../src/teacher/surgery.ts';
import { UserError } from '../../../src/util/errors.ts';
import { readBytes, readText, type PickedFolder } from '../folder.ts';
import { createSession, feedMakers, onnxFileOf } from '../model.ts';

export interface TeacherShape {
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
}

export interface TeacherFeatures {
  shape: TeacherShape;
  /** Rows of the needed hidden states (by hidden index) and attention scores (by 0-based layer), real tokens only. */
  features(batch: Batch, need: NeededFeatures): Promise<CachedExample[]>;
  release(): Promise<void>;
}

/** Opens the teacher with every hidden state and every layer's pre-softmax attention scores exposed (on wasm). */
export async function openTeacherFeatures(folder: PickedFolder): Promise<TeacherFeatures> {
  const configWhere = `${folder.name}/config.json`;
  // The CLI's reader of config.json (its checks and its DistilBERT / GPT-style key aliases).
  const config = parseTeacherConfig(await readText(folder, 'config.json'), configWhere);
  const shape: TeacherShape = { numLayers: config.num_hidden_layers, hiddenSize: config.hidden_size, numHeads: config.num_attention_heads };
  const file = onnxFileOf(folder, 'fp32');
  const where = `${folder.name}/${file}`;
  const n = shape.numLayers;
  const { model, outputs, structure } = addFeatureOutputs(decodeModelProto(await readBytes(folder, file), where), {
    hiddenLayers: Array.from({ length: n + 1 }, (_, i) => i),
    attentionLayers: Array.from({ length: n }, (_, i) => i + 1),
    attention: 'scores',
  }, where);
  if (structure.numLayers !== n) throw new UserError(`${where}: the graph has ${structure.numLayers} encoder layers, ${configWhere} says num_hidden_layers ${n}`);
  const session = await createSession(onnx.ModelProto.encode(model).finish(), where, 'wasm');
  const feeds = feedMakers(session, where);
  return {
    shape,
    async features(batch, need) {
      // Features' indices: hidden h is graph output hidden.h; attention a (0-based) is layer a + 1's scores.
      const hiddenNames = new Map(need.hidden.map((h) => [h, outputs.hidden.get(h)!]));
      const scoreNames = new Map(need.attention.map((a) => [a, outputs.scores.get(a + 1)!]));
      const names = [...hiddenNames.values(), ...scoreNames.values()];
      if (names.some((x) => x === undefined)) throw new Error(`internal: a needed teacher layer is not exposed (hidden ${need.hidden}, attention ${need.attention})`);
      const feed = Object.fromEntries([...feeds].map(([name, make]) => [name, make(batch)]));
      const out = await session.run(feed, names);
      const read = async (name: string) => {
        const t = out[name] as ort.Tensor;
        const data = (await t.getData()) as Float32Array;
        t.dispose();
        return data;
      };
      const hidden = new Map<number, Float32Array>();
      for (const [h, name] of hiddenNames) hidden.set(h, await read(name));
      const attention = new Map<number, Float32Array>();
      for (const [a, name] of scoreNames) attention.set(a, await read(name));
      return batchRows(batch, { hidden, attention }, { hiddenSize: shape.hiddenSize, numHeads: shape.numHeads });
    },
    release: () => session.release(),
  };
}
