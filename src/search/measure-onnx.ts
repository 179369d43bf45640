/**
 * What a student shape costs, measured for real: random weights of that shape go through the
 * project's exporter into a temporary folder, and onnxruntime times the ONNX file with the same
 * timer as `distill eval --latency`. The folder is removed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Encoded } from '../data/types.ts';
import type { BertTokenizer } from '../data/tokenizer.ts';
import type { BertConfig } from '../student/config.ts';
import { paramShapes } from '../student/param-names.ts';
import { Rng } from '../util/rng.ts';
import { spread, type Measurement } from './search.ts';

export interface MeasureOptions {
  tokenizer: Pick<BertTokenizer, 'tokenizerJson' | 'tokenizerConfig' | 'clsId' | 'sepId' | 'unkId'>;
  /** Tokens per timed row (every row is this long: the worst case the budget must hold for). */
  maxLength: number;
  batchSize: number;
  repeats: number;
  precision: 'fp32' | 'int8';
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  seed?: number;
  /** Parent of the temporary export folder (default the system's). */
  tmpDir?: string;
}

/** Random weights of the shape `config` implies (BERT's N(0, 0.02); LayerNorm gains 1, biases 0): timing does not depend on the values. */
export function randomWeights(config: BertConfig, seed = 0): Map<string, { shape: number[]; dataSync(): Float32Array }> {
  const rng = new Rng(seed);
  const params = new Map<string, { shape: number[]; dataSync(): Float32Array }>();
  for (const [name, shape] of paramShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.includes('LayerNorm.weight')) data.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = 0.02 * rng.normal();
    params.set(name, { shape, dataSync: () => data });
  }
  return params;
}

/** One full-length row: [CLS] tokens… [SEP]. */
export function fullLengthRow(tok: MeasureOptions['tokenizer'], maxLength: number): Encoded {
  const inputIds = [tok.clsId, ...new Array<number>(Math.max(0, maxLength - 2)).fill(tok.unkId), tok.sepId];
  return { inputIds, tokenTypeIds: new Array<number>(inputIds.length).fill(0) };
}

/** Exports a random-weight student of `config`, then measures its parameters, file size and latency. */
export async function measureRandomStudent(config: BertConfig, o: MeasureOptions): Promise<Measurement> {
  const { exportStudent } = await import('../export/export.ts');
  const { saveTokenizer } = await import('../data/tokenizer.ts');
  const { openClassifier } = await import('../eval/classifier.ts');
  const { onnxModelStats, median } = await import('../report/measure.ts');
  const { latencySamples } = await import('../cli/pipeline-eval.ts');
  const tmp = fs.mkdtempSync(path.join(o.tmpDir ?? os.tmpdir(), 'distill-search-'));
  try {
    const tokDir = path.join(tmp, 'tokenizer');
    saveTokenizer(o.tokenizer, tokDir);
    const outDir = path.join(tmp, 'model');
    await exportStudent({ student: { config, params: randomWeights(config, o.seed) }, tokenizer: tokDir, outDir, quantize: o.precision === 'int8' });
    const quantized = o.precision === 'int8';
    const file = path.join(outDir, 'onnx', quantized ? 'model_quantized.onnx' : 'model.onnx');
    const { sizeBytes } = onnxModelStats(outDir, file);
    // Parameters of the float model: the int8 file holds the same weights as integers.
    const { params } = onnxModelStats(outDir, path.join(outDir, 'onnx', 'model.onnx'));
    const model = await openClassifier(outDir, { quantized, provider: o.provider, threads: o.threads });
    try {
      const times = await latencySamples(model, [fullLengthRow(o.tokenizer, o.maxLength)], o.batchSize, o.repeats);
      return { params, sizeBytes, latencyMs: median(times), latencySpreadMs: spread(times) };
    } finally {
      await model.dispose();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
