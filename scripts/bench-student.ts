/**
 * Student training-step benchmark: tfjs (the real Student, losses and AdamW) against the same
 * model in PyTorch on the CPU (bench_student_torch.py, run in the same invocation).
 *
 *   npx tsx scripts/bench-student.ts [--steps 5] [--warmup 2] [--models tinybert4,small]
 *        [--backend auto] [--threads N] [--vocab 30522] [--profile] [--no-torch] [--python PATH]
 *
 * One step = forward (dropout on) -> hidden MSE over every layer incl. the embedding output +
 * TinyBERT attention-score MSE per layer + soft cross-entropy (T = 1) -> backward -> AdamW.
 * Teacher features are fixed random tensors of the student's shapes (1:1 layers, no projection).
 * Reports ms/step, the tfjs/torch ratio, peak RSS, and the tensor count before/after the timed
 * steps (it must not grow: run --steps 1000 for the long check). --profile prints the kernels of
 * one step by total time.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeBackend, initBackend, type BackendPreference } from '../src/backend/select.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../src/student/config.ts';
import { Student } from '../src/student/model.ts';
import { attentionScoreMse, hiddenMse, softCrossEntropy, type LossContext } from '../src/distill/losses.ts';
import { AdamW } from '../src/train/adamw.ts';
import { Rng } from '../src/util/rng.ts';

const SHAPES = {
  tinybert4: { layers: 4, hidden: 312, heads: 12, ffn: 1200 },
  small: { layers: 2, hidden: 128, heads: 4, ffn: 512 },
} as const;
type ShapeName = keyof typeof SHAPES;
const B = 32;
const L = 64;

function parseArgs(argv: string[]) {
  const opts = { steps: 5, warmup: 2, models: ['tinybert4', 'small'] as ShapeName[], backend: 'auto' as BackendPreference,
    threads: undefined as number | undefined, vocab: 30522, profile: false, torch: true, python: process.env.PYTHON };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const n = Number(next());
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a} must be a non-negative integer`);
      return n;
    };
    if (a === '--steps') opts.steps = Math.max(1, int());
    else if (a === '--warmup') opts.warmup = int();
    else if (a === '--threads') opts.threads = int();
    else if (a === '--vocab') opts.vocab = int();
    else if (a === '--backend') opts.backend = next() as BackendPreference;
    else if (a === '--python') opts.python = next();
    else if (a === '--profile') opts.profile = true;
    else if (a === '--no-torch') opts.torch = false;
    else if (a === '--models') {
      opts.models = next().split(',') as ShapeName[];
      for (const m of opts.models) if (!(m in SHAPES)) throw new Error(`unknown model "${m}" (have ${Object.keys(SHAPES)})`);
    } else throw new Error(`unknown flag ${a}`);
  }
  return opts;
}

function studentConfig(shape: ShapeName, vocab: number): BertConfig {
  const s = SHAPES[shape];
  return { ...DEFAULT_BERT_CONFIG, vocab_size: vocab, hidden_size: s.hidden, num_hidden_layers: s.layers,
    num_attention_heads: s.heads, intermediate_size: s.ffn, num_labels: 2, problem_type: 'single_label_classification',
    id2label: { 0: 'a', 1: 'b' }, label2id: { a: 0, b: 1 } };
}

/** Inputs, mask and fixed random teacher features for one batch (kept across steps). */
function makeBatch(c: BertConfig, rng: Rng) {
  const lengths = Array.from({ length: B }, () => L / 2 + rng.int(L / 2 + 1));
  const maskData = new Int32Array(B * L).map((_, i) => (i % L < lengths[Math.floor(i / L)] ? 1 : 0));
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()), shape);
  const keyBias = tf.reshape(tf.mul(tf.sub(1, tf.tensor2d(maskData, [B, L], 'float32')), -10000), [B, 1, 1, L]);
  return {
    inputs: {
      inputIds: tf.tensor2d(Int32Array.from({ length: B * L }, () => rng.int(c.vocab_size)), [B, L], 'int32'),
      attentionMask: tf.tensor2d(maskData, [B, L], 'int32'),
      tokenTypeIds: tf.zeros([B, L], 'int32') as tf.Tensor2D,
    },
    hidden: Array.from({ length: c.num_hidden_layers + 1 }, () => rand([B, L, c.hidden_size])),
    scores: Array.from({ length: c.num_hidden_layers }, () => tf.add(rand([B, c.num_attention_heads, L, L]), keyBias)),
    logits: rand([B, 2]),
  };
}

