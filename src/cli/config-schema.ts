/**
 * The run configuration: one zod schema with defaults, strict objects (an unknown or misspelt key is an
 * error, never silently ignored) and the cross-field checks a run would otherwise trip over much later.
 * `z.infer` gives the TypeScript type, so the schema is the single source of truth.
 *
 * Relative paths are resolved against the config file's folder (see config-load.ts).
 */
import { z } from 'zod';
import { assistantRunConfig, chainLinkName } from './chain.ts';

const int = () => z.number().int();
const positiveInt = () => z.number().int().min(1);
const fraction = () => z.number().min(0).max(1);

/** Loss terms a stage may use; they are looked up by name in src/distill/losses.ts. */
// Kept as literals so reading a config does not load tfjs; a test checks they equal LOSSES' keys and
// BACKEND_PREFERENCES.
export const LOSS_NAMES = ['hidden_mse', 'attention_mse', 'attention_probs_mse', 'attention_kl', 'relation_kl', 'pooled_mse', 'kd_ce', 'kd_kl', 'kd_mse', 'ce', 'mse'] as const;
/** Losses that compare hidden states or attention maps: expanded over the layer mapping. */
export const INTERMEDIATE_LOSSES: readonly string[] = ['hidden_mse', 'attention_mse', 'attention_probs_mse', 'attention_kl'];
/** Losses on the teacher's query/key/value projections (cached for the layers they name). */
export const RELATION_LOSSES: readonly string[] = ['relation_kl'];
/** Losses on a hidden state mean-pooled over each model's own tokens (sequence-level: allowed across tokenizers). */
export const POOLED_LOSSES: readonly string[] = ['pooled_mse'];
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export const TeacherSchema = z
  .object({
    /** Hugging Face style folder: config.json, tokenizer.json (or vocab.txt), onnx/model.onnx. */
    dir: z.string().min(1),
    /** onnxruntime execution provider: "auto" (CUDA when installed, else CPU), "cpu", "cuda" (falls back to CPU with a notice when absent). */
    provider: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    /** onnxruntime intra-op threads; 0 lets onnxruntime decide. */
    threads: int().min(0).default(0),
    /**
     * Teacher label name → task label name, when the teacher's config.json id2label names differ from
     * the task's ("negative=0,positive=1" or {"negative": "0", ...}); logits are put in the task's order.
     */
    labelMap: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  })
  .strict();

export const DataSchema = z
  .object({
    /** The task's data folder (e.g. a GLUE download's SST-2/). */
    dir: z.string().min(1),
    /** Split to distil on. */
    trainSplit: z.string().min(1).default('train'),
    /** Defaults to the task's own dev split (e.g. "dev" or "dev_matched"). */
    devSplit: z.string().min(1).optional(),
    /** Tokens per example, special tokens included; at most student.maxPositions and the teacher's positions. */
    maxLength: int().min(8).max(4096).default(128),
  })
  .strict();

export const CacheSchema = z
  .object({
    /** Defaults to <out>/cache. With assistants it is the teacher's cache (the first assistant's); the others sit in each run folder. */
    dir: z.string().min(1).optional(),
    /** Storage type of the cached teacher outputs. */
    dtype: z.enum(['float16', 'float32']).default('float16'),
    /** Teacher batch size while caching. */
    batchSize: positiveInt().default(32),
    /** Which teacher layers to store: "all", "logits" (no intermediates) or a list of layer indices. */
    layers: z.union([z.enum(['all', 'logits']), z.array(int().min(0)).min(1)]).default('all'),
    /** Which attention tensor to store: pre-softmax scores, probabilities or both. */
    attention: z.enum(['scores', 'probs', 'both']).default('scores'),
    /** Refuse to build a cache larger than this (estimated before starting). */
    maxCacheGb: z.number().positive().default(5),
    /** Target size of one shard file in MB (each is written whole and atomically; resume works per shard). */
    shardMb: z.number().positive().default(256),
    // The query/key/value layers stored follow from the relation_kl losses (their teacherLayer).
  })
  .strict();

/** The keys of a student's shape and initialisation (the student's, and each teacher assistant's). */
const studentKeys = {
  /** Width of the student (hidden_size). */
  hiddenSize: positiveInt().default(312),
  /** Encoder layers of the student. */
  numLayers: positiveInt().max(48).default(4),
  /** Attention heads; must divide hiddenSize. */
  numHeads: positiveInt().default(12),
  /** Feed-forward width. */
  intermediateSize: positiveInt().default(1200),
  /** Position embeddings (longest sequence). */
  maxPositions: positiveInt().default(512),
  /** Hidden dropout probability. */
  dropout: fraction().default(0.1),
  /** Attention-probability dropout. */
  attentionDropout: fraction().default(0.1),
  /** "teacher": copy every k-th teacher layer (needs equal widths); "random": BERT's initialisation. */
  init: z.enum(['random', 'teacher']).default('random'),
  /** A saved student folder (e.g. from `distill general`) whose encoder starts the run; the task head is fresh. */
  initFolder: z.string().min(1).optional(),
};

