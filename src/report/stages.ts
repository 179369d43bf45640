/** stages.json of a run: what ran each stage (backend or provider, threads) and how long it took, for the report. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import type { StageRecord } from './html.ts';

export function readStages(file: string): StageRecord[] {
  try {
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as StageRecord[]) : [];
  } catch {
    return []; // timings are informative only: a torn file must not stop a run
  }
}

/** Adds or replaces the record of one stage, keeping the order stages first ran in. */
export function recordStage(file: string, record: StageRecord): void {
  const stages = readStages(file).filter((s) => s.stage !== record.stage);
  const at = readStages(file).findIndex((s) => s.stage === record.stage);
  stages.splice(at < 0 ? stages.length : at, 0, record);
  // The run folder may not exist yet: `cache` with cache.dir elsewhere is a run's first command.
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonAtomic(file, stages);
}
