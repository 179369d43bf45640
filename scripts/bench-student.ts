/**
 * Student training-step benchmark: tfjs (the real Student, losses and AdamW) on each fast backend
 * against the same model in PyTorch on the CPU (bench_student_torch.py), all in one invocation.
 *
 *   npx tsx scripts/bench-student.ts [--rounds 3] [--steps 3] [--warmup 1] [--models tinybert4,small]
 *        [--backends tensorflow,wasm] [--threads N] [--vocab 30522] [--python PATH] [--no-torch]
 *        [--no-debian-torch]
 *   npx tsx scripts/bench-student.ts --profile --backend tensorflow [--models small]
 *
 * Contenders run interleaved (round 1: A B C, round 2: A B C, ...), each in a fresh process so its
 * peak RSS is its own; each round's figure is the mean of its timed steps, reported as the median over
 * rounds with the min-max spread. The anchor is PyTorch from --python, $DISTILL_PYTHON or the repo's
 * .venv (torch 2.13 from the local index: what a practitioner installs); Debian's python3-torch is an
 * extra row when present. The machine's load average is printed beside the figures.
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
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
  const opts = { steps: 3, warmup: 1, rounds: 3, models: ['tinybert4', 'small'] as ShapeName[], backend: 'auto' as BackendPreference,
    backends: undefined as string[] | undefined, threads: undefined as number | undefined, vocab: 30522, profile: false,
    torch: true, debianTorch: true, child: false, python: process.env.DISTILL_PYTHON };
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
    else if (a === '--no-debian-torch') opts.debianTorch = false;
    else if (a === '--rounds') opts.rounds = Math.max(1, int());
    else if (a === '--child') opts.child = true;
    else if (a === '--backends') opts.backends = next().split(',');
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
  console.log(`  kernels of one step by total time (sum ${total.toFixed(0)} ms, ${info.kernels.length} kernel calls):`);
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
    console.log(`    ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.n).padStart(4)}x  ${name}`);
  }
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A Python that imports torch, with torch's version, or undefined. */
function torchPython(py: string | undefined): { python: string; version: string } | undefined {
  if (!py) return undefined;
  const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { python: py, version: r.stdout.trim() } : undefined;
}

/** The anchor (--python, $DISTILL_PYTHON, the repo .venv, python3) and Debian's torch as an extra when it differs. */
function torchContenders(opts: ReturnType<typeof parseArgs>): { python: string; version: string }[] {
  const venv = path.join(ROOT, '.venv/bin/python');
  const candidates = opts.python ? [opts.python] : [fs.existsSync(venv) ? venv : undefined, 'python3'];
  let anchor: { python: string; version: string } | undefined;
  for (const c of candidates) if (!anchor) anchor = torchPython(c);
  const out = anchor ? [anchor] : [];
  if (opts.debianTorch) {
    const debian = torchPython('/usr/bin/python3');
    if (debian && debian.version !== anchor?.version) out.push(debian);
  }
  return out;
}

interface Round { ms: number; rssMb: number }
interface Contender { label: string; kind: 'tfjs' | 'torch'; backend?: string; python?: string; rounds: Round[]; note?: string; failed?: string }

