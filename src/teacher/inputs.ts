/**
 * What the teacher graph declares about its inputs (element types, fixed dimensions) and how long a
 * sequence its position table allows, so feeds match the graph instead of assuming int64 ids and a
 * free batch × length.
 */
import { DataType, type GraphProto } from '../onnx/proto.ts';
import type { GraphIndex } from '../onnx/graph.ts';
import { UserError } from '../util/errors.ts';
import type { TeacherConfig } from './folder.ts';

export type FeedType = 'int64' | 'int32' | 'float32';

export interface GraphInput {
  name: string;
  type: FeedType;
  /** Fixed size of each dimension, or undefined where the graph leaves it free. */
  dims: (number | undefined)[];
}

const FEED_TYPES: Record<number, FeedType> = { [DataType.INT64]: 'int64', [DataType.INT32]: 'int32', [DataType.FLOAT]: 'float32' };

/** The graph's non-initializer inputs with their element types and fixed dimensions. */
export function graphInputs(graph: GraphProto, what: string): GraphInput[] {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? [])
    .filter((v) => !inits.has(v.name))
    .map((v) => {
      const t = v.type?.tensorType;
      const elem = t?.elemType ?? DataType.INT64;
      const type = FEED_TYPES[elem];
      if (!type) throw new UserError(`${what}: input ${v.name} has ONNX element type ${elem}; expected int64, int32 or float32`);
      const dims = (t?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : undefined));
      return { name: v.name ?? '', type, dims };
    });
}

/** Model types whose position ids start at padding_idx + 1 (fairseq's convention, kept by HF). */
const OFFSET_POSITIONS = new Set(['roberta', 'xlm-roberta', 'camembert', 'longformer', 'data2vec-text', 'xlm-roberta-xl', 'xmod', 'roberta-prelayernorm']);

export interface PositionLimit {
  /** Rows of the position table in the graph (undefined: none found, e.g. relative positions only). */
  rows?: number;
  /** First row used: padding_idx + 1 for RoBERTa-style models, else 0. */
  offset: number;
  /** Longest sequence (special tokens included) the teacher can take. */
  limit: number;
}

/** The position table: a Gather on a constant table indexed by something other than input_ids / token_type_ids. */
export function positionTableRows(g: GraphIndex, wordRows?: number): number | undefined {
  const tables = g
    .nodesOf('Gather')
    .filter((n) => g.isInitializer(n.inputs[0]) && g.constantShape(n.inputs[0])?.length === 2)
    .map((n) => g.constantShape(n.inputs[0])![0])
    .filter((rows) => rows !== wordRows && rows > 2);
  return tables.length ? Math.max(...tables) : undefined;
}

export function positionLimit(config: TeacherConfig, tableRows: number | undefined): PositionLimit {
  const offset = OFFSET_POSITIONS.has(config.model_type ?? '') ? ((config.raw.pad_token_id as number | undefined) ?? 1) + 1 : 0;
  const rows = tableRows;
  return { rows, offset, limit: (rows ?? config.max_position_embeddings) - offset };
}

export interface LogitsOutput {
  name?: string;
  /** Set when the graph has no output called "logits" and `name` was chosen by shape: why. */
  guessedBecause?: string;
}

/**
 * The classifier's output: "logits" by name; else (exports with bare output names such as "285")
 * the only rank-2 output not named like a pooler / hidden state, when config.json gives num_labels
 * and the output's last dimension is free or equals it. Encoder-only graphs have none.
 */
export function findLogitsOutput(graph: GraphProto, numLabels?: number): LogitsOutput {
  const outputs = graph.output ?? [];
  if (outputs.some((o) => o.name === 'logits')) return { name: 'logits' };
  // Without num_labels the config describes an encoder, and a rank-2 output is its pooler: no guess.
  if (numLabels === undefined) return {};
  const rank2 = outputs.filter((o) => {
    const dims = o.type?.tensorType?.shape?.dim;
    if (!dims || dims.length !== 2 || /pool|hidden|embed/i.test(o.name ?? '')) return false;
    const last = dims[1].dimValue;
    return last === undefined || last === null || Number(last) === 0 || Number(last) === numLabels;
  });
  if (rank2.length !== 1) return {};
  const dims = rank2[0].type!.tensorType!.shape!.dim!.map((d) => (d.dimValue ? String(d.dimValue) : (d.dimParam ?? '?')));
  return { name: rank2[0].name ?? '', guessedBecause: `it is the only rank-2 output ([${dims.join(', ')}])${numLabels ? `, matching num_labels ${numLabels}` : ''}` };
}

export function logitsNotice(what: string, found: LogitsOutput): string | undefined {
  return found.guessedBecause ? `warning: ${what} has no output named "logits"; using output "${found.name}" as the logits: ${found.guessedBecause}` : undefined;
}
