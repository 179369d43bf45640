import * as path from 'node:path';
import { CONFIG_OPTIONS, type CommandSpec, type OptionValues } from '../args.ts';
import type { Config } from '../config-schema.ts';
import { UserError } from '../../util/errors.ts';
import { progressBars } from '../pipeline.ts';
import { configOf, envOf } from './common.ts';

const MODES = ['auto', 'cached', 'online'];
const PROVIDERS = ['auto', 'cpu', 'cuda'];

export const generalCommand: CommandSpec = {
  name: 'general',
  summary: 'general distillation on unlabeled text (TinyBERT stage 1): a student folder for `train --init`',
  usage: 'distill general (--teacher <dir> | --config <file>) --corpus <file> [--corpus <file> ...] --out <dir> --steps <n> [options]',
  description:
    'The student learns the teacher\'s embeddings, hidden states and attention (no task head, no labels)\n' +
    'from text files (one sentence or passage per line, UTF-8) or JSONL files (--jsonl-field). The teacher\n' +
    'runs once into a cache when its estimated size fits --max-cache-gb, else inside the training loop\n' +
    '(--mode auto|cached|online; the choice is printed). Writes <out>/student, <out>/checkpoints,\n' +
    '<out>/general-log.jsonl and <out>/general-summary.json; --resume continues an interrupted run.\n' +
    'With --config, the teacher, student shape, max length, seed, backend and provider come from a task\n' +
    "run's config (so the general student fits that run's `train --init`); flags override them.",
  options: [
    ...CONFIG_OPTIONS,
    { name: 'teacher', kind: 'string', arg: '<dir>', help: 'teacher folder (config.json, tokenizer, onnx/model.onnx); any BERT encoder' },
    { name: 'corpus', kind: 'string', arg: '<file>', multiple: true, help: 'a text or JSONL file (repeatable)' },
    { name: 'jsonl-field', kind: 'string', arg: '<name>', help: 'read the corpus as JSONL and take this field (dotted for nested)' },
    { name: 'pairs', kind: 'flag', help: 'consecutive segments of a document as sentence pairs A/B (blank lines end documents)' },
    { name: 'out', short: 'o', kind: 'string', arg: '<dir>', help: 'output folder' },
    { name: 'steps', kind: 'int', arg: '<n>', help: 'optimizer updates' },
    { name: 'max-length', kind: 'int', arg: '<n>', help: 'tokens per window, special tokens included (default 128)' },
    { name: 'batch-size', kind: 'int', arg: '<n>', help: 'windows per update (default 32)' },
    { name: 'lr', kind: 'number', arg: '<rate>', help: 'peak learning rate, linear decay after 10% warm-up (default 1e-4)' },
    { name: 'seed', kind: 'int', arg: '<n>', help: 'random seed (default 42)' },
    { name: 'mode', kind: 'string', arg: '<auto|cached|online>', help: 'teacher cache or teacher in the loop (default auto)' },
    { name: 'max-cache-gb', kind: 'number', arg: '<gb>', help: 'cache budget: auto goes online above it (default 5)' },
    { name: 'hidden-size', kind: 'int', arg: '<n>', help: 'student width (default 312)' },
    { name: 'layers', kind: 'int', arg: '<n>', help: 'student layers (default 4; must divide the teacher\'s)' },
    { name: 'heads', kind: 'int', arg: '<n>', help: 'student attention heads (default 12)' },
    { name: 'intermediate-size', kind: 'int', arg: '<n>', help: 'student FFN width (default 1200)' },
    { name: 'max-positions', kind: 'int', arg: '<n>', help: 'student positions (default 512; the task run must use the same)' },
    { name: 'provider', kind: 'string', arg: '<auto|cpu|cuda>', help: 'onnxruntime provider of the teacher (default auto: CUDA when available)' },
    { name: 'backend', kind: 'string', arg: '<name>', help: 'tfjs backend: auto, tensorflow-gpu, tensorflow, wasm, cpu' },
    { name: 'checkpoint-every', kind: 'int', arg: '<n>', help: 'write the resume checkpoint every n updates (default 100)' },
    { name: 'resume', short: 'r', kind: 'flag', help: 'continue from the latest checkpoint' },
    { name: 'force', short: 'f', kind: 'flag', help: 'start over when <out> holds a run' },
  ],
  examples: [
    'distill general --teacher models/bert-base --corpus wiki.txt --out runs/general --steps 20000 --max-length 128',
    'distill general --config sst2.yaml --corpus wiki.txt --out runs/general --steps 20000',
    'distill general --teacher models/bert-base --corpus docs.jsonl --jsonl-field text --pairs --mode online --out runs/general --steps 5000',
    'distill train --config sst2.yaml --init runs/general/student   # then task distillation from the general student',
  ],
  async run(ctx) {
    const v = ctx.values;
    const env = envOf(ctx);
    const need = (name: string) => {
      if (v[name] === undefined) throw new UserError(`--${name} is required\nSee: distill general --help`);
      return v[name]!;
    };
    const oneOf = (name: string, allowed: string[]) => {
      const x = v[name];
      if (x !== undefined && !allowed.includes(String(x))) throw new UserError(`--${name} must be one of ${allowed.join(', ')}, got "${x}"`);
      return x as string | undefined;
    };
    const c: Config | undefined = v.config ? configOf(ctx) : undefined;
    const teacherDir = v.teacher !== undefined || !c ? path.resolve(String(need('teacher'))) : c.teacher.dir;
    const files = (need('corpus') as string[]).map((f) => path.resolve(String(f)));
    const outDir = path.resolve(String(need('out')));
    const steps = need('steps') as number;
    const mode = oneOf('mode', MODES) as 'auto' | 'cached' | 'online' | undefined;
    const provider = (oneOf('provider', PROVIDERS) ?? c?.teacher.provider) as 'auto' | 'cpu' | 'cuda' | undefined;
    const { initBackend, describeBackend } = await import('../../backend/select.ts');
    const backend = await initBackend((v.backend as never) ?? c?.backend ?? 'auto', { threads: c?.threads });
    env.io.err(`tfjs backend: ${describeBackend(backend)}\n`);
    const { generalDistill } = await import('../../general/general.ts');
    const bars = progressBars(env);
    const r = await generalDistill({
      teacherDir,
      corpus: { files, jsonlField: v['jsonl-field'] as string | undefined },
      pairs: !!v.pairs,
      maxLength: num(v, 'max-length') ?? c?.data.maxLength,
      outDir,
      student: {
        hidden_size: num(v, 'hidden-size') ?? c?.student.hiddenSize,
        num_hidden_layers: num(v, 'layers') ?? c?.student.numLayers,
        num_attention_heads: num(v, 'heads') ?? c?.student.numHeads,
        intermediate_size: num(v, 'intermediate-size') ?? c?.student.intermediateSize,
        max_position_embeddings: num(v, 'max-positions') ?? c?.student.maxPositions,
        hidden_dropout_prob: c?.student.dropout,
        attention_probs_dropout_prob: c?.student.attentionDropout,
      },
      steps,
      batchSize: num(v, 'batch-size'),
      lr: num(v, 'lr'),
      seed: num(v, 'seed') ?? c?.seed,
      mode,
      maxCacheGb: num(v, 'max-cache-gb'),
      provider,
      intraOpThreads: c?.teacher.threads || undefined,
      checkpointEvery: num(v, 'checkpoint-every'),
      resume: env.resume,
      force: env.force,
      notice: (m) => env.io.err(m + '\n'),
      onCacheProgress: (done, total) => bars.update('cache', done, total),
      onProgress: (step, total, info) => bars.update('general', step, total, { loss: info.loss, lr: info.lr }),
    }).finally(() => bars.stop());
    env.io.err(`general distillation: ${r.steps} steps in ${r.seconds.toFixed(0)} s (${r.mode}, final loss ${r.finalLoss.toFixed(4)}); student saved to ${r.studentDir}\n`);
    return 0;
  },
};

/** A numeric option, or undefined (then the stage's default applies). */
function num(v: OptionValues, name: string): number | undefined {
  return v[name] as number | undefined;
}