export const StudentSchema = z
  .object({
    ...studentKeys,
    /**
     * The student's own tokenizer (a folder, tokenizer.json or vocab.txt) instead of the teacher's: cross-tokenizer
     * distillation. The teacher is cached on its own tokens, the student reads the same texts with this one; only
     * sequence-level losses (kd_ce, kd_kl, kd_mse, pooled_mse, ce, mse) are allowed, and the cache stores logits
     * (and, for pooled_mse, the teacher's last hidden state) only.
     */
    tokenizer: z.string().min(1).optional(),
    /**
     * Attention heads per layer, when they differ (a student built pruned): layer i keeps heads 0..n−1, each
     * of width hiddenSize / numHeads; config.json records the rest as Hugging Face's pruned_heads.
     */
    layerHeads: z.array(positiveInt()).min(1).optional(),
    /** Feed-forward width per layer, when they differ (config.json: layer_intermediate_sizes). */
    layerIntermediateSizes: z.array(positiveInt()).min(1).optional(),
  })
  .strict();

export const LossTermSchema = z
  .object({
    /** The loss: hidden_mse, attention_mse, attention_probs_mse, attention_kl (intermediate); relation_kl (MiniLM-v2 Q/K/V relations); pooled_mse (last hidden states mean-pooled over each model's own tokens, the student's projected to the teacher's width; works with student.tokenizer); kd_ce, kd_kl, kd_mse (teacher predictions); ce, mse (gold labels). */
    name: z.enum(LOSS_NAMES),
    /** Multiplier of this loss term (0 drops it). */
    weight: z.number().min(0).default(1),
    /** Prediction losses (kd_*) only: this term's own softening temperature (the stage's temperature wins when set). */
    temperature: z.number().positive().optional(),
    /** Prediction losses (kd_ce, kd_kl) only: multiply by T² (Hinton's gradient-scale correction). */
    scaleT2: z.boolean().optional(),
    /** relation_kl only: relation heads both models' Q/K/V are split into (must divide both widths; MiniLM-v2: 48 for base-size teachers). */
    relationHeads: positiveInt().optional(),
    /** relation_kl only: which self-attention relations (query–query, key–key, value–value). */
    relations: z.array(z.enum(['qq', 'kk', 'vv'])).min(1).optional(),
    /** relation_kl only: teacher layer (1-based) whose relations are taught; default its last (MiniLM-v2 also uses an upper-middle one). */
    teacherLayer: positiveInt().optional(),
    /** relation_kl only: student layer (1-based) that learns them; default its last. */
    studentLayer: positiveInt().optional(),
  })
  .strict();

export const ScheduleKind = z.enum(['constant', 'linear', 'cosine']);

/** Optional window of a schedule, in 0-based updates of the stage (default: the whole stage). */
const windowKeys = {
  /** First update of the schedule's window (default 0). */
  startStep: int().min(0).optional(),
  /** Last update of the schedule's window (default: the stage's last). */
  endStep: int().min(0).optional(),
};

/** A value moving from `from` to `to` over the stage (or a window of it), linearly or along a half cosine. */
export const ValueScheduleSchema = z
  .object({
    /** Shape of the move: linear or half cosine. */
    schedule: z.enum(['linear', 'cosine']),
    /** Value at the first update of the window. */
    from: z.number(),
    /** Value at the last update of the window. */
    to: z.number(),
    ...windowKeys,
  })
  .strict();

/**
 * A loss-weight schedule (TextBrewer's weight schedulers, scaled by `weight`): constant, growing from 0,
 * decaying to 0, or validation-adaptive (shrinks as the student's dev score nears `teacherScore`).
 */
export const WeightScheduleSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('constant'),
      /** The fixed multiplier. */
      weight: z.number().min(0),
    })
    .strict(),
  z
    .object({
      kind: z.enum(['linear_growth', 'linear_decay', 'cosine_growth', 'cosine_decay']),
      /** Largest value: growth goes 0 → weight, decay weight → 0 (linearly or along a half cosine). */
      weight: z.number().min(0).default(1),
      ...windowKeys,
    })
    .strict(),
  z
    .object({
      kind: z.literal('adaptive'),
      /** Weight while the gap is at least `margin` (and before the first evaluation). */
      weight: z.number().min(0).default(1),
      /** The teacher's dev score on the selection metric. */
      teacherScore: z.number(),
      /** Score gap at and above which the full weight applies. */
      margin: z.number().min(0),
      /** Floor of the adaptive weight. */
      minWeight: z.number().min(0).optional(),
    })
    .strict(),
]);

/** Per-sample temperature around the stage temperature (TextBrewer): fixed, flsw or cwsm. */
export const TemperatureRuleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed') }).strict(),
  z
    .object({
      kind: z.literal('flsw'),
      /** Spread of the per-sample temperatures around the base. */
      beta: z.number().default(1),
      /** Exponent on (1 − cos(student logits, teacher logits)). */
      gamma: z.number().positive().default(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal('cwsm'),
      /** Spread of the per-sample temperatures around the base. */
      beta: z.number().default(1),
    })
    .strict(),
]);

