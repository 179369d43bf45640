/**
 * The results table of scripts/real-glue.ts, shaped like TinyBERT's: per task, teacher, distilled
 * student and hard-label student with parameters, ONNX size, latency at batch 1 and 32, speed-up
 * over the teacher and the official dev metrics (with % of the teacher for the students).
 */
import type { ModelRow } from '../../src/report/html.ts';

export interface TrainSummaryLike {
  steps: number;
  seconds: number;
  best?: { metric: string; score: number; step: number; metrics: Record<string, number> };
}

export interface TaskResult {
  task: string;
  teacherTrain: TrainSummaryLike;
  distilledTrain: TrainSummaryLike;
  hardTrain: TrainSummaryLike;
  /** Rows of `distill eval --json` for 'teacher', 'distilled', 'hard-labels'. */
  eval: Record<'teacher' | 'distilled' | 'hard-labels', ModelRow>;
}

/** Official GLUE metrics per task, in the order the table shows them. */
export const OFFICIAL_METRICS: Record<string, string[]> = { sst2: ['accuracy'], cola: ['mcc'], mrpc: ['f1', 'accuracy'] };
const TASK_NAMES: Record<string, string> = { sst2: 'SST-2', cola: 'CoLA', mrpc: 'MRPC' };

/** Percentage of the teacher's score; undefined when the teacher's score is not positive (e.g. MCC ≤ 0). */
export function percentOfTeacher(student: number, teacher: number): number | undefined {
  return teacher > 0 ? (100 * student) / teacher : undefined;
}

/** `a / b` as "N.Nx", or "–" when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(1)}x` : '–';
}

const fmtMetric = (m: string, v: number | undefined) => (v === undefined ? '–' : m === 'mcc' ? v.toFixed(3) : (100 * v).toFixed(1));
const fmtMs = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(2));
const fmtParams = (n: number | undefined) => (n === undefined ? '–' : `${(n / 1e6).toFixed(2)}M`);
const fmtMb = (b: number | undefined) => (b === undefined ? '–' : (b / 1e6).toFixed(1));

export function resultsTable(results: TaskResult[]): string {
  const lines = [
    '| task | model | params | ONNX MB | latency b=1 (ms) | latency b=32 (ms) | speed-up b=1 / b=32 | dev metric | % of teacher |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const metrics = OFFICIAL_METRICS[r.task] ?? Object.keys(r.eval.teacher.metrics ?? {});
    const t = r.eval.teacher;
    for (const name of ['teacher', 'distilled', 'hard-labels'] as const) {
      const m = r.eval[name];
      const isTeacher = name === 'teacher';
      const score = metrics.map((k) => `${k} ${fmtMetric(k, m.metrics?.[k])}`).join(', ');
      const pct = isTeacher
        ? '100'
        : metrics
            .map((k) => {
              const p = percentOfTeacher(m.metrics?.[k] ?? NaN, t.metrics?.[k] ?? NaN);
              return p === undefined || Number.isNaN(p) ? '–' : p.toFixed(1);
            })
            .join(' / ');
      const speed = isTeacher ? '1.0x / 1.0x' : `${ratio(t.latencyMs?.[1], m.latencyMs?.[1])} / ${ratio(t.latencyMs?.[32], m.latencyMs?.[32])}`;
      lines.push(
        `| ${TASK_NAMES[r.task] ?? r.task} | ${name} | ${fmtParams(m.params)} | ${fmtMb(m.sizeBytes)} | ${fmtMs(m.latencyMs?.[1])} | ` +
          `${fmtMs(m.latencyMs?.[32])} | ${speed} | ${score} | ${pct} |`,
      );
    }
  }
  const train = results.map(
    (r) =>
      `- ${TASK_NAMES[r.task] ?? r.task}: teacher ${r.teacherTrain.steps} updates in ${r.teacherTrain.seconds.toFixed(0)} s; ` +
      `distilled student ${r.distilledTrain.steps} updates in ${r.distilledTrain.seconds.toFixed(0)} s; ` +
      `hard-label student ${r.hardTrain.steps} updates in ${r.hardTrain.seconds.toFixed(0)} s.`,
  );
  return [...lines, '', 'Training time (wall clock, tasks run concurrently on 2 shared cores):', '', ...train, ''].join('\n');
}
