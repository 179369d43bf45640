/**
 * A mistake the user can fix (bad file, bad config, mismatched model). The CLI prints the message
 * without a stack trace and exits with code 1; anything else is an internal error (exit code 2).
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/**
 * Training stopped on a signal after saving a checkpoint: the CLI prints the message (which says how
 * to resume) and exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
 */
export class InterruptedError extends Error {
  constructor(
    message: string,
    readonly signal: string,
  ) {
    super(message);
    this.name = 'InterruptedError';
  }

  get exitCode(): number {
    return this.signal === 'SIGTERM' ? 143 : this.signal === 'SIGHUP' ? 129 : 130;
  }
}