async function timeTfjs(shape: ShapeName, opts: ReturnType<typeof parseArgs>) {
  const config = studentConfig(shape, opts.vocab);
  const student = Student.create(config, 0);
  const optimizer = new AdamW(student.params);
  const rng = new Rng(1);
  const batch = makeBatch(config, rng);
  const varName = new Map([...student.params].map(([name, v]) => [v.name, name]));
  const vars = [...student.params.values()];

  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const out = student.forward(batch.inputs, { training: true, rng });
      const ctx: LossContext = { mask: out.mask, temperature: 1, scaleT2: false };
      const parts = [softCrossEntropy(out.logits, batch.logits, ctx)];
      out.hidden.forEach((h, i) => parts.push(hiddenMse(h, batch.hidden[i], ctx)));
      out.attentionScores.forEach((s, i) => parts.push(attentionScoreMse(s, batch.scores[i], ctx)));
      return tf.addN(parts) as tf.Scalar;
    }, vars);
    optimizer.apply(new Map(Object.entries(grads).map(([k, g]) => [varName.get(k) ?? k, g])), 1e-4);
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };

  for (let i = 0; i < opts.warmup; i++) step();
  if (opts.profile) await profileStep(step);
  const tensorsBefore = tf.memory().numTensors;
  const t0 = performance.now();
  let loss = NaN;
  for (let i = 0; i < opts.steps; i++) loss = step();
  const ms = (performance.now() - t0) / opts.steps;
  const tensorsAfter = tf.memory().numTensors;
  const params = student.numParams();
  student.dispose();
  tf.dispose([Object.values(batch.inputs), batch.hidden, batch.scores, batch.logits].flat());
  return { ms, loss, tensorsBefore, tensorsAfter, params };
}

async function profileStep(step: () => number): Promise<void> {
  const info = await tf.profile(() => {
    step();
  });
  const byKernel = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const shapes = k.inputShapes.map((sh: number[]) => `[${sh}]`).join('x');
    const key = k.name === 'BatchMatMul' ? `BatchMatMul ${shapes}` : k.name;
    const e = byKernel.get(key) ?? { ms: 0, n: 0 };
    e.ms += Number(await k.kernelTimeMs);
    e.n += 1;
    byKernel.set(key, e);
  }
  const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
  console.log(`  kernels of one step by total time (sum ${total.toFixed(0)} ms):`);
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
    console.log(`    ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.n).padStart(4)}x  ${name}`);
  }
}

/** Finds a python3 with torch: $PYTHON, then python3 on PATH, then /usr/bin/python3 (Debian's python3-torch). */
function findPython(preferred?: string): string | undefined {
  for (const py of [preferred, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

function timeTorch(python: string, shape: ShapeName, opts: ReturnType<typeof parseArgs>, threads: number) {
  const s = SHAPES[shape];
  const script = fileURLToPath(new URL('./bench_student_torch.py', import.meta.url));
  const args = [script, '--layers', s.layers, '--hidden', s.hidden, '--heads', s.heads, '--ffn', s.ffn, '--vocab', opts.vocab,
    '--batch', B, '--seq', L, '--steps', Math.min(opts.steps, 20), '--warmup', opts.warmup, '--threads', threads].map(String);
  const r = spawnSync(python, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch benchmark failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as { ms_per_step: number; torch: string; threads: number;
    blas: string[]; matmul_gflops: number; peak_rss_mb: number };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const info = await initBackend(opts.backend, { threads: opts.threads });
  console.log(`tfjs ${tf.version_core}, backend ${describeBackend(info)}; batch ${B} x ${L}, vocab ${opts.vocab}, ${opts.steps} timed steps after ${opts.warmup} warm-up`);
  const python = opts.torch ? findPython(opts.python) : undefined;
  if (opts.torch && !python) {
    console.log('PyTorch not found (tried $PYTHON, python3, /usr/bin/python3): apt-get install python3-torch libopenblas0-pthread');
  }
  for (const shape of opts.models) {
    const s = SHAPES[shape];
    console.log(`\n${shape}: ${s.layers} layers, hidden ${s.hidden}, ${s.heads} heads, FFN ${s.ffn}`);
    const r = await timeTfjs(shape, opts);
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(`  tfjs:  ${r.ms.toFixed(0)} ms/step  (${(r.params / 1e6).toFixed(1)}M params, loss ${r.loss.toFixed(3)}, peak RSS ${rss.toFixed(0)} MB so far)`);
    console.log(`  tensors ${r.tensorsBefore} before, ${r.tensorsAfter} after ${opts.steps} steps: ${r.tensorsAfter === r.tensorsBefore ? 'flat' : 'GROWING'}`);
    if (python) {
      const t = timeTorch(python, shape, opts, info.threads);
      console.log(`  torch: ${t.ms_per_step.toFixed(0)} ms/step  (torch ${t.torch}, ${t.threads} threads, matmul ${t.matmul_gflops.toFixed(0)} GFLOP/s, peak RSS ${t.peak_rss_mb.toFixed(0)} MB)`);
      console.log(`         ${t.blas.join('; ')}`);
      console.log(`  ratio tfjs/torch: ${(r.ms / t.ms_per_step).toFixed(2)}x (goal <= 1.5x)`);
    }
  }
}

await main();
