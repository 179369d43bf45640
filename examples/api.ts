// distill-ts from TypeScript: the config as a typed object (ConfigInput: the config file's shape, every
// defaulted key optional), one run, predictions, and the loss and schedule functions.
//   npx tsx examples/api.ts <teacher-dir> <glue-sst2-dir> [out-dir]
import * as tf from '@tensorflow/tfjs';
import { losses, predict, resolveConfig, run, schedules, type Config, type ConfigInput, type Prediction, type RunResult } from 'distill-ts';

const [teacher, data, out = 'runs/api-example'] = process.argv.slice(2);
if (!teacher || !data) {
  console.error('usage: npx tsx examples/api.ts <teacher-dir> <glue-sst2-dir> [out-dir]');
  process.exit(1);
}

const input: ConfigInput = {
  task: 'sst2',
  teacher: { dir: teacher },
  data: { dir: data, maxLength: 32 },
  out,
  backend: 'cpu',
  student: { hiddenSize: 16, numLayers: 1, numHeads: 4, intermediateSize: 32, maxPositions: 40 },
  distill: {
    batchSize: 2,
    evalEvery: 2,
    stages: [
      { name: 'intermediate', steps: 3, lr: 1e-3, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
      { name: 'prediction', steps: 3, lr: 1e-3, losses: [{ name: 'kd_ce' }], temperature: { schedule: 'linear', from: 4, to: 1 } },
    ],
  },
  eval: { latencyBatchSizes: [1], latencyRuns: 1 },
  report: { enabled: false },
};
const config: Config = resolveConfig(input); // defaults filled, paths absolute; throws a UserError naming the key

// A key the config does not have is a compile error here, as it is a config error at run time.
// @ts-expect-error: 'momentum' is not an ema key (momentum distillation is a stage's `momentum`)
const misspelt: ConfigInput = { ...input, ema: { momentum: 0.9 } };
void misspelt;

const result: RunResult = await run(config, { force: true, progress: false, onMessage: (line: string) => console.error(line) });
const predictions: Prediction[] = await predict(result.exported ?? result.student, ['a gripping , funny film']);

// The losses are pure tfjs functions: soft cross-entropy of student vs teacher logits at T = 2.
const ctx: losses.LossContext = { mask: tf.ones([1, 1]), temperature: 2, scaleT2: true };
const kd = tf.tidy(() => losses.softCrossEntropy(tf.tensor2d([[2, 0]]), tf.tensor2d([[1, 0]]), ctx).dataSync()[0]);
const temperature = schedules.scheduledValue({ kind: 'linear', from: 4, to: 1 }, 1, 3);
console.log(JSON.stringify({ steps: result.train.steps, predictions, kd, temperature }));
