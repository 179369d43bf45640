/**
 * File-system failures the user can fix (full disk, permissions, a file where a folder should be)
 * turned into one line naming the path and the cause, instead of an "internal error" stack.
 */

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device (free some space or choose another folder)',
  EDQUOT: 'disk quota exceeded (free some space or choose another folder)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EEXIST: 'something already exists there (expected a folder, or a free name)',
  EISDIR: 'it is a folder, a file was expected',
  ENOTDIR: 'a part of the path is a file, a folder was expected',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files (raise the limit: ulimit -n)',
};

interface SystemError {
  code?: unknown;
  path?: unknown;
  dest?: unknown;
  syscall?: unknown;
}

/** The one-line message for a file-system error with a known cause, else undefined (a real bug). */
export function systemErrorMessage(e: unknown): string | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const err = e as SystemError;
  // Recursive mkdir reports ENOENT when a parent cannot be made (read-only or vanished parent).
  const mkdirFailed = err.code === 'ENOENT' && err.syscall === 'mkdir' ? 'the folder cannot be created (a parent is missing, read-only or not a folder)' : undefined;
  const cause = mkdirFailed ?? (typeof err.code === 'string' ? CAUSES[err.code] : undefined);
  if (!cause) return undefined;
  const where = typeof err.path === 'string' ? err.path : undefined;
  const dest = typeof err.dest === 'string' ? ` → ${err.dest}` : '';
  const op = typeof err.syscall === 'string' ? ` (${err.syscall}, ${err.code})` : ` (${err.code})`;
  return where ? `cannot use ${where}${dest}: ${cause}${op}` : `${cause}${op}`;
}

/** Writes through a file descriptor fail without a path: attach the file so the message can name it. */
export function withPath<E>(e: E, file: string): E {
  if (e !== null && typeof e === 'object' && 'code' in e && !('path' in e)) Object.assign(e, { path: file });
  return e;
}