function runTfjsChild(backend: string, shape: ShapeName, opts: ReturnType<typeof parseArgs>): Round & { line: string; tensors: string } {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--backend', backend, '--models', shape,
    '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--vocab', String(opts.vocab)];
  if (opts.threads) args.push('--threads', String(opts.threads));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error((r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | '));
  const j = JSON.parse(last);
  return { ms: j.ms, rssMb: j.rssMb, line: j.backend, tensors: j.tensors };
}

function runTorch(python: string, shape: ShapeName, opts: ReturnType<typeof parseArgs>, threads: number) {
  const s = SHAPES[shape];
  const script = fileURLToPath(new URL('./bench_student_torch.py', import.meta.url));
  const args = [script, '--layers', s.layers, '--hidden', s.hidden, '--heads', s.heads, '--ffn', s.ffn, '--vocab', opts.vocab,
    '--batch', B, '--seq', L, '--steps', opts.steps, '--warmup', opts.warmup, '--threads', threads].map(String);
  const r = spawnSync(python, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch benchmark failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as { ms_per_step: number; torch: string; threads: number;
    blas: string[]; matmul_gflops: number; peak_rss_mb: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');

/** Which tfjs backends to compare: --backends, else tensorflow where tfjs-node loads, and wasm. */
function tfjsBackends(opts: ReturnType<typeof parseArgs>): string[] {
  if (opts.backends) return opts.backends;
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('@tensorflow/tfjs-node')"],
    { cwd: ROOT, stdio: 'ignore', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (probe.status !== 0) console.log('tfjs-node does not load here (npm run setup:native builds it): tensorflow row skipped');
  return probe.status === 0 ? ['tensorflow', 'wasm'] : ['wasm'];
}

const GOALS: Record<string, { ms: number; rss: number }> = { tensorflow: { ms: 1.2, rss: 1.5 }, wasm: { ms: 2.5, rss: 1.5 } };

async function child(opts: ReturnType<typeof parseArgs>) {
  const info = await initBackend(opts.backend, { threads: opts.threads });
  const r = await timeTfjs(opts.models[0], opts);
  console.log(JSON.stringify({ ms: r.ms, rssMb: process.resourceUsage().maxRSS / 1024, backend: describeBackend(info),
    tensors: `${r.tensorsBefore}->${r.tensorsAfter}` }));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return child(opts);
  if (opts.profile) {
    const info = await initBackend(opts.backend, { threads: opts.threads });
    console.log(`profile on ${describeBackend(info)}`);
    for (const shape of opts.models) {
      console.log(`\n${shape}`);
      const r = await timeTfjs(shape, opts);
      console.log(`  ${r.ms.toFixed(0)} ms/step (profiling included)`);
    }
    return;
  }
  const threads = opts.threads ?? Math.min(os.availableParallelism(), 8);
  const backends = tfjsBackends(opts);
  const torches = opts.torch ? torchContenders(opts) : [];
  if (opts.torch && torches.length === 0) console.log('PyTorch not found (--python, $DISTILL_PYTHON, repo .venv, python3): torch rows skipped');
  console.log(`batch ${B} x ${L}, vocab ${opts.vocab}, ${threads} threads; ${opts.rounds} interleaved rounds of ${opts.steps} timed steps after ${opts.warmup} warm-up, each contender in a fresh process`);
  console.log(`load average (1/5/15 min) at start: ${load()}  (${os.availableParallelism()} cores)`);
  for (const shape of opts.models) {
    const s = SHAPES[shape];
    console.log(`\n${shape}: ${s.layers} layers, hidden ${s.hidden}, ${s.heads} heads, FFN ${s.ffn}`);
    const rows: Contender[] = [
      ...backends.map((b): Contender => ({ label: `tfjs ${b}`, kind: 'tfjs', backend: b, rounds: [] })),
      ...torches.map((t): Contender => ({ label: `torch ${t.version}`, kind: 'torch', python: t.python, rounds: [] })),
    ];
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of rows) {
        if (c.failed) continue;
        try {
          if (c.kind === 'tfjs') {
            const r = runTfjsChild(c.backend!, shape, opts);
            c.rounds.push(r);
            c.note = `${r.line}; tensors ${r.tensors}`;
          } else {
            const t = runTorch(c.python!, shape, opts, threads);
            c.rounds.push({ ms: t.ms_per_step, rssMb: t.peak_rss_mb });
            c.note = `${t.threads} threads, matmul 2048x512x512 ${t.matmul_gflops.toFixed(0)} GFLOP/s; ${t.blas.join('; ')}`;
          }
        } catch (e) {
          c.failed = (e as Error).message;
        }
      }
    }
    const anchor = rows.find((r) => r.kind === 'torch' && r.rounds.length);
    const anchorMs = anchor ? median(anchor.rounds.map((r) => r.ms)) : undefined;
    const anchorRss = anchor ? median(anchor.rounds.map((r) => r.rssMb)) : undefined;
    console.log(`  ${'contender'.padEnd(18)} ${'ms/step median'.padStart(14)} ${'min-max'.padStart(13)} ${'peak RSS MB'.padStart(11)}  ratio vs ${anchor?.label ?? '-'} (time, RSS)`);
    for (const c of rows) {
      if (c.failed) {
        console.log(`  ${c.label.padEnd(18)} failed: ${c.failed}`);
        continue;
      }
      const ms = c.rounds.map((r) => r.ms);
      const rss = median(c.rounds.map((r) => r.rssMb));
      const med = median(ms);
      let ratio = '';
      if (anchorMs && c !== anchor) {
        const goal = c.backend ? GOALS[c.backend] : undefined;
        const tr = med / anchorMs;
        const rr = rss / anchorRss!;
        ratio = `${tr.toFixed(2)}x, ${rr.toFixed(2)}x` + (goal ? `  (goals <= ${goal.ms}x, <= ${goal.rss}x: ${tr <= goal.ms ? 'met' : 'NOT met'}, ${rr <= goal.rss ? 'met' : 'NOT met'})` : '');
      }
      console.log(`  ${c.label.padEnd(18)} ${med.toFixed(0).padStart(14)} ${`${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)}`.padStart(13)} ${rss.toFixed(0).padStart(11)}  ${ratio}`);
    }
    for (const c of rows) if (c.note) console.log(`    ${c.label}: ${c.note}`);
    console.log(`  load average after ${shape}: ${load()}`);
  }
}

await main();
