/**
 * Pure mapping from the validated run config onto the options each stage takes: cache builder,
 * trainer stages (loss matches over the layer mapping, schedules), EMA, student shape, output paths.
 * No I/O here, so every rule is unit-tested.
 */
import * as path from 'node:path';
import type { BuildCacheOptions } from '../cache/writer.ts';
import type { TaskSpec } from '../data/types.ts';
import type { EmaOptions } from '../train/ema.ts';
import type { Match } from '../distill/losses.ts';
import { resolveMapping, type LayerMapping, type MappingSpec } from '../distill/mapping.ts';
import type { LrSchedule, ValueSchedule } from '../train/schedules.ts';
import type { StageOptions } from '../train/train-options.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../student/config.ts';
import { UserError } from '../util/errors.ts';
import { INTERMEDIATE_LOSSES, type Config, type StageConfig } from './config-schema.ts';

/** Where a run keeps each output, all under config.out unless the config says otherwise. */
export interface RunPaths {
  out: string;
  cacheDir: string;
  checkpointDir: string;
  logFile: string;
  /** The best student (raw or EMA) as a saved student folder. */
  studentDir: string;
  exportDir: string;
  /** Teacher and student scores, sizes, latencies. */
  evalFile: string;
  reportFile: string;
  /** Scratch space (the teacher's modified graph for evaluation). */
  workDir: string;
  /** Augmented training data (when augment.enabled). */
  augmentDir: string;
}

export function runPaths(c: Config): RunPaths {
  const out = c.out;
  return {
    out,
    cacheDir: c.cache.dir ?? path.join(out, 'cache'),
    checkpointDir: path.join(out, 'checkpoints'),
    logFile: path.join(out, 'train-log.jsonl'),
    studentDir: path.join(out, 'student'),
    exportDir: c.export.dir ?? path.join(out, 'student-onnx'),
    evalFile: path.join(out, 'eval.json'),
    reportFile: path.resolve(out, c.report.file),
    workDir: path.join(out, 'work'),
    augmentDir: path.join(out, 'augmented'),
  };
}

/** Folder of the training split: the augmented copy when augmentation is on (dev always comes from data.dir). */
export function trainDataDir(c: Config): string {
  return c.augment.enabled ? runPaths(c).augmentDir : c.data.dir;
}

/** The teacher cache of the training split. */
export function cacheOptions(c: Config): Omit<BuildCacheOptions, 'onProgress' | 'notice'> {
  const layers = c.cache.layers;
  return {
    teacherDir: c.teacher.dir,
    task: c.task,
    dataDir: trainDataDir(c),
    split: c.data.trainSplit,
    outDir: runPaths(c).cacheDir,
    maxLength: c.data.maxLength,
    batchSize: c.cache.batchSize,
    dtype: c.cache.dtype,
    logitsOnly: layers === 'logits',
    layers: Array.isArray(layers) ? layers : undefined,
    attention: c.cache.attention,
    maxCacheGb: c.cache.maxCacheGb,
    provider: c.teacher.provider,
    intraOpThreads: c.teacher.threads || undefined,
  };
}

export function mappingSpec(m: Config['distill']['mapping']): MappingSpec {
  return typeof m === 'string' ? { kind: m } : { kind: 'pairs', hidden: m.hidden, attention: m.attention };
}

/** Whether any stage compares hidden states or attention (needs a layer mapping and those cached layers). */
export function usesIntermediateLosses(c: Config): boolean {
  return c.distill.stages.some((s) => s.losses.some((l) => INTERMEDIATE_LOSSES.includes(l.name)));
}

/** The layer mapping for a teacher of `teacherLayers` layers, or undefined when no stage needs one. */
export function layerMapping(c: Config, teacherLayers: number): LayerMapping | undefined {
  if (!usesIntermediateLosses(c)) return undefined;
  return resolveMapping(mappingSpec(c.distill.mapping), teacherLayers, c.student.numLayers, 'distill.mapping');
}

