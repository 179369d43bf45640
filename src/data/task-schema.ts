/**
 * The zod schema a task declaration (tasks/*.json or a user's own JSON) must satisfy. Errors name
 * the key path and the allowed values, so a typo in a user's task file is easy to find.
 */
import { z } from 'zod';
import { UserError } from '../util/errors.ts';
import type { MetricName, TaskSpec } from './types.ts';

export const METRIC_NAMES = ['accuracy', 'f1', 'mcc', 'pearson', 'spearman'] as const satisfies readonly MetricName[];
const CLASSIFICATION_METRICS: readonly MetricName[] = ['accuracy', 'f1', 'mcc'];
const REGRESSION_METRICS: readonly MetricName[] = ['pearson', 'spearman'];

const columnRef = z.union([z.string().min(1), z.number().int().nonnegative()], {
  error: 'expected a column name (string) or a 0-based column index (integer >= 0)',
});

const splitSchema = z.strictObject({
  file: z.string().min(1),
  header: z.boolean(),
  textA: columnRef,
  textB: columnRef.optional(),
  label: columnRef.optional(),
  id: columnRef.optional(),
  minColumns: z.number().int().positive().optional(),
});

export const taskSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lower-case name: letters, digits, "_" or "-"'),
    displayName: z.string().min(1).optional(),
    format: z.enum(['tsv', 'csv', 'jsonl']),
    labels: z.array(z.string()).min(2).nullable(),
    labelNames: z.array(z.string().min(1)).optional(),
    metrics: z.array(z.enum(METRIC_NAMES)).min(1),
    devSplit: z.string().min(1).default('dev'),
    splits: z.record(z.string().min(1), splitSchema),
  })
  .superRefine((t, ctx) => {
    if (t.labels && new Set(t.labels).size !== t.labels.length) {
      ctx.addIssue({ code: 'custom', path: ['labels'], message: 'labels must be distinct' });
    }
    if (t.labelNames && (!t.labels || t.labelNames.length !== t.labels.length || new Set(t.labelNames).size !== t.labelNames.length)) {
      ctx.addIssue({ code: 'custom', path: ['labelNames'], message: 'expected one distinct name per label (classification tasks only)' });
    }
    const allowed = t.labels === null ? REGRESSION_METRICS : CLASSIFICATION_METRICS;
    t.metrics.forEach((m, i) => {
      if (!allowed.includes(m)) {
        const kind = t.labels === null ? 'a regression task (labels: null)' : 'a classification task';
        ctx.addIssue({ code: 'custom', path: ['metrics', i], message: `"${m}" does not fit ${kind}; allowed: ${allowed.join(', ')}` });
      }
    });
    if (t.metrics.includes('f1') && t.labels && t.labels.length !== 2) {
      ctx.addIssue({ code: 'custom', path: ['metrics'], message: 'f1 (binary, positive class = label 1) needs exactly 2 labels' });
    }
    if (!(t.devSplit in t.splits)) {
      ctx.addIssue({
        code: 'custom',
        path: ['devSplit'],
        message: `"${t.devSplit}" is not one of the splits (${Object.keys(t.splits).join(', ') || 'none declared'})`,
      });
    }
    for (const [name, s] of Object.entries(t.splits)) {
      for (const key of ['textA', 'textB', 'label', 'id'] as const) {
        const ref = s[key];
        if (ref === undefined) continue;
        if (t.format === 'jsonl' && typeof ref !== 'string') {
          ctx.addIssue({ code: 'custom', path: ['splits', name, key], message: 'JSONL rows are objects: name the key as a string' });
        }
        if (t.format !== 'jsonl' && typeof ref === 'string' && !s.header) {
          ctx.addIssue({
            code: 'custom',
            path: ['splits', name, key],
            message: `column "${ref}" is named but the file has no header (header: false); use a 0-based index`,
          });
        }
      }
    }
  });

export type TaskInput = z.input<typeof taskSchema>;

/** Validates a parsed task declaration; errors name `where` (the file) and each bad key path. */
export function parseTaskSpec(value: unknown, where: string): TaskSpec {
  const result = taskSchema.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
      return `  ${path}: ${issue.message}`;
    });
    throw new UserError(`invalid task declaration ${where}:\n${lines.join('\n')}`);
  }
  const t = result.data;
  return { ...t, displayName: t.displayName ?? t.name };
}
