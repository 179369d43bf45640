/**
 * One way to run any model folder this toolkit reads or writes: an ONNX folder (a teacher, an exported
 * student, fp32 or int8) through onnxruntime, or a saved student folder (model.safetensors) through tfjs.
 * Scoring, prediction and submission files all go through it, so they tokenize, truncate and batch alike.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BertTokenizer } from '../data/tokenizer.ts';
import type { Encoded, TaskSpec } from '../data/types.ts';
import { parseLabelMap, teacherLabelOrder, type LabelOrder } from '../teacher/labels.ts';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { modelFolderFile } from '../io/confine.ts';
import { batchedLogits, labelsOfConfig } from './prediction.ts';

export { argmax, labelsOfConfig, softmax } from './prediction.ts';

export type FolderKind = 'onnx' | 'student';

/** onnx/model_quantized.onnx: the int8 file the exporter (and optimum) write beside model.onnx. */
export const QUANTIZED_FILE = path.join('onnx', 'model_quantized.onnx');

/** An ONNX model folder (teacher or exported student) or a saved tfjs student folder. */
export function folderKind(dir: string): FolderKind {
  if (!fs.existsSync(dir)) throw new UserError(`model folder ${dir} does not exist`);
  if (modelFolderFile(dir, path.join('onnx', 'model.onnx'), 'ONNX model') || modelFolderFile(dir, 'model.onnx', 'ONNX model')) return 'onnx';
  if (modelFolderFile(dir, 'model.safetensors', 'student weights')) return 'student';
  throw new UserError(`${dir} is neither an ONNX model folder (onnx/model.onnx) nor a saved student (model.safetensors)`);
}

export interface ClassifierOptions {
  /** Run onnx/model_quantized.onnx instead of onnx/model.onnx (ONNX folders only). */
  quantized?: boolean;
  provider?: 'auto' | 'cpu' | 'cuda';
  /** onnxruntime intra-op threads; 0 or absent lets it choose. */
  threads?: number;
  /** tfjs backend for a student folder (default auto). */
  backend?: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
}

export interface Classifier {
  dir: string;
  kind: FolderKind;
  /** The file that runs: the ONNX model, or model.safetensors. */
  file: string;
  tokenizer: BertTokenizer;
  /** Longest input (special tokens included) the model's position table allows. */
  maxPositions: number;
  /** Outputs per example: number of classes, or 1 for regression. */
  numOutputs: number;
  regression: boolean;
  /** Class names by id from config.json's id2label ("LABEL_i" where it has none); empty for regression. */
  labelNames: string[];
  /** config.json's id2label as written (absent names stay absent), to match classes to a task's labels by name. */
  id2label?: Record<string, string>;
  /** What runs it, e.g. "onnxruntime cpu" or "tfjs wasm (2 threads)". */
  runtime: string;
  /** Logits [n × numOutputs] for `encoded`, in input order; batched by length internally. */
  logits(encoded: readonly Encoded[], batchSize?: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

function readConfig(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'config.json');
  if (!modelFolderFile(dir, 'config.json', 'model config')) throw new UserError(`${file}: cannot read the model's config (it does not exist)`);
  const text = readTextLimited(file, 'modelConfig');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: cannot read the model's config (${(e as Error).message})`);
  }
}