export const StageSchema = z
  .object({
    /** Stage name (letters, digits, "_" or "-"), unique; shown in logs and progress. */
    name: z.string().min(1).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" or "-"'),
    /** Length of the stage: exactly one of steps and epochs (passes over the training data). */
    steps: positiveInt().optional(),
    /** Length in passes over the training data (instead of steps). */
    epochs: z.number().positive().optional(),
    /** The loss terms this stage minimises. */
    losses: z.array(LossTermSchema).min(1),
    /** Peak learning rate. */
    lr: z.number().positive().max(1).default(5e-5),
    /** Learning-rate shape after the warm-up: constant, linear decay or cosine decay. */
    lrSchedule: ScheduleKind.default('linear'),
    /** Fraction of the stage's steps spent warming the learning rate up from 0. */
    warmup: fraction().default(0.1),
    /** Cosine schedule only: the learning rate's floor as a fraction of `lr`. */
    lrMinRatio: fraction().default(0),
    /** Softening temperature of the prediction losses: a number, or moving from `from` to `to`. */
    temperature: z
      .union([
        z.number().positive(),
        z
          .object({
            /** constant (`from` throughout), linear or cosine from `from` to `to`. */
            schedule: ScheduleKind.default('constant'),
            /** Temperature at the start (the constant one for "constant"). */
            from: z.number().positive().default(1),
            /** Temperature at the end. */
            to: z.number().positive().optional(),
            ...windowKeys,
          })
          .strict(),
      ])
      .default(1),
    /** Per-sample temperatures around `temperature` (flsw, cwsm). */
    temperatureRule: TemperatureRuleSchema.optional(),
    /**
     * α, the share of the distillation (teacher) losses against the gold-label losses: prediction
     * losses are scaled by α, ce / mse by 1 − α. A number in [0, 1] or a schedule ("0.9 down to 0.1").
     */
    alpha: z.union([fraction(), ValueScheduleSchema]).optional(),
    /** Extra multiplier per feature (hidden, attention, logits, labels), scheduled ("λ grows from 0"). */
    weights: z
      .object({
        /** Multiplier of hidden_mse terms. */
        hidden: WeightScheduleSchema,
        /** Multiplier of attention_* terms. */
        attention: WeightScheduleSchema,
        /** Multiplier of the prediction (kd_*) terms. */
        logits: WeightScheduleSchema,
        /** Multiplier of the gold-label (ce, mse) terms. */
        labels: WeightScheduleSchema,
      })
      .partial()
      .strict()
      .optional(),
    /** Hand over from the intermediate to the prediction losses between two updates, in one stage. */
    curriculum: z
      .object({
        /** Shape of the handover. */
        kind: z.enum(['linear', 'cosine']).default('linear'),
        /** Update where the handover begins (intermediate losses at full weight before it). */
        startStep: int().min(0),
        /** Update where it ends (prediction losses at full weight after it). */
        endStep: int().min(0),
      })
      .strict()
      .optional(),
    /**
     * Quantisation-aware training in this stage: the encoder's dense layers run fake-int8 (per-channel
     * int8 weights, uint8 inputs over observed or learned ranges, straight-through gradients); export then writes
     * onnx/model_quantized.onnx with the trained ranges. Every later stage must quantise too.
     */
    quantize: z.boolean().default(false),
    /**
     * Structured pruning at the start of this stage, whose own training then recovers: each attention head's
     * and feed-forward unit's importance is measured on the stage's loss, and the least important are
     * removed. Export writes the per-layer shapes (config.json pruned_heads, as Hugging Face, and
     * layer_intermediate_sizes). Attention and relation losses cannot be used from this stage on.
     */
    prune: z
      .object({
        /** Heads kept: a list = the count per layer; a number = the total over all layers (by score across layers, at least one per layer). Omit to keep every head. */
        heads: z.union([positiveInt(), z.array(positiveInt()).min(1)]).optional(),
        /** Feed-forward units kept: a list = the width per layer; a number = the total over all layers. Omit to keep every unit. */
        ffn: z.union([positiveInt(), z.array(positiveInt()).min(1)]).optional(),
        /** "gradient": E|∂L/∂ξ| of a mask ξ on each head / unit, L the stage's loss (Michel et al. 2019). */
        score: z.enum(['gradient']).default('gradient'),
        /** Training batches the importance is averaged over. */
        batches: positiveInt().default(32),
        /** Divide each layer's scores by their L2 norm (as the paper; makes a global total fair across layers). */
        normalize: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** Momentum distillation: the EMA student as a second, moving teacher (needs ema.enabled). */
    momentum: z
      .object({
        /** Weight of the EMA student's softened predictions in the target, or a schedule of it. */
        alpha: z.union([fraction(), ValueScheduleSchema]),
        /** Temperature that softens the EMA student's logits. */
        temperature: z.number().positive().default(1),
      })
      .strict()
      .optional(),
  })
  .strict();

const LayerPairs = z.array(z.tuple([int().min(0), int().min(0)]));

/**
 * "uniform" (TinyBERT: student layer m ↔ teacher layer m·k), "last" (last layer only), or explicit
 * [student, teacher] pairs; hidden index 0 is the embedding output, attention indices are 0-based layers.
 */
export const MappingSchema = z.union([
  z.enum(['uniform', 'last']),
  z
    .object({
      /** [student, teacher] pairs of hidden states (0 is the embedding output). */
      hidden: LayerPairs.default([]),
      /** [student, teacher] pairs of attention layers (0-based). */
      attention: LayerPairs.default([]),
    })
    .strict(),
]);

export const DistillSchema = z
  .object({
    /** Student ↔ teacher layer mapping for intermediate losses: "uniform", "last" or explicit {hidden, attention} pairs. */
    mapping: MappingSchema.default('uniform'),
    /** One projection shared by all hidden matches (TinyBERT's code) instead of one per matched layer. */
    sharedProjection: z.boolean().default(false),
    /** Examples per micro-batch. */
    batchSize: positiveInt().default(32),
    /** Micro-batches per optimizer update. */
    gradAccum: positiveInt().default(1),
    /** Global gradient-norm clipping; 0 turns it off. */
    gradClip: z.number().min(0).default(1),
    /** AdamW weight decay (not on biases and LayerNorm). */
    weightDecay: z.number().min(0).default(0.01),
    /** AdamW moments and epsilon. */
    optimizer: z
      .object({
        /** AdamW first-moment decay. */
        beta1: fraction().default(0.9),
        /** AdamW second-moment decay. */
        beta2: fraction().default(0.999),
        /** AdamW epsilon. */
        epsilon: z.number().positive().default(1e-6),
      })
      .strict()
      .prefault({}),
    /** Batches are length-sorted in groups of this many batches (less padding); default: the trainer's. */
    bucketSize: positiveInt().optional(),
    /**
     * Self-distillation: no teacher outputs are cached or read; prediction losses learn from gold labels
     * mixed with the EMA student's predictions (needs a stage `momentum` and ema.enabled). The teacher
     * folder still supplies the tokenizer.
     */
    selfDistillation: z.boolean().default(false),
    /** Evaluate on dev every N updates (0: at the end of each stage only). */
    evalEvery: int().min(0).default(200),
    /** Resume checkpoint every N updates (0: the trainer's default, evalEvery or 100). */
    checkpointEvery: int().min(0).default(0),
    /** Log a step record every N updates. */
    logEvery: positiveInt().default(1),
    /**
     * Stop training (all remaining stages) when the dev selection metric has not improved for
     * `patience` evaluations (every evalEvery updates and at stage ends). Resumable.
     */
    earlyStopping: z
      .object({
        /** Evaluations without improvement before training stops. */
        patience: positiveInt(),
        /** An improvement must beat the best score by more than this. */
        minDelta: z.number().min(0).default(0),
        /** "max": higher is better (every GLUE metric); "min": lower is better. */
        mode: z.enum(['max', 'min']).default('max'),
      })
      .strict()
      .optional(),
    /** Multiply the learning rate by `factor` when the dev selection metric has not improved for `patience` evaluations. Resumable. */
    reduceLrOnPlateau: z
      .object({
        /** Evaluations without improvement before a reduction. */
        patience: positiveInt(),
        /** Multiplier of the learning rate at each reduction. */
        factor: z.number().gt(0).lt(1).default(0.5),
        /** An improvement must beat the best score by more than this. */
        minDelta: z.number().min(0).default(0),
        /** "max": higher is better; "min": lower is better. */
        mode: z.enum(['max', 'min']).default('max'),
        /** Evaluations after a reduction before plateaus are counted again. */
        cooldown: int().min(0).default(0),
        /** Floor of each stage's peak learning rate after reductions. */
        minLr: z.number().min(0).default(0),
      })
      .strict()
      .optional(),
    /** Settings of the stages with `quantize: true` (quantisation-aware training). */
    quantization: z
      .object({
        /** Weight of the old range in the moving average of each dense input's batch min / max. */
        emaDecay: z.number().min(0).lt(1).default(0.99),
        /** 7-bit weights ([-63, 63]): for onnxruntime on x86 CPUs without VNNI, whose u8·s8 kernels can saturate with 8-bit ones. */
        reduceRange: z.boolean().default(false),
        /**
         * How each dense input's uint8 range is set: "observed" follows the EMA of batch min / max; "learned"
         * starts from the first batch's min / max and is then trained with the weights (LSQ+ gradient:
         * straight through inside the range, the clipping gradient outside).
         */
        ranges: z.enum(['observed', 'learned']).default('observed'),
      })
      .strict()
      .prefault({}),
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

/** A schema without its top-level default, so an override holds only the keys it gives. */
function withoutDefault(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault ? withoutDefault(schema.unwrap() as z.ZodType) : schema;
}

/**
 * The keys of `distill`, none defaulted: an assistant's overrides. Each key given replaces that key of
 * the run's `distill` whole (a stage list, an optimizer object); the others are the run's.
 */
export const DistillOverrideSchema = z
  .object(Object.fromEntries(Object.entries(DistillSchema.shape).map(([k, v]) => [k, withoutDefault(v).optional()])) as {
    [K in keyof typeof DistillSchema.shape]: z.ZodOptional<z.ZodType<z.infer<(typeof DistillSchema.shape)[K]>>>;
  })
  .strict();

/** A teacher assistant: a student shape, distilled before the student and then its teacher. */
export const AssistantSchema = z
  .object({
    ...studentKeys,
    /** This assistant's training settings: keys of `distill` that replace the run's (each key whole). */
    distill: DistillOverrideSchema.optional(),
  })
  .strict();

export const EmaSchema = z
  .object({
    /** Keep an EMA of the student's weights and evaluate it next to the raw student (the better one is kept). */
    enabled: z.boolean().default(false),
    /** Largest decay of the average. */
    beta: z.number().gt(0).lt(1).default(0.9999),
    /** Weights are copied, not averaged, until this update. */
    updateAfterStep: int().min(0).default(100),
    /** The average moves every N updates. */
    updateEvery: positiveInt().default(10),
    /** Warm-up decay 1 − (1 + e/invGamma)^(−power): its time scale. */
    invGamma: z.number().positive().default(1),
    /** Warm-up decay exponent. */
    power: z.number().positive().default(2 / 3),
    /** Smallest decay once averaging starts. */
    minValue: fraction().default(0),
    /** "warmup": decay grows towards beta as above; "constant": decay = beta throughout. */
    mode: z.enum(['warmup', 'constant']).default('warmup'),
    /** Constant mode only: Adam-style bias correction of a zero-initialised average. */
    biasCorrection: z.boolean().default(false),
    /** Parameter names (or prefixes ending in ".") copied instead of averaged. */
    exclude: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const MultiTeacherSchema = z
  .object({
    /** Teachers besides `teacher`, each a teacher folder (its cache is built next to the main cache, as cache-teacher<i>) or a built cache. */
    teachers: z
      .array(
        z
          .object({
            /** A teacher folder (its logits are cached next to the main cache, in cache-teacher<i>). */
            dir: z.string().min(1).optional(),
            /** A teacher cache built earlier (`distill cache`) for the same training data. */
            cache: z.string().min(1).optional(),
            /** Weight for combine "weighted". */
            weight: z.number().min(0).default(1),
          })
          .strict(),
      )
      .default([]),
    /** How the teachers' predictions become one target. */
    combine: z.enum(['mean', 'weighted', 'most_confident']).default('mean'),
    /** Weight of `teacher` for combine "weighted". */
    weight: z.number().min(0).default(1),
    /** Whose hidden states and attention are matched: 0 is `teacher`, i the i-th of `teachers`. */
    intermediate: int().min(0).default(0),
  })
  .strict();

export const EvalSchema = z
  .object({
    /** Defaults to the data section's dev split. */
    split: z.string().min(1).optional(),
    /** Batch size of dev evaluation (during training and after). */
    batchSize: positiveInt().default(64),
    /** Batch sizes at which the report measures latency of teacher and student. */
    latencyBatchSizes: z.array(positiveInt()).default([1, 32]),
    /** Timed runs per latency measurement. */
    latencyRuns: positiveInt().default(20),
  })
  .strict();

export const ExportSchema = z
  .object({
    /** Export the best student to ONNX at the end of `run`. */
    enabled: z.boolean().default(true),
    /** Defaults to <out>/student-onnx. */
    dir: z.string().min(1).optional(),
    /** Also write an int8 (dynamically quantised) model; a student trained with a `quantize` stage always gets its trained int8 model (QDQ) instead. */
    quantize: z.boolean().default(false),
    /** Also output hidden states and attention (for inspection). */
    withIntermediates: z.boolean().default(false),
  })
  .strict();

export const AugmentSchema = z
  .object({
    /** Augment the training split before caching (TinyBERT word replacement), inside `run`. */
    enabled: z.boolean().default(false),
    /** Candidate words from the teacher's word embeddings or from a masked LM. */
    method: z.enum(['embedding', 'mlm']).default('embedding'),
    /** Masked-LM model folder for method "mlm". */
    mlmDir: z.string().min(1).optional(),
    /** New sentences per original (TinyBERT: 20 for SST-2/QNLI, 30 for small tasks, 10 for MNLI/QQP). */
    perExample: positiveInt().default(20),
    /** Probability of replacing each word. */
    replaceProb: fraction().default(0.4),
    /** Candidates considered per replaced word. */
    candidates: positiveInt().default(15),
    /**
     * Texts with fewer words (punctuation counts) stay as they are, without variants: SST-2's training
     * split is mostly short phrases, its dev split whole sentences.
     */
    minWords: positiveInt().default(1),
  })
  .strict();

export const ReportSchema = z
  .object({
    /** Write the HTML report at the end of `run`. */
    enabled: z.boolean().default(true),
    /** Report file, relative to out. */
    file: z.string().min(1).default('report.html'),
  })
  .strict();

/**
 * Student architecture search (`distill search`): candidate shapes timed as random-weight ONNX exports,
 * those inside the budget ranked, the most promising few distilled briefly and compared on dev.
 */
export const SearchSchema = z
  .object({
    /** What a candidate may cost; at least one of latencyMs and sizeMb. */
    budget: z
      .object({
        /** Largest median onnxruntime (Node, teacher.provider) latency of one forward pass, in ms, at `batchSize` rows of data.maxLength tokens. */
        latencyMs: z.number().positive().optional(),
        /** Batch size the latency budget is measured at. */
        batchSize: positiveInt().default(1),
        /** Largest ONNX model file, in MB (10^6 bytes). */
        sizeMb: z.number().positive().optional(),
        /** Which export the budget applies to: the fp32 model, or the dynamically quantised int8 one. */
        precision: z.enum(['fp32', 'int8']).default('fp32'),
      })
      .strict(),
    /** Candidate shapes: every combination of these values (combinations whose hidden size the heads do not divide are skipped). */
    grid: z
      .object({
        /** Encoder layers. */
        layers: z.array(positiveInt().max(48)).min(1),
        /** Hidden sizes. */
        hidden: z.array(positiveInt()).min(1),
        /** Attention heads. */
        heads: z.array(positiveInt()).min(1),
        /** Feed-forward widths, or "4x": four times each hidden size (BERT's ratio). */
        intermediate: z.union([z.array(positiveInt()).min(1), z.literal('4x')]).default('4x'),
      })
      .strict(),
    /** Candidates inside the budget that are distilled (the largest by parameter count). */
    top: positiveInt().default(3),
    /** Updates of each short distillation: the config's stages scaled to this many in total. */
    steps: positiveInt().default(200),
    /** Timed forward passes per candidate (after two warm-up passes); the median is compared with the budget. */
    repeats: positiveInt().default(20),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.budget.latencyMs === undefined && s.budget.sizeMb === undefined) {
      ctx.addIssue({ code: 'custom', path: ['budget'], message: 'give latencyMs, sizeMb or both (the search keeps the candidates inside them)' });
    }
  });

export const ConfigSchema = z
  .object({
    /** Task name ("sst2", "cola", ...) or the path of a task declaration JSON. */
    task: z.string().min(1),
    /** The teacher model (its cache feeds the losses; its tokenizer is the student's unless student.tokenizer gives another). */
    teacher: TeacherSchema,
    /** Where the task's data is and how it is tokenised. */
    data: DataSchema,
    /** Output folder of the run: cache, checkpoints, log, export, report. */
    out: z.string().min(1).default('runs/default'),
    /** Random seed: data order, initialisation, dropout. */
    seed: int().min(0).default(42),
    /** tfjs backend: auto, tensorflow-gpu, tensorflow, wasm, cpu. */
    backend: z.enum(BACKENDS).default('auto'),
    /** Threads of the wasm and tensorflow backends (default: the machine's cores); one per job when jobs share the cores. */
    threads: positiveInt().optional(),
    /** The teacher cache (teacher outputs over the training split). */
    cache: CacheSchema.prefault({}),
    /** Shape and initialisation of the student. */
    student: StudentSchema.prefault({}),
    /**
     * Teacher assistants, largest first: each is distilled from the one before (the first from the
     * teacher), exported with hidden states and attention into <out>/assistant-<i>, and the student is
     * distilled from the last (progressive distillation over a large capacity gap).
     */
    assistants: z.array(AssistantSchema).default([]),
    /** Training: layer mapping, batches, optimiser, stages. */
    distill: DistillSchema.prefault({}),
    /** Exponential moving average of the student's weights. */
    ema: EmaSchema.prefault({}),
    /** More teachers whose predictions are combined into one target. */
    multiTeacher: MultiTeacherSchema.prefault({}),
    /** Evaluation and latency measurement. */
    eval: EvalSchema.prefault({}),
    /** ONNX export of the best student. */
    export: ExportSchema.prefault({}),
    /** Data augmentation of the training split. */
    augment: AugmentSchema.prefault({}),
    /** The HTML report. */
    report: ReportSchema.prefault({}),
    /** Student architecture search (`distill search`); absent: the command refuses to run. */
    search: SearchSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkDependentFields(c, ctx);
    checkAssistants(c as unknown as Config, ctx);
  });

export type Config = z.infer<typeof ConfigSchema>;
export type StageConfig = z.infer<typeof StageSchema>;
export type StudentShape = z.infer<typeof StudentSchema>;
export type AssistantConfig = z.infer<typeof AssistantSchema>;
export type MappingConfig = z.infer<typeof MappingSchema>;
export type ValueScheduleConfig = z.infer<typeof ValueScheduleSchema>;
export type SearchConfig = z.infer<typeof SearchSchema>;

type RawConfig = z.input<typeof ConfigSchema> & {
  /** Shape and initialisation of the student. */
  student: StudentShape;
  /** Training: layer mapping, batches, optimiser, stages. */
  distill: z.infer<typeof DistillSchema>;
  /** Where the task's data is and how it is tokenised. */
  data: z.infer<typeof DataSchema>;
  /** The teacher cache (teacher outputs over the training split). */
  cache: z.infer<typeof CacheSchema>;
  /** Data augmentation of the training split. */
  augment: z.infer<typeof AugmentSchema>;
  /** Exponential moving average of the student's weights. */
  ema: z.infer<typeof EmaSchema>;
  /** More teachers whose predictions are combined into one target. */
  multiTeacher: z.infer<typeof MultiTeacherSchema>;
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
  for (const key of ['layerHeads', 'layerIntermediateSizes'] as const) {
    const v = s[key];
    if (v === undefined) continue;
    if (v.length !== s.numLayers) ctx.addIssue({ code: 'custom', path: ['student', key], message: `must list ${s.numLayers} values (student.numLayers), got ${v.length}` });
    if (s.init === 'teacher' || s.initFolder !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['student', key], message: `a student initialised from ${s.initFolder !== undefined ? 'student.initFolder (its config.json gives its shape)' : 'the teacher (whole layers copied)'} cannot set per-layer shapes; prune it with a stage's prune instead` });
    }
  }
  const tooMany = s.layerHeads?.findIndex((n) => n > s.numHeads) ?? -1;
  if (tooMany >= 0) ctx.addIssue({ code: 'custom', path: ['student', 'layerHeads', tooMany], message: `at most student.numHeads (${s.numHeads})` });
  if (s.initFolder !== undefined && s.init === 'teacher') {
    ctx.addIssue({ code: 'custom', path: ['student', 'initFolder'], message: 'give either student.init "teacher" or student.initFolder, not both' });
  }
  if (s.tokenizer !== undefined) {
    // Token-level matches compare position t of the student with position t of the teacher: with two
    // tokenizers these are different pieces of text (and the counts differ), so they mean nothing.
    c.distill.stages.forEach((st, i) => st.losses.forEach((l, j) => {
      if (INTERMEDIATE_LOSSES.includes(l.name) || RELATION_LOSSES.includes(l.name)) {
        ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'losses', j, 'name'], message: tokenLevelRefusal(l.name) });
      }
    }));
    if (s.init === 'teacher') {
      ctx.addIssue({ code: 'custom', path: ['student', 'init'], message: '"teacher" copies the teacher\'s embedding table, which belongs to the teacher\'s vocabulary, not to student.tokenizer; use "random" or student.initFolder' });
    }
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
  const intermediate = c.distill.stages.some((st) => st.losses.some((l) => INTERMEDIATE_LOSSES.includes(l.name) || RELATION_LOSSES.includes(l.name) || POOLED_LOSSES.includes(l.name)));
  if (intermediate && c.cache.layers === 'logits') {
    ctx.addIssue({
      code: 'custom',
      path: ['cache', 'layers'],
      message: '"logits" stores no hidden states or attention (nor query/key/value), but a stage uses an intermediate loss (hidden_mse / attention_* / relation_kl / pooled_mse)',
    });
  }
  if (c.augment.method === 'mlm' && !c.augment.mlmDir) {
    ctx.addIssue({ code: 'custom', path: ['augment', 'mlmDir'], message: 'required when augment.method is "mlm"' });
  }
  c.multiTeacher.teachers.forEach((t, i) => {
    if ((t.dir === undefined) === (t.cache === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['multiTeacher', 'teachers', i], message: 'give exactly one of "dir" (a teacher folder) and "cache" (a built teacher cache)' });
    }
  });
  if (c.multiTeacher.intermediate > c.multiTeacher.teachers.length) {
    ctx.addIssue({ code: 'custom', path: ['multiTeacher', 'intermediate'], message: `must be 0 (teacher) .. ${c.multiTeacher.teachers.length} (the extra teachers)` });
  }
  if (c.distill.selfDistillation && c.multiTeacher.teachers.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['distill', 'selfDistillation'], message: 'self-distillation reads no teacher outputs; remove multiTeacher.teachers' });
  }
  const es = c.distill.earlyStopping;
  const rl = c.distill.reduceLrOnPlateau;
  if (es && rl && es.mode !== rl.mode) {
    ctx.addIssue({ code: 'custom', path: ['distill', 'reduceLrOnPlateau', 'mode'], message: `must equal distill.earlyStopping.mode ("${es.mode}"): both watch the same metric` });
  }
  const seen = new Set<string>();
  c.distill.stages.forEach((st, i) => {
    if (st.momentum && !c.ema.enabled) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'momentum'], message: 'needs ema.enabled: true (the EMA student is the momentum teacher)' });
    }
    st.losses.forEach((l, j) => {
      if (l.name === 'relation_kl' && l.relationHeads === undefined) {
        ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'losses', j, 'relationHeads'], message: 'required for relation_kl (relation heads; must divide both hidden sizes)' });
      }
      if (l.name === 'relation_kl' && l.studentLayer !== undefined && l.studentLayer > s.numLayers) {
        ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'losses', j, 'studentLayer'], message: `${l.studentLayer} is out of range 1..${s.numLayers} (student.numLayers)` });
      }
      if (l.name === 'relation_kl' && l.relationHeads !== undefined && s.hiddenSize % l.relationHeads !== 0) {
        ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'losses', j, 'relationHeads'], message: `must divide student.hiddenSize (${s.hiddenSize}); ${l.relationHeads} does not` });
      }
      const relationOnly = ['relationHeads', 'relations', 'teacherLayer', 'studentLayer'] as const;
      for (const k of relationOnly) {
        if (l.name !== 'relation_kl' && l[k] !== undefined) ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'losses', j, k], message: `only relation_kl takes "${k}" (this loss is ${l.name})` });
      }
    });
    if (c.distill.selfDistillation && st.losses.some((l) => INTERMEDIATE_LOSSES.includes(l.name) || RELATION_LOSSES.includes(l.name) || POOLED_LOSSES.includes(l.name))) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'losses'], message: 'self-distillation has no teacher hidden states or attention to match' });
    }
    if (st.prune && st.prune.heads === undefined && st.prune.ffn === undefined) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'prune'], message: 'give heads and/or ffn (what to keep)' });
    }
    const firstPruned = c.distill.stages.findIndex((x) => x.prune);
    const perHead = st.losses.find((l) => l.name.startsWith('attention_') || RELATION_LOSSES.includes(l.name));
    if (firstPruned >= 0 && i >= firstPruned && perHead) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'losses'], message: `"${perHead.name}" matches attention head by head, but stage "${c.distill.stages[firstPruned].name}" prunes heads; use hidden-state and prediction losses from the pruning stage on` });
    }
    const firstQuantized = c.distill.stages.findIndex((x) => x.quantize);
    if (firstQuantized >= 0 && i > firstQuantized && !st.quantize) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'quantize'], message: `must be true: stage "${c.distill.stages[firstQuantized].name}" quantises, and a model stays quantised once trained so` });
    }
    if (st.curriculum && st.curriculum.endStep < st.curriculum.startStep) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'stages', i, 'curriculum', 'endStep'], message: `must be >= startStep (${st.curriculum.startStep})` });
    }
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

