/**
 * A model folder the user picked (a folder input, a drop, or single files): its files by path relative to
 * the folder, e.g. "config.json", "onnx/model.onnx". The page reads models through this, never a path.
 */
import { UserError } from '../../src/util/errors.ts';

export interface PickedFolder {
  /** The folder's name (or "files" when single files were picked). */
  name: string;
  files: Map<string, File>;
}

/** Relative path inside the picked folder: the folder input gives "student-onnx/onnx/model.onnx". */
function relativePath(file: File): string {
  const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
  const parts = rel.split('/').filter(Boolean);
  return parts.length > 1 ? parts.slice(1).join('/') : parts[0];
}

export function pickedFolder(list: ArrayLike<File>): PickedFolder {
  const files = new Map<string, File>();
  let name = 'files';
  for (const file of Array.from(list)) {
    const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath;
    if (rel && rel.includes('/')) name = rel.split('/')[0];
    files.set(relativePath(file), file);
  }
  return { name, files };
}

export function has(folder: PickedFolder, name: string): boolean {
  return folder.files.has(name);
}

export async function readText(folder: PickedFolder, name: string): Promise<string> {
  const file = folder.files.get(name);
  if (!file) throw new UserError(`${folder.name}/${name} not found (the folder has: ${[...folder.files.keys()].sort().join(', ')})`);
  return file.text();
}

export async function readBytes(folder: PickedFolder, name: string): Promise<Uint8Array> {
  const file = folder.files.get(name);
  if (!file) throw new UserError(`${folder.name}/${name} not found (the folder has: ${[...folder.files.keys()].sort().join(', ')})`);
  return new Uint8Array(await file.arrayBuffer());
}
