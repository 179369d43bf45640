/**
 * Progress for long stages: a live bar with rate and ETA on a terminal (cli-progress), plain
 * periodic lines when output is not a terminal or --quiet is given (CI logs stay readable).
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** Plain lines instead of a live bar. */
  quiet?: boolean;
  /** Defaults to process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Minimum time between plain lines (ms). */
  intervalMs?: number;
  /** Clock, for tests (ms). */
  now?: () => number;
}

export type ProgressInfo = Record<string, number | string | undefined>;

export interface Progress {
  /** `done` units of `total` finished; `info` (losses, metrics) is shown beside the bar. */
  update(done: number, info?: ProgressInfo): void;
  /** Prints the last state and releases the terminal. */
  stop(): void;
}

/** "1h02m", "3m05s", "12s"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** Units per second and seconds left, from progress since `startDone` at `startMs`. */
export function rateAndEta(done: number, total: number, startDone: number, elapsedMs: number): { rate: number; eta: number } {
  const rate = elapsedMs > 0 ? ((done - startDone) * 1000) / elapsedMs : 0;
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  return { rate, eta };
}

/** Numbers shown with 4 significant digits: losses span orders of magnitude. */
export function formatInfo(info: ProgressInfo | undefined): string {
  if (!info) return '';
  return Object.entries(info)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`)
    .join(' ');
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toPrecision(4);
}

function formatRate(rate: number): string {
  return rate >= 1 ? rate.toFixed(1) : rate.toFixed(3);
}

/** One plain progress line: "[train] 120/500 24% 3.2/s ETA 1m58s loss=0.1234". */
export function plainLine(label: string, done: number, total: number, rate: number, eta: number, info?: ProgressInfo): string {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  const extra = formatInfo(info);
  return `[${label}] ${done}/${total} ${pct}% ${formatRate(rate)}/s ETA ${formatDuration(eta)}${extra ? ' ' + extra : ''}`;
}

export function createProgress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? Date.now;
  // Rate counts from the first update (a resumed run starts part-way), not from creation.
  let start = 0;
  let startDone: number | undefined;
  const begin = (done: number) => {
    if (startDone === undefined) {
      startDone = done;
      start = now();
    }
  };
  let last = { done: 0, info: undefined as ProgressInfo | undefined };

  if (!opts.quiet && stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_text} | {info}`,
        barsize: 24,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0', eta_text: '?', info: '' });
    return {
      update(done, info) {
        begin(done);
        const { rate, eta } = rateAndEta(done, total, startDone!, now() - start);
        bar.update(done, { rate: formatRate(rate), eta_text: formatDuration(eta), info: formatInfo(info) });
      },
      stop() {
        bar.stop();
      },
    };
  }

  const interval = opts.intervalMs ?? 10_000;
  let lastPrint = Number.NEGATIVE_INFINITY;
  let printedDone: number | undefined;
  const print = () => {
    const { rate, eta } = rateAndEta(last.done, total, startDone ?? 0, now() - start);
    stream.write(plainLine(label, last.done, total, rate, last.done >= total ? 0 : eta, last.info) + '\n');
    lastPrint = now();
    printedDone = last.done;
  };
  return {
    update(done, info) {
      begin(done);
      last = { done, info };
      if (now() - lastPrint >= interval || done >= total) print();
    },
    stop() {
      if (printedDone !== last.done) print();
    },
  };
}