/** Updates in a stage: its steps, or its epochs over the training data in whole updates. */
export function stageSteps(stage: StageConfig, numTrain: number, batchSize: number, gradAccum: number): number {
  if (stage.steps !== undefined) return stage.steps;
  const perEpoch = Math.ceil(numTrain / (batchSize * gradAccum));
  return Math.max(1, Math.round((stage.epochs ?? 1) * perEpoch));
}

/** A stage's loss list as trainer matches: intermediate losses expand over the mapped layer pairs. */
export function stageMatches(stage: StageConfig, mapping: LayerMapping | undefined, where: string): Match[] {
  const out: Match[] = [];
  stage.losses.forEach((l, i) => {
    const w = l.weight;
    switch (l.name) {
      case 'hidden_mse':
        if (!mapping) throw new UserError(`${where}.losses[${i}]: "${l.name}" needs a layer mapping`);
        for (const p of mapping.hidden) out.push({ feature: 'hidden', layerS: p.s, layerT: p.t, loss: l.name, weight: w });
        break;
      case 'attention_mse':
      case 'attention_probs_mse':
      case 'attention_kl':
        if (!mapping) throw new UserError(`${where}.losses[${i}]: "${l.name}" needs a layer mapping`);
        for (const p of mapping.attention) out.push({ feature: 'attention', layerS: p.s, layerT: p.t, loss: l.name, weight: w });
        break;
      case 'kd_ce':
      case 'kd_kl':
      case 'kd_mse':
        out.push({ feature: 'logits', loss: l.name, weight: w });
        break;
      case 'ce':
      case 'mse':
        out.push({ feature: 'labels', loss: l.name, weight: w });
        break;
    }
  });
  return out.filter((m) => m.weight > 0);
}

export function lrSchedule(stage: StageConfig, steps: number): LrSchedule {
  return { kind: stage.lrSchedule, warmupSteps: Math.round(stage.warmup * steps) };
}

export function temperature(stage: StageConfig): number | ValueSchedule {
  const t = stage.temperature;
  if (t.schedule === 'constant' || t.to === undefined) return t.from;
  return { kind: t.schedule, from: t.from, to: t.to };
}

export function trainerStages(c: Config, numTrain: number, mapping: LayerMapping | undefined): StageOptions[] {
  return c.distill.stages.map((s, i) => {
    const steps = stageSteps(s, numTrain, c.distill.batchSize, c.distill.gradAccum);
    return {
      name: s.name,
      steps,
      matches: stageMatches(s, mapping, `distill.stages[${i}]`),
      lr: s.lr,
      lrSchedule: lrSchedule(s, steps),
      temperature: temperature(s),
    };
  });
}

/** Whether any stage needs the teacher cache (anything but gold-label losses). */
export function needsTeacher(c: Config): boolean {
  return c.distill.stages.some((s) => s.losses.some((l) => l.name !== 'ce' && l.name !== 'mse'));
}

export function emaOptions(c: Config): Partial<EmaOptions> | null {
  if (!c.ema.enabled) return null;
  const { enabled: _, ...rest } = c.ema;
  return rest;
}

/** The student's Hugging Face config: shape from the run config, vocabulary from the teacher, labels from the task. */
export function studentBertConfig(c: Config, task: TaskSpec, vocabSize: number): BertConfig {
  const labels = task.labels ?? ['score'];
  const s = c.student;
  return {
    ...DEFAULT_BERT_CONFIG,
    hidden_size: s.hiddenSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.numHeads,
    intermediate_size: s.intermediateSize,
    max_position_embeddings: s.maxPositions,
    hidden_dropout_prob: s.dropout,
    attention_probs_dropout_prob: s.attentionDropout,
    vocab_size: vocabSize,
    num_labels: labels.length,
    problem_type: task.labels ? 'single_label_classification' : 'regression',
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}