export async function openClassifier(dir: string, opts: ClassifierOptions = {}): Promise<Classifier> {
  const kind = folderKind(dir);
  const config = readConfig(dir);
  const { numOutputs, regression, labelNames } = labelsOfConfig(config, path.join(dir, 'config.json'));
  const maxPositions = Number(config.max_position_embeddings) || 512;
  if (kind === 'onnx') {
    const { loadTeacherFolder } = await import('../teacher/folder.ts');
    const { Teacher } = await import('../teacher/teacher.ts');
    const folder = await loadTeacherFolder(dir);
    if (opts.quantized) {
      const q = modelFolderFile(dir, QUANTIZED_FILE, 'int8 model');
      if (!q) throw new UserError(`${dir} has no int8 model (${QUANTIZED_FILE}); export with --quantize to write one`);
      folder.onnxPath = q;
    }
    const model = await Teacher.fromFolder(folder, {
      hiddenLayers: [],
      attentionLayers: [],
      attention: 'none',
      provider: opts.provider,
      intraOpThreads: opts.threads || undefined,
      notice: () => {},
    });
    return {
      dir,
      kind,
      file: folder.onnxPath,
      tokenizer: folder.tokenizer,
      maxPositions,
      numOutputs,
      regression,
      labelNames,
      id2label: config.id2label as Record<string, string> | undefined,
      runtime: `onnxruntime ${model.provider}`,
      async logits(encoded, batchSize = 32) {
        return batchedLogits(encoded, numOutputs, batchSize, folder.tokenizer.padId, async (batch) => {
          const out = await model.run(batch, { logitsOnly: true });
          if (!out.logits) throw new UserError(`${folder.onnxPath}: no "logits" output`);
          return out.logits.data;
        });
      },
      dispose: () => model.dispose(),
    };
  }
  if (opts.quantized) {
    throw new UserError(`${dir} is a saved student (model.safetensors): int8 exists only for an exported ONNX folder (distill export --quantize)`);
  }
  const tf = await import('@tensorflow/tfjs');
  const { initBackend, describeBackend } = await import('../backend/select.ts');
  const { loadStudentFolder } = await import('../student/folder.ts');
  const { loadTokenizer } = await import('../data/tokenizer.ts');
  const backend = await initBackend(opts.backend ?? 'auto');
  const student = await loadStudentFolder(dir);
  const tokenizer = await loadTokenizer(dir);
  return {
    dir,
    kind,
    file: path.join(dir, 'model.safetensors'),
    tokenizer,
    maxPositions: student.config.max_position_embeddings,
    numOutputs,
    regression,
    labelNames,
    id2label: config.id2label as Record<string, string> | undefined,
    runtime: `tfjs ${describeBackend(backend)}`,
    async logits(encoded, batchSize = 32) {
      return batchedLogits(encoded, numOutputs, batchSize, tokenizer.padId, async (batch) => {
        const shape: [number, number] = [batch.size, batch.seqLen];
        const t = tf.tidy(
          () =>
            student.forward(
              {
                inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
                attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'),
                tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32'),
              },
              { training: false },
            ).logits,
        );
        const data = (await t.data()) as Float32Array;
        t.dispose();
        return data;
      });
    },
    async dispose() {
      student.dispose();
    },
  };
}

/**
 * The model's logit column of each of the task's labels: its config.json id2label matched to the task's
 * label names as the teacher cache matches them (src/teacher/labels.ts), through `labelMap` when given.
 */
export function taskLabelOrder(model: Pick<Classifier, 'dir' | 'numOutputs' | 'regression' | 'id2label'>, task: TaskSpec, labelMap?: string | Record<string, string>): LabelOrder {
  const map = typeof labelMap === 'string' ? parseLabelMap(labelMap) : labelMap;
  return teacherLabelOrder(task.labels, model.regression ? undefined : model.id2label, model.numOutputs, map, `model ${model.dir}`, task.labelNames);
}

/**
 * The token budget per example: the model's position table unless a shorter one is asked for. A longer
 * request is an error naming the model, not a broadcast failure deep in the runtime.
 */
export function resolveMaxLength(model: Pick<Classifier, 'dir' | 'maxPositions'>, requested?: number): number {
  if (requested === undefined) return model.maxPositions;
  if (requested > model.maxPositions) {
    throw new UserError(
      `--max-length ${requested} is longer than the model's max_position_embeddings ${model.maxPositions} (${path.join(model.dir, 'config.json')}); ` +
        `use --max-length ${model.maxPositions} or less`,
    );
  }
  return requested;
}
