/**
 * Labels by name: the teacher's class i is not assumed to be the task's label i. Its config.json
 * id2label is matched to the task's label names (optionally through a user's map), and the result
 * is the teacher column for each task label, so logits can be put in the task's order.
 */
import { UserError } from '../util/errors.ts';

export interface LabelOrder {
  /** order[i] = the teacher's logit column for the task's label i. */
  order: number[];
  /** True when order is 0, 1, 2, … (nothing to permute). */
  identity: boolean;
  /** How the order was decided, for one log line. */
  how: string;
}

const GENERIC = /^LABEL_(\d+)$/;
const norm = (s: string) => s.trim().toLowerCase();

/** "negative=0,positive=1" → { negative: "0", positive: "1" } (teacher name = task name). */
export function parseLabelMap(text: string, where = '--label-map'): Record<string, string> {
  const map: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new UserError(`${where}: expected teacherLabel=taskLabel pairs separated by commas, got ${JSON.stringify(part)}`);
    map[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return map;
}

/**
 * The teacher column of each task label. Position is used when the names say nothing (the
 * teacher's absent, LABEL_i or the ids themselves; or the task's labels are the ids 0..n-1 and its
 * readable `taskLabelNames`, when it has them, are not the teacher's); otherwise names must match the
 * task's labels or its `taskLabelNames` (case-insensitive), after `labelMap` (teacher name → task name);
 * anything else is refused with both lists.
 */
export function teacherLabelOrder(
  taskLabels: readonly string[] | null,
  id2label: Record<string, string> | undefined,
  numTeacherLabels: number,
  labelMap?: Record<string, string>,
  what = 'the teacher',
  taskLabelNames?: readonly string[],
): LabelOrder {
  const n = numTeacherLabels;
  const positional = (how: string): LabelOrder => ({ order: Array.from({ length: n }, (_, i) => i), identity: true, how });
  if (taskLabels === null) return positional('regression: one output');
  if (taskLabels.length !== n) {
    throw new UserError(`${what} has ${n} output classes but the task has ${taskLabels.length} labels [${taskLabels.join(', ')}]`);
  }
  const names = Array.from({ length: n }, (_, i) => id2label?.[String(i)]);
  const mapped = names.map((name) => (name !== undefined && labelMap ? (labelMap[name] ?? name) : name));
  if (!labelMap && (names.some((x) => x === undefined) || names.every((x, i) => GENERIC.exec(x!)?.[1] === String(i) || x === String(i)))) {
    return positional('by position (the teacher names its classes only by number)');
  }
  if (labelMap) {
    const unknown = Object.keys(labelMap).filter((k) => !names.includes(k));
    if (unknown.length) throw new UserError(`label map names teacher label(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')} that ${what} does not have; its labels are [${names.join(', ')}]`);
  }
  const order = orderByName(taskLabels, mapped);
  if (order) return described(order, 'by name');
  // SST-2's 0 / 1 are called negative / positive in the task file: a teacher using those names is matched by them.
  const byReadableName = !labelMap && taskLabelNames?.length === n ? orderByName(taskLabelNames, mapped) : undefined;
  if (byReadableName) return described(byReadableName, `by name (${taskLabelNames!.join(', ')})`);
  // GLUE's 0 / 1 labels (CoLA, MRPC, QQP) carry no names to compare: the ids are the meaning.
  if (!labelMap && taskLabels.every((t, i) => t === String(i))) return positional('by position (the task labels are the numbers 0..n-1)');
  throw new UserError(
    `${what}'s labels [${names.join(', ')}] (config.json id2label) do not match the task's labels [${taskLabels.join(', ')}]` +
      `${labelMap ? ' after the label map' : ''}: give the correspondence as --label-map ${names.map((x, i) => `${x}=${taskLabels[i]}`).join(',')} (teacher=task; check it)`,
  );
}

/** The teacher column of each task label when every name is found once; undefined otherwise. */
function orderByName(taskNames: readonly string[], teacherNames: readonly (string | undefined)[]): number[] | undefined {
  const order = taskNames.map((t) => teacherNames.findIndex((m) => m !== undefined && norm(m) === norm(t)));
  return order.some((i) => i < 0) || new Set(order).size !== taskNames.length ? undefined : order;
}

function described(order: number[], how: string): LabelOrder {
  const identity = order.every((c, i) => c === i);
  return { order, identity, how: identity ? `${how} (same order)` : `${how}: task label i is teacher class [${order.join(', ')}][i]` };
}

/** Logits [B, n] with columns put in the task's label order. */
export function reorderLogits(data: Float32Array, order: readonly number[]): Float32Array {
  const n = order.length;
  const out = new Float32Array(data.length);
  for (let b = 0; b < data.length / n; b++) for (let i = 0; i < n; i++) out[b * n + i] = data[b * n + order[i]];
  return out;
}
