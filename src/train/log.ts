import * as fs from 'node:fs';
import * as path from 'node:path';
import { withPath } from '../util/system-errors.ts';

/**
 * The JSONL training log: one JSON object per line. The report draws curves from it, so the record
 * shapes below are a contract: add fields, never rename them.
 */
export interface StepRecord {
  type: 'step';
  stage: string;
  /** Global optimizer update count (1-based, across stages). */
  step: number;
  lr: number;
  loss: number;
  /** Unweighted loss terms by name. */
  parts: Record<string, number>;
  /** Present when gradient clipping is on: the norm before clipping. */
  gradNorm?: number;
}

export interface EvalRecord {
  type: 'eval';
  step: number;
  stage: string;
  model: 'raw' | 'ema';
  metrics: Record<string, number>;
  /** True when this evaluation became the new best checkpoint. */
  best?: boolean;
}

export interface EventRecord {
  type: 'event';
  step: number;
  stage: string;
  message: string;
}

export type LogRecord = StepRecord | EvalRecord | EventRecord;

/**
 * Appends records to a JSONL file. On resume, lines past the checkpoint's step are dropped first
 * (they came from the run that was killed), so the log reads as one uninterrupted run.
 */
export class TrainLog {
  private fd: number | null = null;

  constructor(
    readonly file: string | undefined,
    /** Write a step record every `every` updates (eval and event records always). */
    readonly every = 1,
  ) {}

  open(resumeFromStep?: number): void {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    if (resumeFromStep === undefined) {
      fs.writeFileSync(this.file, '');
    } else if (fs.existsSync(this.file)) {
      const kept = readLog(this.file).filter((r) => r.step <= resumeFromStep);
      fs.writeFileSync(this.file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    }
    this.fd = fs.openSync(this.file, 'a');
  }

  write(record: LogRecord): void {
    if (this.fd === null) return;
    if (record.type === 'step' && this.every > 1 && record.step % this.every !== 0) return;
    try {
      fs.writeSync(this.fd, JSON.stringify(record) + '\n');
    } catch (e) {
      throw withPath(e, this.file ?? 'train log'); // a full disk names the log
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads a JSONL log; a torn last line (a kill mid-write) is skipped. */
export function readLog(file: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      // a partial line from an interrupted write
    }
  }
  return out;
}
