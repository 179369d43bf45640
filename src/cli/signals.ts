/**
 * Ctrl-C and SIGTERM for the commands that train. Installed when the command starts (before the
 * heavy modules load), so a signal at any moment is handled: while training, the first signal lets
 * the current update finish and a checkpoint be written (the trainer polls `requested`), a second
 * one stops at once; outside training the command stops at once (what it writes is resumable).
 * Either way the exit code is 128 + the signal's number.
 */
import type { Io } from './args.ts';

export interface StopSignals {
  /** The signal received while training, if any. */
  requested(): string | undefined;
  /** Whether a training loop is running (and will poll `requested`). */
  setTraining(active: boolean): void;
  dispose(): void;
}

export const signalExitCode = (sig: string): number => (sig === 'SIGTERM' ? 143 : sig === 'SIGHUP' ? 129 : 130);

export function installStopHandlers(io: Io, exit: (code: number) => void = (c) => process.exit(c)): StopSignals {
  let requested: string | undefined;
  let training = false;
  const handler = (sig: NodeJS.Signals) => {
    if (training && !requested) {
      requested = sig;
      io.err(`\n${sig}: finishing the current step and writing a checkpoint (send it again to stop at once)\n`);
      return;
    }
    io.err(`\n${sig}: stopped${training ? ' before the checkpoint was written (the previous one is kept)' : ''}\n`);
    exit(signalExitCode(sig));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, handler);
  return {
    requested: () => requested,
    setTraining: (active) => void (training = active),
    dispose: () => {
      for (const s of signals) process.off(s, handler);
    },
  };
}
