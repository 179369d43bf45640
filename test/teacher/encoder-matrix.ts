/**
 * What each family × exporter gives, as tested by encoder-matrix.test.ts (docs/teachers.md shows
 * the same table). A cell is either equal to PyTorch (logits, hidden states, attention unless
 * `attention: false`) or refused with a message matching `refused`.
 */
export interface Cell {
  /** false: attention is fused away; hidden states and logits still match, attention is refused. */
  attention?: false;
  attentionRefused?: RegExp;
  refused?: RegExp;
  /** With `refused`: the plain graph still gives PyTorch's logits (logit-only distillation). */
  logitsOnly?: boolean;
}

const FULL: Cell = {};
const DEBERTA: Cell = { refused: /deberta-v2 adds disentangled relative-position terms.*cache with --logits-only/, logitsOnly: true };

export const MATRIX: Record<string, Record<string, Cell>> = {
  bert: { ts14: FULL, ts17: FULL, dynamo: FULL, 'ts17-inputs': FULL, 'ort-fused': FULL, 'ort-level1': FULL, 'ort-level99': FULL },
  'bert-untrained': { ts14: FULL, ts17: FULL, dynamo: FULL },
  minilm: { ts17: FULL },
  'bert-legacy-mask': {
    'ort-fused': { attention: false, attentionRefused: /attention is fused into onnxruntime Attention ops.*Hidden states and logits can/ },
    'ort-noattn': FULL,
  },
  distilbert: { ts14: FULL, ts17: FULL, dynamo: FULL },
  roberta: { ts14: FULL, ts17: FULL, dynamo: FULL },
  'xlm-roberta': { ts14: FULL, ts17: FULL, dynamo: FULL },
  electra: { ts14: FULL, ts17: FULL, dynamo: FULL },
  albert: { ts14: FULL, ts17: FULL, dynamo: FULL },
  'deberta-v2': { ts14: DEBERTA, ts17: DEBERTA, dynamo: DEBERTA },
};
