/**
 * The run configuration: one zod schema with defaults, strict objects (an unknown or misspelt key is an
 * error, never silently ignored) and the cross-field checks a run would otherwise trip over much later.
 * `z.infer` gives the TypeScript type, so the schema is the single source of truth.
 *
 * Relative paths are resolved against the config file's folder (see config-load.ts).
 */
import { z } from 'zod';

const int = () => z.number().int();
const positiveInt = () => z.number().int().min(1);
const fraction = () => z.number().min(0).max(1);

/** Loss terms a stage may use; they are looked up by name in src/distill/losses.ts. */
// Kept as literals so reading a config does not load tfjs; a test checks they equal LOSSES' keys and
// BACKEND_PREFERENCES.
export const LOSS_NAMES = ['hidden_mse', 'attention_mse', 'attention_probs_mse', 'attention_kl', 'kd_ce', 'kd_kl', 'kd_mse', 'ce', 'mse'] as const;
/** Losses that compare hidden states or attention maps: expanded over the layer mapping. */
export const INTERMEDIATE_LOSSES: readonly string[] = ['hidden_mse', 'attention_mse', 'attention_probs_mse', 'attention_kl'];
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export const TeacherSchema = z
  .object({
    /** Hugging Face style folder: config.json, tokenizer.json (or vocab.txt), onnx/model.onnx. */
    dir: z.string().min(1),
    provider: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    /** onnxruntime intra-op threads; 0 lets onnxruntime decide. */
    threads: int().min(0).default(0),
  })
  .strict();

export const DataSchema = z
  .object({
    /** The task's data folder (e.g. a GLUE download's SST-2/). */
    dir: z.string().min(1),
    trainSplit: z.string().min(1).default('train'),
    /** Defaults to the task's own dev split (e.g. "dev" or "dev_matched"). */
    devSplit: z.string().min(1).optional(),
    maxLength: int().min(8).max(4096).default(128),
  })
  .strict();

export const CacheSchema = z
  .object({
    /** Defaults to <out>/cache. */
    dir: z.string().min(1).optional(),
    dtype: z.enum(['float16', 'float32']).default('float16'),
    batchSize: positiveInt().default(32),
    /** Which teacher layers to store: "all", "logits" (no intermediates) or a list of layer indices. */
    layers: z.union([z.enum(['all', 'logits']), z.array(int().min(0)).min(1)]).default('all'),
    attention: z.enum(['scores', 'probs', 'both']).default('scores'),
    maxCacheGb: z.number().positive().default(5),
  })
  .strict();

export const StudentSchema = z
  .object({
    hiddenSize: positiveInt().default(312),
    numLayers: positiveInt().max(48).default(4),
    numHeads: positiveInt().default(12),
    intermediateSize: positiveInt().default(1200),
    maxPositions: positiveInt().default(512),
    dropout: fraction().default(0.1),
    attentionDropout: fraction().default(0.1),
    /** "teacher": copy every k-th teacher layer (needs equal widths); "random": BERT's initialisation. */
    init: z.enum(['random', 'teacher']).default('random'),
    /** A saved student folder (e.g. from `distill general`) whose encoder starts the run; the task head is fresh. */
    initFolder: z.string().min(1).optional(),
  })
  .strict();

export const LossTermSchema = z
  .object({
    name: z.enum(LOSS_NAMES),
    weight: z.number().min(0).default(1),
  })
  .strict();

export const ScheduleKind = z.enum(['constant', 'linear', 'cosine']);