/** Why a token-level loss is refused when the student has its own tokenizer (student.tokenizer). */
export function tokenLevelRefusal(loss: string): string {
  const what = RELATION_LOSSES.includes(loss) ? "query/key/value relations between the teacher's tokens" : loss.startsWith('attention') ? "attention between the teacher's tokens" : "the teacher's hidden state token by token";
  return (
    `"${loss}" matches ${what}, but with student.tokenizer the student reads other tokens (another count, other boundaries), ` +
    'so position t of one is not position t of the other; with a student tokenizer only sequence-level losses work: kd_ce, kd_kl, kd_mse, pooled_mse (and ce / mse on the gold labels)'
  );
}

type IssueSink = Pick<z.RefinementCtx, 'addIssue'>;
type Issue = { path: PropertyKey[]; message: string };

/** Runs checkDependentFields and keeps its issues instead of raising them. */
function dependentFieldIssues(c: Config): Issue[] {
  const issues: Issue[] = [];
  const sink: IssueSink = { addIssue: (i) => void (typeof i === 'object' && issues.push({ path: [...(i.path ?? [])], message: i.message ?? '' })) };
  checkDependentFields(c as unknown as RawConfig, sink as z.RefinementCtx);
  return issues;
}

/**
 * Teacher assistants: each link of the chain is a run config (chain.ts) and gets the same checks as
 * the run's own, reported under assistants[i] when they concern the assistant; each model is at most
 * as wide and deep as the one it learns from; combinations a chain does not support are refused.
 */
