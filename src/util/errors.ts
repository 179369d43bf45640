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
