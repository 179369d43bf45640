/** The Hugging Face config.json of a student: pure, shared by the CLI's export and the web page's. */
import type { BertConfig } from '../student/config.ts';

/** config.json as Hugging Face's BertConfig / transformers.js expect it. */
export function hfConfigJson(config: BertConfig): Record<string, unknown> {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  for (let i = 0; i < config.num_labels; i++) {
    const label = config.id2label?.[String(i)] ?? `LABEL_${i}`;
    id2label[String(i)] = label;
    label2id[label] = i;
  }
  return {
    ...config,
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    hidden_act: 'gelu',
    position_embedding_type: 'absolute',
    id2label,
    label2id,
  };
}