export const StageSchema = z
  .object({
    name: z.string().min(1).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" or "-"'),
    /** Length of the stage: exactly one of steps and epochs (passes over the training data). */
    steps: positiveInt().optional(),
    epochs: z.number().positive().optional(),
    losses: z.array(LossTermSchema).min(1),
    lr: z.number().positive().max(1).default(5e-5),
    lrSchedule: ScheduleKind.default('linear'),
    /** Fraction of the stage's steps spent warming the learning rate up from 0. */
    warmup: fraction().default(0.1),
    /** Softening temperature of the prediction losses: constant, or moving from `from` to `to`. */
    temperature: z
      .object({
        schedule: ScheduleKind.default('constant'),
        from: z.number().positive().default(1),
        to: z.number().positive().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const LayerPairs = z.array(z.tuple([int().min(0), int().min(0)]));

/**
 * "uniform" (TinyBERT: student layer m ↔ teacher layer m·k), "last" (last layer only), or explicit
 * [student, teacher] pairs; hidden index 0 is the embedding output, attention indices are 0-based layers.
 */
export const MappingSchema = z.union([
  z.enum(['uniform', 'last']),
  z.object({ hidden: LayerPairs.default([]), attention: LayerPairs.default([]) }).strict(),
]);

export const DistillSchema = z
  .object({
    mapping: MappingSchema.default('uniform'),
    /** One projection shared by all hidden matches (TinyBERT's code) instead of one per matched layer. */
    sharedProjection: z.boolean().default(false),
    batchSize: positiveInt().default(32),
    /** Micro-batches per optimizer update. */
    gradAccum: positiveInt().default(1),
    /** Global gradient-norm clipping; 0 turns it off. */
    gradClip: z.number().min(0).default(1),
    weightDecay: z.number().min(0).default(0.01),
    /** Evaluate on dev every N updates (0: at the end of each stage only). */
    evalEvery: int().min(0).default(200),
    /** Resume checkpoint every N updates (0: the trainer's default, evalEvery or 100). */
    checkpointEvery: int().min(0).default(0),
    /** Log a step record every N updates. */
    logEvery: positiveInt().default(1),
    /** TinyBERT's task distillation: intermediate layers first, then the prediction layer. */
    stages: z
      .array(StageSchema)
      .min(1)
      .prefault([
        { name: 'intermediate', epochs: 1, lr: 5e-4, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
        { name: 'prediction', epochs: 1, lr: 3e-4, losses: [{ name: 'kd_ce' }] },
    ]),
  })
  .strict();

export const EmaSchema = z
  .object({
    enabled: z.boolean().default(false),
    beta: z.number().gt(0).lt(1).default(0.9999),
    updateAfterStep: int().min(0).default(100),
    updateEvery: positiveInt().default(10),
    invGamma: z.number().positive().default(1),
    power: z.number().positive().default(2 / 3),
    minValue: fraction().default(0),
  })
  .strict();

export const EvalSchema = z
  .object({
    /** Defaults to the data section's dev split. */
    split: z.string().min(1).optional(),
    batchSize: positiveInt().default(64),
    /** Batch sizes at which the report measures latency of teacher and student. */
    latencyBatchSizes: z.array(positiveInt()).default([1, 32]),
    latencyRuns: positiveInt().default(20),
  })
  .strict();

export const ExportSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Defaults to <out>/student-onnx. */
    dir: z.string().min(1).optional(),
    quantize: z.boolean().default(false),
    withIntermediates: z.boolean().default(false),
  })
  .strict();

export const AugmentSchema = z
  .object({
    enabled: z.boolean().default(false),
    method: z.enum(['embedding', 'mlm']).default('embedding'),
    /** Masked-LM model folder for method "mlm". */
    mlmDir: z.string().min(1).optional(),
    /** New sentences per original (TinyBERT: 20 for SST-2/QNLI, 30 for small tasks, 10 for MNLI/QQP). */
    perExample: positiveInt().default(20),
    /** Probability of replacing each word. */
    replaceProb: fraction().default(0.4),
    /** Candidates considered per replaced word. */
    candidates: positiveInt().default(15),
  })
  .strict();

export const ReportSchema = z
  .object({
    enabled: z.boolean().default(true),
    file: z.string().min(1).default('report.html'),
  })
  .strict();

export const ConfigSchema = z
  .object({
    /** Task name ("sst2", "cola", ...) or the path of a task declaration JSON. */
    task: z.string().min(1),
    teacher: TeacherSchema,
    data: DataSchema,
    /** Output folder of the run: cache, checkpoints, log, export, report. */
    out: z.string().min(1).default('runs/default'),
    seed: int().min(0).default(42),
    backend: z.enum(BACKENDS).default('auto'),
    /** Threads of the wasm backend (default: the machine's cores). */
    threads: positiveInt().optional(),
    cache: CacheSchema.prefault({}),
    student: StudentSchema.prefault({}),
    distill: DistillSchema.prefault({}),
    ema: EmaSchema.prefault({}),
    eval: EvalSchema.prefault({}),
    export: ExportSchema.prefault({}),
    augment: AugmentSchema.prefault({}),
    report: ReportSchema.prefault({}),
  })
  .strict()
  .superRefine(checkDependentFields);

export type Config = z.infer<typeof ConfigSchema>;
export type StageConfig = z.infer<typeof StageSchema>;
export type StudentShape = z.infer<typeof StudentSchema>;
export type MappingConfig = z.infer<typeof MappingSchema>;

type RawConfig = z.input<typeof ConfigSchema> & {
  student: StudentShape;
  distill: z.infer<typeof DistillSchema>;
  data: z.infer<typeof DataSchema>;
  cache: z.infer<typeof CacheSchema>;
  augment: z.infer<typeof AugmentSchema>;
};

/** Cross-field checks that need only the config itself (teacher-dependent ones: checkAgainstTeacher). */
function checkDependentFields(c: RawConfig, ctx: z.RefinementCtx): void {
  const s = c.student;
  if (s.hiddenSize % s.numHeads !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['student', 'numHeads'],
      message: `must divide student.hiddenSize (${s.hiddenSize}); ${s.numHeads} does not`,
    });
  }
  if (s.initFolder !== undefined && s.init === 'teacher') {
    ctx.addIssue({ code: 'custom', path: ['student', 'initFolder'], message: 'give either student.init "teacher" or student.initFolder, not both' });
  }
  if (c.data.maxLength > s.maxPositions) {
    ctx.addIssue({
      code: 'custom',
      path: ['data', 'maxLength'],
      message: `${c.data.maxLength} exceeds student.maxPositions (${s.maxPositions})`,
    });
  }
  const m = c.distill.mapping;
  if (typeof m === 'object') {
    (['hidden', 'attention'] as const).forEach((kind) => {
      const max = kind === 'hidden' ? s.numLayers : s.numLayers - 1;
      m[kind].forEach(([sIdx], i) => {
        if (sIdx > max) {
          ctx.addIssue({
            code: 'custom',
            path: ['distill', 'mapping', kind, i, 0],
            message: `student index ${sIdx} is out of range 0..${max} (student.numLayers is ${s.numLayers}${kind === 'hidden' ? '; hidden 0 is the embedding output' : '; attention indices are 0-based'})`,
          });
        }
      });
    });
    if (m.hidden.length + m.attention.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'mapping'], message: 'explicit mapping has no pairs' });
    }
  }
  const intermediate = c.distill.stages.some((st) => st.losses.some((l) => INTERMEDIATE_LOSSES.includes(l.name)));
  if (intermediate && c.cache.layers === 'logits') {
    ctx.addIssue({
      code: 'custom',
      path: ['cache', 'layers'],
      message: '"logits" stores no hidden states or attention, but a stage uses an intermediate loss (hidden_mse / attention_*)',
    });
  }
  if (c.augment.method === 'mlm' && !c.augment.mlmDir) {
    ctx.addIssue({ code: 'custom', path: ['augment', 'mlmDir'], message: 'required when augment.method is "mlm"' });
  }
  const seen = new Set<string>();
  c.distill.stages.forEach((st, i) => {
    if ((st.steps === undefined) === (st.epochs === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['distill', 'stages', i],
        message: 'give exactly one of "steps" and "epochs"',
      });
    }
    if (seen.has(st.name)) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'name'], message: `duplicate stage name "${st.name}"` });
    }
    seen.add(st.name);
  });
}

