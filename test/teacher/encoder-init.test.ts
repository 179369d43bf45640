/**
 * student.init = teacher on the encoder fixtures: where the student can have the teacher's shape,
 * the initialised student reproduces PyTorch's logits; elsewhere initialisation is refused (or the
 * head is left out) with a message naming what was found.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../../src/student/config.ts';
import { initFromTeacher } from '../../src/student/init-from-teacher.ts';
import { Student } from '../../src/student/model.ts';
import { readTeacherConfig } from '../../src/teacher/folder.ts';
import { extractBertWeights } from '../../src/teacher/weights.ts';
import { useCpu } from '../student/helpers.ts';
import { encoderBatch, readEncoderReference, teacherFolder } from './encoders.ts';
import { maxAbsDiff } from './helpers.ts';

beforeAll(useCpu);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'encoder-init-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function studentLogits(family: string, exp: string) {
  const dir = teacherFolder(family, exp, work);
  const tc = readTeacherConfig(path.join(dir, 'config.json'));
  const w = extractBertWeights(path.join(dir, 'model.onnx'), tc);
  const config: BertConfig = {
    ...DEFAULT_BERT_CONFIG,
    vocab_size: w.vocabSize,
    hidden_size: w.hiddenSize,
    num_hidden_layers: w.numLayers,
    num_attention_heads: tc.num_attention_heads,
    intermediate_size: w.intermediateSize,
    max_position_embeddings: w.maxPositions,
    type_vocab_size: w.typeVocabSize ?? 1,
    layer_norm_eps: (tc.raw.layer_norm_eps as number | undefined) ?? 1e-12,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    num_labels: w.numLabels ?? 3,
    problem_type: 'single_label_classification',
    id2label: tc.id2label ?? {},
    label2id: {},
  };
  const student = Student.create(config, 1);
  const report = initFromTeacher(student, w.weights, Array.from({ length: w.numLayers }, (_, i) => i));
  const ref = readEncoderReference(family);
  const b = encoderBatch(ref);
  const logits = tf.tidy(() =>
    student
      .forward(
        {
          inputIds: tf.tensor2d(b.inputIds, [b.size, b.seqLen], 'int32'),
          attentionMask: tf.tensor2d(b.attentionMask, [b.size, b.seqLen], 'int32'),
          tokenTypeIds: tf.tensor2d(b.tokenTypeIds, [b.size, b.seqLen], 'int32'),
        },
        { training: false },
      )
      .logits.dataSync(),
  );
  student.dispose();
  return { logits, ref, report, notes: w.notes };
}

const REPRODUCED: [string, string][] = [
  ['bert', 'ts14'], ['bert', 'ts17'], ['bert', 'dynamo'],
  ['bert-untrained', 'ts14'], ['bert-untrained', 'ts17'], ['bert-untrained', 'dynamo'],
  ['minilm', 'ts17'],
  ['roberta', 'ts14'], ['roberta', 'ts17'], ['roberta', 'dynamo'],
  ['xlm-roberta', 'ts14'], ['xlm-roberta', 'ts17'], ['xlm-roberta', 'dynamo'],
];

describe('student.init = teacher reproduces the teacher where the shapes match', () => {
  it.each(REPRODUCED)('%s %s', (family, exp) => {
    const { logits, ref, report } = studentLogits(family, exp);
    expect(report.kept).toEqual([]);
    expect(maxAbsDiff(logits, ref.logits[0])).toBeLessThan(1e-4);
  });

  it('RoBERTa: the position table is taken from padding_idx + 1 on, and said so', () => {
    const { notes } = studentLogits('roberta', 'ts17');
    expect(notes.join('\n')).toMatch(/rows 2\.\.65 \(RoBERTa's padding_idx \+ 1 offset\) become the student's 0\.\.63/);
  });
});

describe('student.init = teacher where the student cannot take the teacher', () => {
  it.each(['ts14', 'ts17', 'dynamo'])('DistilBERT %s: encoder copied, ReLU head left out and said so', (exp) => {
    const { report, notes } = studentLogits('distilbert', exp);
    expect(report.kept.sort()).toEqual(['classifier.bias', 'classifier.weight', 'pooler.dense.bias', 'pooler.dense.weight']);
    expect(notes.join('\n')).toMatch(/head is dense → Relu → classifier .*pooler and classifier are not copied/);
    expect(notes.join('\n')).toMatch(/token-type table: the teacher has no segment embeddings/);
  });

  it.each([['electra', 16], ['albert', 16]] as const)('%s: refused, naming the embedding projection', (family, width) => {
    for (const exp of ['ts14', 'ts17', 'dynamo']) {
      expect(() => studentLogits(family, exp)).toThrow(new RegExp(`the embeddings are ${width} wide and a projection widens them to 32.*use student.init "random"`));
    }
  });

  it('onnxruntime-optimised graphs: refused, naming the fused ops', () => {
    expect(() => studentLogits('bert', 'ort-fused')).toThrow(/onnxruntime fused ops \(SkipLayerNormalization, BiasGelu\)/);
    expect(() => studentLogits('bert', 'ort-level99')).toThrow(/onnxruntime fused ops \(FusedMatMul, BiasGelu, FusedGemm\)/);
    expect(() => studentLogits('bert-legacy-mask', 'ort-fused')).toThrow(/attention is fused into onnxruntime Attention ops/);
  });
});
