/**
 * Task lookup: a GLUE name ("sst2", "SST-2", "MNLI", ...) resolves to tasks/<name>.json in this
 * repository; anything that names a file is read as a user's own task declaration.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { parseTaskSpec } from './task-schema.ts';
import type { TaskSpec } from './types.ts';

export const GLUE_TASKS = ['cola', 'sst2', 'mrpc', 'stsb', 'qqp', 'mnli', 'qnli', 'rte', 'wnli'] as const;
export type GlueTaskName = (typeof GLUE_TASKS)[number];

/** tasks/ at the repository root (this file lives in src/data/). */
export const TASKS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tasks');

/** "SST-2", "sst_2", "Sts-B" -> "sst2", "stsb"; undefined when it is not a GLUE task. */
export function glueTaskKey(name: string): GlueTaskName | undefined {
  const key = name.toLowerCase().replace(/[-_\s]/g, '');
  return (GLUE_TASKS as readonly string[]).includes(key) ? (key as GlueTaskName) : undefined;
}

export function loadTask(nameOrJsonPath: string): TaskSpec {
  const glue = glueTaskKey(nameOrJsonPath);
  if (glue && !fs.existsSync(nameOrJsonPath)) return readTaskFile(path.join(TASKS_DIR, `${glue}.json`));
  if (fs.existsSync(nameOrJsonPath) && fs.statSync(nameOrJsonPath).isFile()) return readTaskFile(nameOrJsonPath);
  throw new UserError(
    `unknown task "${nameOrJsonPath}": expected a GLUE task (${GLUE_TASKS.join(', ')}) ` +
      `or the path to a task JSON file (no such file)`,
  );
}

function readTaskFile(file: string): TaskSpec {
  const text = readTextLimited(file, 'taskJson');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`cannot read task declaration ${file}: ${(e as Error).message}`);
  }
  return parseTaskSpec(value, file);
}
