/**
 * The acceptance check of the export: the real tfjs Student and the exported ONNX model give the
 * same logits (max |diff| <= 1e-4) and the same argmax on every example of GLUE dev splits, on wasm
 * and, where `npm run setup:native` built it, on the native tensorflow backend.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { testBackends } from '../helpers/backends.ts';
import { collate, encodeExamples, planBatches } from '../../src/data/batching.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { loadTokenizer, saveTokenizer, type BertTokenizer } from '../../src/data/tokenizer.ts';
import { exportStudent } from '../../src/export/export.ts';
import { Student } from '../../src/student/model.ts';
import { createSession } from '../../src/teacher/session.ts';
import { randomWeights, tinyConfig } from './reference-bert.ts';
import { argmaxRows } from './helpers.ts';

const GLUE = path.resolve('../shared/glue');
const VOCAB = path.resolve('../shared/vocab/bert-base-uncased-vocab.txt');
const haveData = fs.existsSync(path.join(GLUE, 'SST-2', 'dev.tsv')) && fs.existsSync(VOCAB);
if (!haveData) console.warn(`GLUE data or BERT vocab not found under ../shared: student/ONNX dev-split parity test skipped`);

describe.skipIf(!haveData).each(testBackends())('tfjs Student on %s vs exported ONNX on whole GLUE dev splits', (backend) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'export-parity-'));
  let tokenizer: BertTokenizer;
  beforeAll(async () => {
    await initBackend(backend); // the plain cpu backend takes ~50 s per split here
    tokenizer = await loadTokenizer(VOCAB);
    saveTokenizer(tokenizer, path.join(root, 'tok'));
  }, 600_000); // loading libtensorflow takes minutes on a busy machine
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  for (const [taskName, folder] of [['sst2', 'SST-2'], ['mrpc', 'MRPC']] as const) {
    it(`${folder} dev: identical argmax, max |logit diff| <= 1e-4`, async () => {
      const config = tinyConfig({ vocab_size: tokenizer.vocabSize, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, max_position_embeddings: 128 });
      // Larger than BERT's init so logits spread out and the argmax comparison means something.
      const student = Student.fromWeights(config, randomWeights(config, 17, 0.3));
      const outDir = path.join(root, taskName);
      await exportStudent({ student, tokenizer: path.join(root, 'tok'), outDir, quantize: true });
      const session = await createSession(path.join(outDir, 'onnx', 'model.onnx'), { provider: 'cpu', notice: () => {} });
      const int8 = await createSession(path.join(outDir, 'onnx', 'model_quantized.onnx'), { provider: 'cpu', notice: () => {} });
      let int8Agree = 0;

      const task = loadTask(taskName);
      const examples = readSplit(task, path.join(GLUE, folder), 'dev');
      const encoded = encodeExamples(tokenizer, examples, 128);
      let maxDiff = 0;
      let disagree = 0;
      let maxLogit = 0;
      const predicted = new Set<number>();
      for (const indices of planBatches(encoded.map((e) => e.inputIds.length), { batchSize: 64, shuffle: false, seed: 0 })) {
        const b = collate(encoded, indices);
        const dims = [b.size, b.seqLen];
        const tfLogits = tf.tidy(() => {
          const t = (a: Int32Array) => tf.tensor2d(a, [b.size, b.seqLen], 'int32');
          return student.forward({ inputIds: t(b.inputIds), attentionMask: t(b.attentionMask), tokenTypeIds: t(b.tokenTypeIds) }, { training: false }).logits.dataSync();
        }) as Float32Array;
        const feeds = {
          input_ids: { data: b.inputIds, dims, type: 'int64' as const },
          attention_mask: { data: b.attentionMask, dims, type: 'int64' as const },
          token_type_ids: { data: b.tokenTypeIds, dims, type: 'int64' as const },
        };
        const onnx = await session.run(feeds);
        const q = argmaxRows((await int8.run(feeds)).logits.data, 2);
        for (let i = 0; i < tfLogits.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(tfLogits[i] - onnx.logits.data[i]));
          maxLogit = Math.max(maxLogit, Math.abs(tfLogits[i]));
        }
        const a = argmaxRows(tfLogits, 2);
        const o = argmaxRows(onnx.logits.data, 2);
        a.forEach((p, i) => {
          predicted.add(p);
          if (p !== o[i]) disagree++;
          if (p === q[i]) int8Agree++;
        });
      }
      await session.release();
      await int8.release();
      student.dispose();
      console.log(`${folder} dev (${examples.length} examples): max |logit diff| ${maxDiff.toExponential(2)}, argmax disagreements ${disagree}, max |logit| ${maxLogit.toFixed(2)}, predicted classes ${[...predicted].join(',')}, int8 same argmax ${(100 * int8Agree / examples.length).toFixed(1)}%`);
      expect(predicted.size).toBe(2);
      expect(disagree).toBe(0);
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      expect(int8Agree / examples.length).toBeGreaterThanOrEqual(0.95); // int8 is an approximation, but a close one
    });
  }
});
