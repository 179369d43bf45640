/**
 * Confinement of the files a model folder refers to (config.json, tokenizer files, the ONNX model and
 * its external data): after resolving `..` and symlinks (realpath) each must lie inside the folder, so a
 * downloaded folder cannot make the toolkit read — and then copy into a published student — anything
 * else on the machine (a tokenizer_config.json linked to ~/.ssh/id_rsa, an external-data location of
 * /etc/passwd).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';

/**
 * The folder references must stay inside: the folder's real path, except that a Hugging Face hub cache
 * snapshot (…/models--org--name/snapshots/<revision>, whose files are links to ../../blobs/<hash>)
 * is confined to its model's cache folder, which holds those blobs.
 */
export function confinementRoot(dir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    throw new UserError(`model folder ${dir} does not exist`);
  }
  const parts = real.split(path.sep);
  const n = parts.length;
  if (n >= 3 && parts[n - 2] === 'snapshots' && parts[n - 3].startsWith('models--')) return parts.slice(0, n - 2).join(path.sep);
  return real;
}

export function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * The real path of `relative` inside `dir`, or undefined when nothing is there. Throws `refuse(why)`
 * when it is absolute or resolves (symlinks included) outside the folder, and a UserError for a link
 * whose target is missing (it cannot be checked, and would otherwise look like an absent file).
 */
export function resolveConfined(dir: string, relative: string, refuse: (why: string) => UserError): string | undefined {
  if (path.isAbsolute(relative)) throw refuse('is an absolute path');
  const root = confinementRoot(dir);
  const joined = path.resolve(dir, relative);
  try {
    fs.lstatSync(joined);
  } catch {
    // Nothing at the lexical path; a `..` escape is refused even so (it names a place outside).
    if (!isInside(root, path.resolve(fs.realpathSync(dir), relative))) throw refuse('resolves outside the model folder');
    return undefined;
  }
  let real: string;
  try {
    real = fs.realpathSync(joined);
  } catch {
    throw refuse(`is a link whose target does not exist (${safeReadlink(joined)})`);
  }
  if (!isInside(root, real) || real === root) throw refuse(`resolves outside the model folder (to ${real})`);
  return real;
}

function safeReadlink(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '?';
  }
}

/**
 * A file of a model folder (name relative to it, e.g. "tokenizer.json" or "onnx/model.onnx"), checked:
 * undefined when absent; its path (as given, for messages) when it is a regular file inside the folder.
 * Anything else — outside the folder after realpath, a folder, a FIFO or device — is a UserError naming it.
 */
export function modelFolderFile(dir: string, name: string, what = name): string | undefined {
  const shown = path.join(dir, name);
  const refuse = (why: string) =>
    new UserError(`${what} ${shown} ${why}; a model folder may only refer to files inside itself (${dir}), symlinks included`);
  const real = resolveConfined(dir, name, refuse);
  if (real === undefined) return undefined;
  if (!fs.statSync(real).isFile()) throw new UserError(`${what} ${shown} is not a regular file`);
  return shown;
}

/** modelFolderFile that must exist: `missing` is the message when it does not. */
export function requireModelFolderFile(dir: string, name: string, missing: string, what = name): string {
  const file = modelFolderFile(dir, name, what);
  if (file === undefined) throw new UserError(missing);
  return file;
}
