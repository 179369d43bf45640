/**
 * The assistant links of a teacher-assistant chain inside `distill run`: each assistant is cached,
 * trained and exported (with hidden states and attention) in <out>/assistant-<i>, then is the next
 * link's teacher. A finished assistant leaves assistant.json and is skipped when the run comes again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import { assistantDir, assistantExportDir, assistantRunConfig } from './chain.ts';
import { checkChainAgainstTeacher, type Config } from './config-schema.ts';
import { cacheStep, exportStep, runExportOptions, trainStep, type RunEnv, type TrainSummary } from './pipeline.ts';
import { needsTeacher } from './stage-options.ts';

export interface AssistantResult {
  /** 1-based, as in the folder name. */
  number: number;
  /** The assistant's run folder. */
  out: string;
  /** Its ONNX export with intermediate outputs: the next link's teacher. */
  exported: string;
  /** The training summary (also in <out>/assistant-<i>/train-summary.json). */
  train?: TrainSummary;
  /** Finished by an earlier run and reused. */
  skipped: boolean;
}

/** Marks a finished assistant: what it was made from, so a rerun can tell whether it still fits. */
const MARKER = 'assistant.json';

interface Marker {
  settings: Record<string, unknown>;
  teacherSha256: string;
}

/** The settings that decide what assistant `i` becomes (not eval, report or thread counts), keyed like the config. */
function assistantSettings(link: Config, i: number): Record<string, unknown> {
  return {
    task: link.task,
    teacher: { dir: link.teacher.dir, labelMap: link.teacher.labelMap },
    data: link.data,
    seed: link.seed,
    cache: { dir: link.cache.dir, dtype: link.cache.dtype, layers: link.cache.layers, attention: link.cache.attention },
    [`assistants[${i}]`]: link.student,
    distill: link.distill,
    ema: link.ema,
  };
}

/** Dotted keys whose values differ between two plain-data objects ("distill.stages.0.steps: 2 → 3"). */
export function changedSettings(saved: unknown, now: unknown, at = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (isObj(saved) && isObj(now)) {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])];
    return keys.flatMap((k) => changedSettings(saved[k], now[k], at ? `${at}.${k}` : k));
  }
  return JSON.stringify(saved) === JSON.stringify(now) ? [] : [`${at}: ${JSON.stringify(saved) ?? 'unset'} → ${JSON.stringify(now) ?? 'unset'}`];
}

function teacherSha256(link: Config): Promise<string> {
  return import('../teacher/folder.ts').then(({ findOnnxFile }) => sha256File(findOnnxFile(link.teacher.dir)));
}

/**
 * Whether assistant `i` finished in an earlier run with the same settings and teacher. A finished one
 * made otherwise is an error (its successors learnt from it): --force redoes the chain.
 */
async function finishedEarlier(c: Config, i: number, link: Config): Promise<boolean> {
  const file = path.join(assistantDir(c, i), MARKER);
  if (!fs.existsSync(file) || !fs.existsSync(path.join(assistantExportDir(c, i), 'onnx', 'model.onnx'))) return false;
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Marker;
  const changed = changedSettings(saved.settings, assistantSettings(link, i));
  if (changed.length === 0 && saved.teacherSha256 !== (await teacherSha256(link))) changed.push(`its teacher's model file (${link.teacher.dir}) changed`);
  if (changed.length > 0) {
    throw new UserError(
      `assistants[${i}] in ${assistantDir(c, i)} was distilled with other settings than this config's:\n  ${changed.slice(0, 8).join('\n  ')}` +
        `${changed.length > 8 ? `\n  (${changed.length - 8} more)` : ''}\n--force redoes the chain (or restore those settings to reuse it)`,
    );
  }
  return true;
}

/** Reads the teacher's config.json and checks every link of the chain against it before any work starts. */
export async function checkChain(c: Config): Promise<void> {
  const { readTeacherConfig } = await import('../teacher/folder.ts');
  const t = readTeacherConfig(path.join(c.teacher.dir, 'config.json'));
  const errs = checkChainAgainstTeacher(c, {
    numLayers: t.num_hidden_layers,
    hiddenSize: t.hidden_size,
    numHeads: t.num_attention_heads,
    maxPositions: t.max_position_embeddings,
  });
  if (errs.length) throw new UserError(`the teacher-assistant chain does not fit the teacher in ${c.teacher.dir}:\n  ${errs.join('\n  ')}`);
}

/** Caches assistant `i`'s teacher, trains the assistant and exports it with intermediates; skips it when finished earlier. */
export async function assistantStep(c: Config, i: number, env: RunEnv): Promise<AssistantResult> {
  const link = assistantRunConfig(c, i);
  const out = assistantDir(c, i);
  const exported = assistantExportDir(c, i);
  const label = `assistants[${i}] (${link.student.numLayers} layers, hidden ${link.student.hiddenSize})`;
  if (!env.force && (await finishedEarlier(c, i, link))) {
    const summaryFile = path.join(out, 'train-summary.json');
    const train = fs.existsSync(summaryFile) ? (JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as TrainSummary) : undefined;
    const best = train?.best ? `; best dev ${train.best.metric} ${train.best.score.toFixed(4)}` : '';
    env.io.err(`${label}: finished earlier in ${out}${best}; reused (--force redoes it)\n`);
    return { number: i + 1, out, exported, train, skipped: true };
  }
  env.io.err(`${label}: distilling from ${i === 0 ? 'the teacher' : `assistants[${i - 1}]`} into ${out}\n`);
  const started = Date.now();
  if (needsTeacher(link)) await cacheStep(link, env);
  const train = await trainStep(link, env);
  await exportStep(runExportOptions(link), env);
  const marker: Marker = { settings: assistantSettings(link, i), teacherSha256: await teacherSha256(link) };
  writeJsonAtomic(path.join(out, MARKER), marker);
  const { recordStage } = await import('../report/stages.ts');
  recordStage(path.join(c.out, 'stages.json'), { stage: `assistant ${i + 1} (cache, train, export)`, seconds: (Date.now() - started) / 1000 });
  const best = train.best ? `best dev ${train.best.metric} ${train.best.score.toFixed(4)}; ` : '';
  env.io.err(`${label}: ${best}exported with hidden states and attention to ${exported}\n`);
  return { number: i + 1, out, exported, train, skipped: false };
}