/** What checkAgainstTeacher needs to know about the teacher (from its config.json). */
export interface TeacherShape {
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  maxPositions: number;
}

/**
 * Checks that only make sense once the teacher is known: the layer mapping fits both depths, the
 * sequence length fits the teacher, teacher-initialisation has matching widths. Returns messages
 * (empty when all is well) so the caller can raise one UserError listing them all.
 */
export function checkAgainstTeacher(c: Config, t: TeacherShape): string[] {
  const errs: string[] = [];
  const s = c.student;
  const m = c.distill.mapping;
  const usesIntermediate = c.distill.stages.some((st) => st.losses.some((l) => INTERMEDIATE_LOSSES.includes(l.name)));
  if (m === 'uniform' && usesIntermediate && t.numLayers % s.numLayers !== 0) {
    errs.push(
      `distill.mapping: "uniform" needs the teacher's ${t.numLayers} layers to be a multiple of student.numLayers (${s.numLayers}); ` +
        'choose a divisor, "last", or explicit {hidden, attention} pairs',
    );
  }
  if (typeof m === 'object') {
    (['hidden', 'attention'] as const).forEach((kind) => {
      const max = kind === 'hidden' ? t.numLayers : t.numLayers - 1;
      m[kind].forEach(([, tIdx], i) => {
        if (tIdx > max) errs.push(`distill.mapping.${kind}[${i}][1]: teacher index ${tIdx} is out of range 0..${max} (the teacher has ${t.numLayers} layers)`);
      });
    });
  }
  if (c.data.maxLength > t.maxPositions) {
    errs.push(`data.maxLength: ${c.data.maxLength} exceeds the teacher's max_position_embeddings (${t.maxPositions})`);
  }
  if (s.init === 'teacher') {
    if (s.hiddenSize !== t.hiddenSize) {
      errs.push(`student.init: "teacher" needs student.hiddenSize = teacher hidden_size (${t.hiddenSize}), got ${s.hiddenSize}`);
    }
    if (s.numLayers > t.numLayers) {
      errs.push(`student.init: "teacher" needs student.numLayers <= the teacher's ${t.numLayers} layers`);
    }
  }
  return errs;
}