function checkAssistants(c: Config, ctx: IssueSink): void {
  if (c.assistants.length === 0) return;
  const unsupported = (why: string) => ctx.addIssue({ code: 'custom', path: ['assistants'], message: `teacher assistants are not combined with ${why}` });
  if (c.augment.enabled) unsupported('augment.enabled yet (augment the data once and point data.dir at it)');
  if (c.multiTeacher.teachers.length > 0) unsupported('multiTeacher.teachers (one teacher per link of the chain)');
  if (c.distill.selfDistillation) unsupported('distill.selfDistillation (a chain learns from teachers)');
  if (c.student.tokenizer) unsupported('student.tokenizer (each link reads the teacher\'s tokens)');
  const own = new Set(dependentFieldIssues(c).map((i) => `${i.path.join('.')}|${i.message}`));
  c.assistants.forEach((a, i) => {
    if (a.distill?.selfDistillation) ctx.addIssue({ code: 'custom', path: ['assistants', i, 'distill', 'selfDistillation'], message: 'an assistant learns from its teacher; self-distillation is not allowed here' });
    const name = `assistants[${i}]`;
    for (const issue of dependentFieldIssues(assistantRunConfig(c, i))) {
      if (own.has(`${issue.path.join('.')}|${issue.message}`)) continue; // the run's own issue, already reported
      const [head, key, ...rest] = issue.path;
      const message = issue.message.replace(/\bstudent\./g, `${name}.`);
      if (head === 'student') ctx.addIssue({ code: 'custom', path: ['assistants', i, ...(key === undefined ? [] : [key]), ...rest], message });
      else if (head === 'distill' && a.distill && key !== undefined && a.distill[key as keyof typeof a.distill] !== undefined) ctx.addIssue({ code: 'custom', path: ['assistants', i, ...issue.path], message });
      else ctx.addIssue({ code: 'custom', path: issue.path, message: `${message} (in the run of ${name})` });
    }
  });
  // Each model learns from the one before it, which must be at least as wide and as deep.
  const chain = [...c.assistants, c.student];
  chain.forEach((m, i) => {
    if (i === 0) return;
    const teacher = chain[i - 1];
    const at = i < c.assistants.length ? ['assistants', i] : ['student'];
    for (const [key, what] of [['hiddenSize', 'wider'], ['numLayers', 'deeper']] as const) {
      if (m[key] > teacher[key]) {
        ctx.addIssue({ code: 'custom', path: [...at, key], message: `${m[key]} makes ${chainLinkName(c, i)} ${what} than ${chainLinkName(c, i - 1)} it learns from (${key} ${teacher[key]}); a chain goes from larger to smaller models` });
      }
    }
  });
}

