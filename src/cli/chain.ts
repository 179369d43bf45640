/**
 * Teacher assistants (progressive distillation): the run's config split into one config per link of
 * the chain teacher → assistants[0] → … → student. Each link is an ordinary run config, so the cache,
 * training and export stages need not know about chains. Pure: paths are derived, nothing is read.
 */
import * as path from 'node:path';
import type { Config, StudentShape } from './config-schema.ts';

/** Run folder of assistant `i` (0-based index; the folder counts from 1): <out>/assistant-<i+1>. */
export function assistantDir(c: Config, i: number): string {
  return path.join(c.out, `assistant-${i + 1}`);
}

/** The assistant's ONNX export (with hidden states and attention): the next link's teacher folder. */
export function assistantExportDir(c: Config, i: number): string {
  return path.join(assistantDir(c, i), 'student-onnx');
}

/** The assistant's shape without its distill overrides. */
export function assistantShape(c: Config, i: number): StudentShape {
  const { distill: _overrides, ...shape } = c.assistants[i];
  return shape;
}

/** The run's `distill` with an assistant's overrides: each key given replaces the run's whole. */
export function mergeDistill(base: Config['distill'], overrides: Partial<Config['distill']> | undefined): Config['distill'] {
  const given = Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined);
  return { ...base, ...Object.fromEntries(given) };
}

/** Assistant `i`'s export as a teacher: same onnxruntime settings; its labels are already the task's. */
function assistantAsTeacher(c: Config, i: number): Config['teacher'] {
  return { dir: assistantExportDir(c, i), provider: c.teacher.provider, threads: c.teacher.threads };
}

/**
 * The config that distils assistant `i` from its teacher (the run's teacher for the first, else the
 * assistant before it), in its own run folder. `cache.dir`, when given, is the run's teacher's cache,
 * so only the first assistant reads it; the others cache their teacher in their own folder. The
 * export carries the intermediate outputs, so it can be the next link's teacher.
 */
export function assistantRunConfig(c: Config, i: number): Config {
  if (i < 0 || i >= c.assistants.length) throw new RangeError(`no assistant ${i} (the config has ${c.assistants.length})`);
  return {
    ...c,
    teacher: i === 0 ? c.teacher : assistantAsTeacher(c, i - 1),
    out: assistantDir(c, i),
    cache: i === 0 ? c.cache : { ...c.cache, dir: undefined },
    student: assistantShape(c, i),
    distill: mergeDistill(c.distill, c.assistants[i].distill),
    assistants: [],
    export: { ...c.export, enabled: true, dir: undefined, quantize: false, withIntermediates: true },
    report: { ...c.report, enabled: false },
  };
}

/**
 * The config that distils the student: from the last assistant's export when there are assistants
 * (its cache in <out>/cache), else the run's config itself.
 */
export function studentRunConfig(c: Config): Config {
  const n = c.assistants.length;
  if (n === 0) return c;
  return { ...c, teacher: assistantAsTeacher(c, n - 1), cache: { ...c.cache, dir: undefined }, assistants: [] };
}

/** Name of model `i` of the chain in messages: "the teacher", "assistants[0]", …, "the student". */
export function chainLinkName(c: Config, i: number): string {
  return i < 0 ? 'the teacher' : i < c.assistants.length ? `assistants[${i}]` : 'the student';
}
