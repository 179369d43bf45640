import * as tf from '@tensorflow/tfjs';
import { registerExtraKernels } from '../backend/register.ts';
import { collate, planBatches } from '../data/batching.ts';
import type { Batch } from '../data/types.ts';
import { evaluateStudent, selectionMetric } from '../eval/evaluate.ts';
import { loadStudentFolder } from '../student/folder.ts';
import { Student } from '../student/model.ts';
import { InterruptedError, UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { AdamW } from './adamw.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint, tensorsWithPrefix, type BestInfo, type CheckpointState } from './checkpoint.ts';
import { Ema } from './ema.ts';
import { clipByGlobalNorm, disposeMap, GradAccumulator } from './grads.ts';
import { TrainLog, type EvalRecord } from './log.ts';
import { projectionsForMatches, type Projections } from '../distill/projections.ts';
import { lrFactor } from './schedules.ts';
import { initialPlateauState, plateauStep, type PlateauOptions } from './plateau.ts';
import { microBatchGrads, neededTeacherFeatures, type StepContext } from './step-loss.ts';
import { TeacherSet } from '../distill/teachers.ts';
import { openCache } from '../cache/reader.ts';
import type { NamedTensor } from './tensor-file.ts';
import { checkRunKey, packTensors, restoreQuant, runKeyOf, unpackTensors, weightsOf } from './train-state.ts';
import { Quantization } from '../quant/quantization.ts';
import { validateTrainOptions, type BatchSource, type StageOptions, type TrainOptions } from './train-options.ts';
import { isPruned, layerHeadCount, layerIntermediateSize, type BertConfig } from '../student/config.ts';
import { measureImportance } from '../prune/importance.ts';
import { pruneStudent, reshapeStudent } from '../prune/prune-student.ts';
import { selectKept } from '../prune/select.ts';
import type { StudentShapeState } from './checkpoint.ts';

export type { BatchSource, TrainOptions, StageOptions } from './train-options.ts';

export interface TrainResult {
  /** The student after the last update (raw weights). */
  student: Student;
  /** The EMA student, when EMA was on. */
  emaStudent?: Student;
  /** The best evaluated model (raw or EMA) and its scores; undefined when nothing was evaluated. */
  best?: BestInfo & { student: Student };
  steps: number;
  finalLoss: number;
  evals: EvalRecord[];
  /** The update after which early stopping ended training, when it did. */
  stoppedEarlyAt?: number;
}

/**
 * TinyBERT-style task distillation (or plain hard-label training) in one flat loop: stages run one
 * after another, each update takes gradAccumulation micro-batches, clips, steps AdamW, moves the EMA,
 * logs, evaluates and checkpoints. A resumed run continues bit for bit where the checkpoint left off.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  validateTrainOptions(opts);
  registerExtraKernels(); // gradients of comparison ops (attention masking); idempotent
  const student = opts.initStudent ?? (opts.initFolder ? await loadStudentFolder(opts.initFolder) : Student.create(opts.studentConfig!, opts.seed));
  const config = student.config;
  const regression = opts.task.labels === null;
  // The teachers' caches open only when a loss reads them: a gold-label baseline may name the run's
  // teacher and train on other data (e.g. the split before augmentation) than its cache was built on.
  const needed = neededTeacherFeatures(opts.stages.flatMap((s) => s.matches));
  const readsTeacher = needed.logits || needed.hidden.length > 0 || needed.attention.length > 0 || !!needed.qkv || !!needed.pooled;
  const teachers = opts.teachers?.length && readsTeacher
    ? TeacherSet.open(opts.teachers, opts.multiTeacher?.intermediateTeacher ?? 0, {
        numExamples: opts.train?.encoded.length,
        studentVocabSize: config.vocab_size,
        numLabels: config.num_labels,
        task: opts.task.name,
        fingerprint: opts.cacheFingerprint,
        ownTokenizer: opts.ownTokenizer,
      }, needed,
      // Every shard's checksum, remembered between runs so a second open costs a few stat calls.
      (dir) => openCache(dir, { verify: 'remembered' }))
    : undefined;
  const projections = makeProjections(opts, student, teachers);
  // Quantisation-aware stages: the observers start empty (a student loaded from a quantised folder keeps its ranges).
  const quantizing = opts.stages.some((s) => s.quantize);
  if (quantizing && !student.quantization) student.attachQuantization(Quantization.forConfig(config, opts.quantization));
  const emaStudent = opts.ema != null ? Student.create(config, opts.seed) : undefined;
  if (emaStudent && student.quantization) emaStudent.attachQuantization(student.quantization, { shared: true });
  const ema = emaStudent ? new Ema(student.params, opts.ema ?? {}, emaStudent.params) : undefined;
  // Learned quantisation ranges train with the weights (their values are checkpointed as "quant.<layer>", their moments as any variable's).
  const variables = new Map<string, tf.Variable>([...student.params, ...(projections?.variables ?? []), ...(student.quantization?.trainableRanges() ?? [])]);
  const rng = new Rng((opts.seed ^ 0x7a31c) >>> 0);
  const metric = selectionMetric(opts.task);
  const runKey = runKeyOf(opts, variables, config as unknown as Record<string, unknown>);
  const gradAccumulation = opts.gradAccumulation ?? 1;
  const maxGradNorm = opts.maxGradNorm ?? 1;
  const evalEvery = opts.evalEvery ?? 0;
  const checkpointEvery = opts.checkpointEvery ?? (evalEvery || 100);
  const totalSteps = opts.stages.reduce((a, s) => a + s.steps, 0);
  const plateau: PlateauOptions = { earlyStopping: opts.earlyStopping, reduceLr: opts.reduceLrOnPlateau };
  const plateauOn = !!(plateau.earlyStopping || plateau.reduceLr);

  let state: CheckpointState = {
    version: 1, step: 0, stageIndex: 0, stageStep: 0, epoch: 0, batchCursor: 0,
    rngState: rng.state, optimizerStep: 0, runKey,
    ...(plateauOn && { plateau: initialPlateauState() }),
  };
  let resumedOptimizer: Map<string, NamedTensor> | undefined;
  const latest = opts.resume && opts.checkpointDir ? loadCheckpoint(opts.checkpointDir, 'latest') : undefined;
  let changed: string[] = [];
  if (latest) {
    changed = checkRunKey(latest.state.runKey, runKey, latest.dir, opts.allowChanged).changed;
    state = { ...latest.state, runKey };
    // A run that pruned: the tensors have the pruned shapes; rebuild them before reading the values in.
    if (state.shape) {
      const shaped = withShape(student.config, state.shape);
      reshapeStudent(student, shaped);
      if (emaStudent) reshapeStudent(emaStudent, shaped);
      for (const [k, v] of student.params) variables.set(k, v);
    }
    resumedOptimizer = unpackTensors(latest.tensors, student, projections, ema, latest.dir);
    rng.state = state.rngState;
    if (ema && state.ema) {
      ema.step = state.ema.step;
      ema.updates = state.ema.updates;
    }
  }
  let bestWeights: Map<string, NamedTensor> | undefined;
  let best: BestInfo | undefined = state.best;
  if (best && opts.checkpointDir) {
    const saved = loadCheckpoint<BestInfo>(opts.checkpointDir, 'best');
    if (saved) bestWeights = tensorsWithPrefix(saved.tensors, 'student.');
  }

  const log = new TrainLog(opts.logFile, opts.logEvery ?? 1);
  log.open(latest ? state.step : undefined);
  if (latest) {
    const stage = opts.stages[Math.min(state.stageIndex, opts.stages.length - 1)].name;
    log.write({ type: 'event', step: state.step, stage, message: `resumed from ${latest.dir}` });
    if (changed.length > 0) log.write({ type: 'event', step: state.step, stage, message: `settings changed on resume (--allow-changed): ${changed.join(', ')}` });
  }
  opts.onStart?.({ resumedFrom: latest?.dir, step: state.step, changed });
  const evals: EvalRecord[] = [];
  const lengths = opts.train?.encoded.map((e) => e.inputIds.length) ?? [];
  let plan: number[][] = [];
  let planEpoch = -1;
  const nextInMemory = (data: NonNullable<TrainOptions['train']>): Batch => {
    if (planEpoch !== state.epoch) {
      plan = planBatches(lengths, { batchSize: opts.batchSize, shuffle: true, seed: (opts.seed + state.epoch * 7919) >>> 0, bucketSize: opts.bucketSize });
      planEpoch = state.epoch;
    }
    const rows = plan[state.batchCursor];
    state.batchCursor += 1;
    if (state.batchCursor >= plan.length) {
      state.epoch += 1;
      state.batchCursor = 0;
    }
    return collate(data.encoded, rows, data.labels);
  };
  // A stream says a pass is over by returning nothing; the next pass starts at cursor 0.
  const nextStreamed = async (source: BatchSource): Promise<Batch> => {
    let batch = await source.next(state.epoch, state.batchCursor);
    if (!batch) {
      if (state.batchCursor === 0) throw new UserError('train: the batch source yielded no batches (empty corpus?)');
      state.epoch += 1;
      state.batchCursor = 0;
      batch = await source.next(state.epoch, 0);
      if (!batch) throw new UserError(`train: the batch source yielded no batches in pass ${state.epoch + 1}`);
    }
    state.batchCursor += 1;
    return batch;
  };
  const nextBatch = (): Promise<Batch> | Batch => (opts.train ? nextInMemory(opts.train) : nextStreamed(opts.batchSource!));

  let finalLoss = state.lastLoss ?? NaN;
  const saveLatest = (optimizer: AdamW) => {
    if (!opts.checkpointDir) return;
    state.rngState = rng.state;
    state.optimizerStep = optimizer.step;
    state.best = best;
    if (Number.isFinite(finalLoss)) state.lastLoss = finalLoss;
    if (ema) state.ema = { step: ema.step, updates: ema.updates };
    if (isPruned(student.config)) state.shape = shapeOf(student.config);
    saveCheckpoint(opts.checkpointDir, 'latest', state, packTensors(student, projections, optimizer, ema));
  };

  // An intermediate-only stage leaves the classifier untrained, so its evaluations are logged but do not
  // compete for "best" when a later (or earlier) stage trains the head: ties would keep an untrained head.
  const trainsHead = (stage: StageOptions) => stage.matches.some((m) => m.feature === 'logits' || m.feature === 'labels');
  const anyStageTrainsHead = opts.stages.some(trainsHead);
  // In a quantisation-aware run the model kept is a quantised one: float evaluations do not compete.
  // Likewise in a pruning run only the model after the last pruning competes (not a larger earlier one).
  const lastPruning = opts.stages.map((s) => !!s.prune).lastIndexOf(true);
  const evaluate = (stage: StageOptions) => {
    if (!opts.dev?.labels) return;
    const eligible = (!anyStageTrainsHead || trainsHead(stage)) && (!quantizing || !!stage.quantize) && state.stageIndex >= lastPruning;
    const candidates: [EvalRecord['model'], Student][] = [['raw', student]];
    if (emaStudent) candidates.push(['ema', emaStudent]);
    const scores: number[] = [];
    for (const [model, s] of candidates) {
      const r = evaluateStudent(s, opts.dev.encoded, opts.dev.labels, opts.task, opts.evalBatchSize ?? 64);
      const score = r.metrics[metric];
      scores.push(score);
      if (model === 'raw') state.lastDevScore = score;
      const improved = eligible && Number.isFinite(score) && (!best || score > best.score);
      const rec: EvalRecord = { type: 'eval', step: state.step, stage: stage.name, model, metrics: r.metrics, best: improved || undefined };
      if (improved) {
        best = { step: state.step, stage: stage.name, model, metric, score, metrics: r.metrics };
        bestWeights = weightsOf(s);
        if (opts.checkpointDir) saveCheckpoint(opts.checkpointDir, 'best', { ...best }, prefixed(bestWeights));
      }
      evals.push(rec);
      log.write(rec);
    }
    // Evaluations that do not compete for "best" (untrained head) do not count towards a plateau either.
    if (state.plateau && eligible) updatePlateau(stage, scores);
  };
  // The selection score of one evaluation is its better model's (raw or EMA), as for "best".
  const updatePlateau = (stage: StageOptions, scores: number[]) => {
    const finite = scores.filter(Number.isFinite);
    const mode = plateau.earlyStopping?.mode ?? plateau.reduceLr?.mode ?? 'max';
    const score = finite.length === 0 ? NaN : mode === 'max' ? Math.max(...finite) : Math.min(...finite);
    const { state: next, event } = plateauStep(state.plateau!, plateau, score, stage.lr);
    state.plateau = next;
    if (event.newLrScale !== undefined) {
      log.write({ type: 'event', step: state.step, stage: stage.name, message: `reduce on plateau: ${metric} has not improved for ${plateau.reduceLr!.patience} evaluations; learning rate × ${event.newLrScale}` });
    }
    if (event.stop) {
      state.stoppedEarlyAt = state.step;
      log.write({ type: 'event', step: state.step, stage: stage.name, message: `early stopping: ${metric} has not improved for ${plateau.earlyStopping!.patience} evaluations` });
    }
  };
  const stopped = () => state.stoppedEarlyAt !== undefined;

  // Structured pruning at a stage's start: importance from the stage's own loss (no dropout, float
  // forward), then the student (and its EMA) keep the chosen heads and units; the stage then recovers.
  const pruneAtStageStart = async (stage: StageOptions) => {
    const p = stage.prune!;
    const before = student.numParams();
    const q = student.quantization;
    const wasActive = q?.active ?? false;
    if (q) q.active = false;
    const importance = await measureImportance(student, p.batches, async (maskVariables) => {
      const ctx: StepContext = {
        student, emaStudent, projections, teachers, rng, variables: maskVariables, stage, regression, training: false,
        combine: opts.multiTeacher?.combine ?? 'mean',
        teacherWeights: opts.teachers?.map((t) => t.weight ?? 1),
        stageStep: 0,
        lastDevScore: state.lastDevScore,
      };
      return microBatchGrads(ctx, await nextBatch()).grads;
    }, { normalize: p.normalize });
    if (q) q.active = wasActive;
    const plan = {
      ...(p.heads !== undefined && { heads: selectKept(importance.heads, p.heads, 'heads') }),
      ...(p.ffn !== undefined && { ffn: selectKept(importance.ffn, p.ffn, 'ffn') }),
    };
    pruneStudent(student, plan);
    if (emaStudent) pruneStudent(emaStudent, plan);
    for (const [k, v] of student.params) variables.set(k, v);
    const c = student.config;
    const layers = [...Array(c.num_hidden_layers).keys()];
    log.write({
      type: 'event', step: state.step, stage: stage.name,
      message: `pruned: heads per layer [${layers.map((i) => layerHeadCount(c, i))}], feed-forward widths [${layers.map((i) => layerIntermediateSize(c, i))}]; parameters ${before} → ${student.numParams()}`,
    });
    await opts.onPruned?.(student, stage.name);
  };

  try {
    for (; state.stageIndex < opts.stages.length && !stopped(); state.stageIndex++, state.stageStep = 0) {
      const stage = opts.stages[state.stageIndex];
      if (stage.prune && state.stageStep === 0) await pruneAtStageStart(stage);
      if (student.quantization) student.quantization.active = !!stage.quantize;
      const optimizer = new AdamW(variables, opts.optimizer);
      if (resumedOptimizer) {
        optimizer.setState(optimizerStateFrom(resumedOptimizer, variables, state.optimizerStep));
        resumedOptimizer = undefined;
      }
      const acc = new GradAccumulator();
      try {
        while (state.stageStep < stage.steps && !stopped()) {
          const ctx: StepContext = {
            student, emaStudent, projections, teachers, rng, variables, stage, regression,
            combine: opts.multiTeacher?.combine ?? 'mean',
            teacherWeights: opts.teachers?.map((t) => t.weight ?? 1),
            stageStep: state.stageStep,
            lastDevScore: state.lastDevScore,
          };
          let loss = 0;
          const parts: Record<string, number> = {};
          for (let k = 0; k < gradAccumulation; k++) {
            const r = microBatchGrads(ctx, await nextBatch());
            acc.add(r.grads);
            disposeMap(r.grads);
            checkFinite(r.loss, r.parts, state.step + 1, stage.name, opts.checkpointDir, (opts.teachers ?? []).flatMap((t) => (t.cacheDir ? [t.cacheDir] : [])));
            loss += r.loss / gradAccumulation;
            for (const [name, v] of Object.entries(r.parts)) parts[name] = (parts[name] ?? 0) + v / gradAccumulation;
          }
          const mean = acc.takeMean();
          const { grads, norm } = clipByGlobalNorm(mean, maxGradNorm);
          disposeMap(mean);
          if (!Number.isFinite(norm)) {
            disposeMap(grads);
            throw new UserError(`gradient norm is ${norm} at step ${state.step + 1} (stage ${stage.name}); training stopped${lastGood(opts.checkpointDir)}`);
          }
          const lrScale = state.plateau?.reduce.lrScale ?? 1;
          const lr = stage.lr * lrScale * lrFactor(stage.lrSchedule ?? { kind: 'linear', warmupSteps: Math.round(0.1 * stage.steps) }, state.stageStep, stage.steps);
          optimizer.apply(grads, lr);
          disposeMap(grads);
          ema?.update();
          state.step += 1;
          state.stageStep += 1;
          finalLoss = loss;
          log.write({ type: 'step', stage: stage.name, step: state.step, lr, loss, parts, gradNorm: maxGradNorm > 0 ? norm : undefined });
          opts.onProgress?.(state.step, totalSteps, { stage: stage.name, stageStep: state.stageStep, stageSteps: stage.steps, loss, lr, epoch: state.epoch });
          const stageEnd = state.stageStep === stage.steps;
          if (stageEnd || (evalEvery > 0 && state.step % evalEvery === 0)) evaluate(stage);
          // A checkpoint at a stage's end resumes into the next stage (with a fresh optimizer there).
          // Signals arrive through the event loop, which a synchronous step loop never reaches: yield one turn.
          if (opts.stopRequested) await new Promise<void>((r) => setTimeout(r, 0));
          const stop = opts.stopRequested?.();
          if (stageEnd || stopped() || state.step % checkpointEvery === 0 || stop) saveLatest(optimizer);
          if (stop) {
            const where = opts.checkpointDir ? `; checkpoint at step ${state.step} saved in ${opts.checkpointDir}` : '';
            throw new InterruptedError(`interrupted by ${stop} after step ${state.step} of ${totalSteps}${where}`, stop);
          }
        }
      } finally {
        acc.dispose();
        optimizer.dispose();
      }
    }
  } catch (e) {
    const stage = opts.stages[Math.min(state.stageIndex, opts.stages.length - 1)].name;
    log.write({ type: 'event', step: state.step, stage, message: `stopped: ${(e as Error).message}` });
    emaStudent?.dispose();
    if (!opts.initStudent) student.dispose();
    throw e;
  } finally {
    log.close();
    projections?.dispose(); // training-only: checkpoints hold them, the result does not
    teachers?.close();
  }

  let bestStudent: Student | undefined;
  if (best && bestWeights) {
    bestStudent = Student.fromWeights(student.config, bestWeights, opts.seed);
    if (quantizing) {
      const q = Quantization.forConfig(student.config, student.quantization?.options ?? opts.quantization);
      bestStudent.attachQuantization(q);
      restoreQuant(q, bestWeights, opts.checkpointDir ?? 'best weights');
      q.active = true;
    }
  }
  return {
    student,
    emaStudent,
    best: best && bestStudent ? { ...best, student: bestStudent } : undefined,
    steps: state.step,
    finalLoss,
    evals,
    ...(state.stoppedEarlyAt !== undefined && { stoppedEarlyAt: state.stoppedEarlyAt }),
  };
}

function prefixed(weights: Map<string, NamedTensor>): Map<string, NamedTensor> {
  return new Map([...weights].map(([k, v]) => [`student.${k}`, v]));
}

function optimizerStateFrom(tensors: Map<string, NamedTensor>, variables: Map<string, tf.Variable>, step: number) {
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const name of variables.keys()) {
    const tm = tensors.get(`opt.m.${name}`);
    const tv = tensors.get(`opt.v.${name}`);
    // A checkpoint at a stage boundary holds no moments: the new stage starts from zeros.
    m.set(name, tm?.data ?? new Float32Array(variables.get(name)!.size));
    v.set(name, tv?.data ?? new Float32Array(variables.get(name)!.size));
  }
  return { step, m, v };
}

function lastGood(dir: string | undefined): string {
  if (!dir) return '';
  return hasCheckpoint(dir) ? `; the last good checkpoint is kept in ${dir}` : '; no checkpoint was written before it';
}

function checkFinite(loss: number, parts: Record<string, number>, step: number, stage: string, dir: string | undefined, caches: string[]): void {
  // The two usual causes: a learning rate that diverges, or non-finite values the teacher wrote into its cache.
  const causes = `; check the learning rate, and the teacher's outputs in ${caches.length ? caches.join(', ') : 'its cache'} (rebuild it with --force if they are not finite)`;
  for (const [name, v] of Object.entries(parts)) {
    if (!Number.isFinite(v)) throw new UserError(`loss term ${name} is ${v} at step ${step} (stage ${stage}); training stopped${lastGood(dir)}${causes}`);
  }
  if (!Number.isFinite(loss)) throw new UserError(`total loss is ${loss} at step ${step} (stage ${stage}); training stopped${lastGood(dir)}${causes}`);
}

function makeProjections(opts: TrainOptions, student: Student, teachers: TeacherSet | undefined): Projections | undefined {
  if (!teachers) return undefined;
  return projectionsForMatches(opts.stages.flatMap((s) => s.matches), student.config, teachers.intermediateDims, { seed: opts.seed, shared: opts.sharedProjection ?? false });
}

function shapeOf(c: BertConfig): StudentShapeState {
  return { ...(c.pruned_heads && { pruned_heads: c.pruned_heads }), ...(c.layer_intermediate_sizes && { layer_intermediate_sizes: c.layer_intermediate_sizes }) };
}

function withShape(c: BertConfig, shape: StudentShapeState): BertConfig {
  const { pruned_heads: _h, layer_intermediate_sizes: _s, ...rest } = c;
  return { ...rest, ...shape };
}