/**
 * The checks of checkAgainstTeacher for every link of a chain: the first assistant against the
 * teacher (also at most as wide and deep as it), each later model against the assistant before it.
 */
export function checkChainAgainstTeacher(c: Config, t: TeacherShape): string[] {
  if (c.assistants.length === 0) return checkAgainstTeacher(c, t);
  const errs: string[] = [];
  const first = c.assistants[0];
  if (first.hiddenSize > t.hiddenSize) errs.push(`assistants[0].hiddenSize: ${first.hiddenSize} makes the first assistant wider than the teacher it learns from (hidden_size ${t.hiddenSize}); a chain goes from larger to smaller models`);
  if (first.numLayers > t.numLayers) errs.push(`assistants[0].numLayers: ${first.numLayers} makes the first assistant deeper than the teacher it learns from (${t.numLayers} layers); a chain goes from larger to smaller models`);
  const links = [...c.assistants.map((_, i) => assistantRunConfig(c, i)), { ...c, assistants: [] }];
  links.forEach((link, i) => {
    const a = c.assistants[i - 1];
    const teacher: TeacherShape = i === 0 ? t : { numLayers: a.numLayers, hiddenSize: a.hiddenSize, numHeads: a.numHeads, maxPositions: a.maxPositions };
    const name = chainLinkName(c, i);
    for (const e of checkAgainstTeacher(link, teacher)) {
      const own = i < c.assistants.length ? e.replace(/\bstudent\./g, `assistants[${i}].`) : e;
      errs.push(`${name}, learning from ${chainLinkName(c, i - 1)}: ${own}`);
    }
  });
  return errs;
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
  c.distill.stages.forEach((st, i) => st.losses.forEach((l, j) => {
    if (l.name !== 'relation_kl') return;
    const at = `distill.stages[${i}].losses[${j}]`;
    if (l.teacherLayer !== undefined && l.teacherLayer > t.numLayers) errs.push(`${at}.teacherLayer: ${l.teacherLayer} is out of range 1..${t.numLayers} (the teacher has ${t.numLayers} layers)`);
    if (l.relationHeads !== undefined && t.hiddenSize % l.relationHeads !== 0) errs.push(`${at}.relationHeads: ${l.relationHeads} must divide the teacher's hidden_size (${t.hiddenSize})`);
  }));
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
