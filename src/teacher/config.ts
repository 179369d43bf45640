/**
 * A teacher's config.json as the toolkit reads it: the Hugging Face BertConfig keys it needs (and their
 * DistilBERT / GPT-style aliases), checked, with clear errors. Pure: the Node reader (folder.ts) and the
 * web page both parse with it.
 */
import { UserError } from '../util/errors.ts';

/** What the teacher's config.json must tell us (Hugging Face BertConfig keys). */
export interface TeacherConfig {
  num_hidden_layers: number;
  hidden_size: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  vocab_size?: number;
  type_vocab_size?: number;
  intermediate_size?: number;
  /** ELECTRA / ALBERT: the embeddings' width when it differs from hidden_size. */
  embedding_size?: number;
  /** Label names by id; absent for encoder-only teachers. */
  id2label?: Record<string, string>;
  num_labels?: number;
  problem_type?: string;
  model_type?: string;
  /** The whole config.json, for fields not listed here. */
  raw: Record<string, unknown>;
}

/** Other names of the BertConfig keys this reads (DistilBertConfig, GPT-2 style configs). */
const CONFIG_ALIASES: Record<string, string[]> = {
  num_hidden_layers: ['n_layers', 'n_layer', 'num_layers'],
  hidden_size: ['dim', 'n_embd', 'd_model'],
  num_attention_heads: ['n_heads', 'n_head'],
  max_position_embeddings: ['n_positions'],
  intermediate_size: ['hidden_dim'],
};

/** Parses config.json's text; `where` names the file in errors. */
export function parseTeacherConfig(text: string, where: string): TeacherConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${where}: expected a JSON object`);
  // DistilBERT (dim, n_layers, n_heads) and GPT-style configs name the same sizes differently.
  const key = (name: string): string => (raw[name] === undefined ? (CONFIG_ALIASES[name] ?? []).find((a) => raw[a] !== undefined) ?? name : name);
  const positiveInt = (name: string, fallback?: number): number => {
    const k = key(name);
    const v = raw[k] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      const also = CONFIG_ALIASES[name] ? ` (or ${CONFIG_ALIASES[name].map((a) => `"${a}"`).join(' / ')})` : '';
      throw new UserError(`${where}: "${name}"${also} must be a positive integer, got ${JSON.stringify(raw[k])}`);
    }
    return v;
  };
  const optionalInt = (key: string) => (raw[key] === undefined ? undefined : positiveInt(key));
  const config: TeacherConfig = {
    num_hidden_layers: positiveInt('num_hidden_layers'),
    hidden_size: positiveInt('hidden_size'),
    num_attention_heads: positiveInt('num_attention_heads'),
    max_position_embeddings: positiveInt('max_position_embeddings', 512),
    vocab_size: optionalInt('vocab_size'),
    // DeBERTa-v2 says 0 when it has no segment embeddings.
    type_vocab_size: raw.type_vocab_size === 0 ? 0 : optionalInt('type_vocab_size'),
    num_labels: optionalInt('num_labels'),
    problem_type: typeof raw.problem_type === 'string' ? raw.problem_type : undefined,
    model_type: typeof raw.model_type === 'string' ? raw.model_type : undefined,
    raw,
  };
  if (raw.intermediate_size !== undefined || raw.hidden_dim !== undefined) config.intermediate_size = positiveInt('intermediate_size');
  if (typeof raw.embedding_size === 'number' && raw.embedding_size !== config.hidden_size) config.embedding_size = raw.embedding_size;
  if (raw.id2label !== undefined) {
    const m = raw.id2label;
    if (!m || typeof m !== 'object' || Object.values(m).some((v) => typeof v !== 'string')) {
      throw new UserError(`${where}: "id2label" must map label ids to names, e.g. {"0": "negative", "1": "positive"}`);
    }
    config.id2label = m as Record<string, string>;
    config.num_labels ??= Object.keys(m).length;
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new UserError(`${where}: hidden_size ${config.hidden_size} is not divisible by num_attention_heads ${config.num_attention_heads}`);
  }
  return config;
}
