/**
 * Tiny untrained students for command tests: the demo teacher's tokenizer, random weights, saved as a
 * student folder (model.safetensors) and exported as an ONNX folder with the int8 model beside it.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BertConfig } from '../../src/student/config.ts';
import { DEFAULT_BERT_CONFIG } from '../../src/student/config.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO_TEACHER = path.join(ROOT, 'data/demo/teacher');
export const DEMO_TASK = path.join(ROOT, 'data/demo/task');

/** labels: class names, or null for a regression head. */
export function tinyStudentConfig(labels: string[] | null, over: Partial<BertConfig> = {}): BertConfig {
  const names = labels ?? ['LABEL_0'];
  return {
    ...DEFAULT_BERT_CONFIG,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 64,
    vocab_size: 313,
    initializer_range: 0.5,
    num_labels: names.length,
    problem_type: labels ? 'single_label_classification' : 'regression',
    id2label: Object.fromEntries(names.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(names.map((l, i) => [l, i])),
    ...over,
  };
}

/** Saves `<dir>/student` and exports `<dir>/student-onnx` (fp32 + int8); returns both paths. */
export async function tinyStudentFolders(dir: string, labels: string[] | null, seed = 3, over: Partial<BertConfig> = {}): Promise<{ studentDir: string; onnxDir: string }> {
  const { Student } = await import('../../src/student/model.ts');
  const { saveStudentFolder } = await import('../../src/student/folder.ts');
  // No backend started yet: start cpu the project's way (tfjs's own default prints its Node banner).
  const tf = await import('@tensorflow/tfjs');
  if (!tf.engine().backendName) await (await import('../../src/backend/select.ts')).initBackend('cpu');
  const { exportStudent } = await import('../../src/export/export.ts');
  const student = Student.create(tinyStudentConfig(labels, over), seed);
  const studentDir = path.join(dir, 'student');
  const onnxDir = path.join(dir, 'student-onnx');
  try {
    await saveStudentFolder(student, DEMO_TEACHER, studentDir);
  } finally {
    student.dispose();
  }
  await exportStudent({ studentFolder: studentDir, outDir: onnxDir, quantize: true });
  return { studentDir, onnxDir };
}
