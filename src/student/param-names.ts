import { layerHeadCount, layerIntermediateSize, type BertConfig } from './config.ts';

/**
 * Parameter names of the student, exactly Hugging Face BertForSequenceClassification's (minus the
 * "bert." prefix on the encoder part, which `hfName` adds). Checkpoints, the safetensors file, the
 * teacher-weight initialisation and the ONNX export all key on these names.
 *
 * Layout in memory (tfjs): dense kernels are [in, out]. In model.safetensors they are stored as
 * Hugging Face does, [out, in] (nn.Linear), so a PyTorch user can load the file directly.
 */
export function embeddingParamNames(): string[] {
  return [
    'embeddings.word_embeddings.weight', // [V, H]
    'embeddings.position_embeddings.weight', // [P, H]
    'embeddings.token_type_embeddings.weight', // [T, H]
    'embeddings.LayerNorm.weight', // [H]
    'embeddings.LayerNorm.bias', // [H]
  ];
}

export function layerParamNames(i: number): string[] {
  const p = `encoder.layer.${i}.`;
  return [
    `${p}attention.self.query.weight`, // [H, A]: A = kept heads · head width (H unless pruned)
    `${p}attention.self.query.bias`,
    `${p}attention.self.key.weight`,
    `${p}attention.self.key.bias`,
    `${p}attention.self.value.weight`,
    `${p}attention.self.value.bias`,
    `${p}attention.output.dense.weight`, // [A, H]
    `${p}attention.output.dense.bias`,
    `${p}attention.output.LayerNorm.weight`,
    `${p}attention.output.LayerNorm.bias`,
    `${p}intermediate.dense.weight`, // [H, I]: I = the layer's feed-forward width
    `${p}intermediate.dense.bias`,
    `${p}output.dense.weight`, // [I, H]
    `${p}output.dense.bias`,
    `${p}output.LayerNorm.weight`,
    `${p}output.LayerNorm.bias`,
  ];
}

export function headParamNames(): string[] {
  return ['pooler.dense.weight', 'pooler.dense.bias', 'classifier.weight', 'classifier.bias'];
}

export function allParamNames(numLayers: number): string[] {
  const names = embeddingParamNames();
  for (let i = 0; i < numLayers; i++) names.push(...layerParamNames(i));
  return names.concat(headParamNames());
}

/** The name Hugging Face's BertForSequenceClassification uses in its state dict. */
export function hfName(name: string): string {
  return name.startsWith('classifier.') ? name : `bert.${name}`;
}

/** Dense kernels are transposed between tfjs ([in, out]) and Hugging Face ([out, in]). */
export function isDenseKernel(name: string): boolean {
  return name.endsWith('.weight') && !name.includes('LayerNorm') && !name.startsWith('embeddings.');
}

/** Shape of every parameter, from the config (tfjs layout: dense kernels [in, out]). */
export function paramShapes(c: BertConfig): Map<string, number[]> {
  const H = c.hidden_size;
  const headDim = H / c.num_attention_heads;
  const shapes = new Map<string, number[]>();
  for (const name of allParamNames(c.num_hidden_layers)) {
    // Per-layer widths of a pruned student: A = kept heads · head width, I = feed-forward width.
    const layer = /^encoder\.layer\.(\d+)\./.exec(name);
    const i = layer ? Number(layer[1]) : 0;
    const I = layerIntermediateSize(c, i);
    const A = layerHeadCount(c, i) * headDim;
    let shape: number[];
    if (name === 'embeddings.word_embeddings.weight') shape = [c.vocab_size, H];
    else if (name === 'embeddings.position_embeddings.weight') shape = [c.max_position_embeddings, H];
    else if (name === 'embeddings.token_type_embeddings.weight') shape = [c.type_vocab_size, H];
    else if (name === 'classifier.weight') shape = [H, c.num_labels];
    else if (name === 'classifier.bias') shape = [c.num_labels];
    else if (name.endsWith('intermediate.dense.weight')) shape = [H, I];
    else if (name.endsWith('intermediate.dense.bias')) shape = [I];
    else if (name.endsWith('output.dense.weight') && !name.includes('attention')) shape = [I, H];
    else if (name.endsWith('attention.output.dense.weight')) shape = [A, H];
    else if (/attention\.self\.(query|key|value)\.weight$/.test(name)) shape = [H, A];
    else if (/attention\.self\.(query|key|value)\.bias$/.test(name)) shape = [A];
    else if (name.endsWith('.weight') && !name.includes('LayerNorm')) shape = [H, H];
    else shape = [H]; // biases of width H and LayerNorm gains/biases
    shapes.set(name, shape);
  }
  return shapes;
}
