/**
 * Reads one split of a task into Examples, from disk (rows.ts turns lines into Examples).
 */
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { readLines, requireFile } from './lines.ts';
import { examplesFromLines } from './rows.ts';
import type { Example, SplitSpec, TaskSpec } from './types.ts';

export function readSplit(task: TaskSpec, dataDir: string, split: string): Example[] {
  const spec = task.splits[split];
  if (!spec) {
    throw new UserError(`task ${task.name} has no split "${split}"; expected one of: ${Object.keys(task.splits).join(', ')}`);
  }
  const file = path.join(dataDir, spec.file);
  requireFile(file, `${task.displayName} ${split} file`);
  const examples: Example[] = [];
  for (const ex of iterateExamples(task, spec, file)) examples.push(ex);
  return examples;
}

/** Streams the Examples of one file (for files too big to hold as an array). */
export function* iterateExamples(task: TaskSpec, spec: SplitSpec, file: string): Generator<Example> {
  yield* examplesFromLines(task, spec, readLines(file), file);
}
