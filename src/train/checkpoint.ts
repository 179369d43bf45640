import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { sha256File } from '../util/hash.ts';
import type { PlateauState } from './plateau.ts';
import { readTensorFile, writeTensorFile, type NamedTensor } from './tensor-file.ts';

/**
 * Checkpoints that survive kill -9 at any moment. Each one is a folder `<slot>-<step>/` holding
 * state.json and tensors.safetensors, written under a temporary name and renamed when complete.
 * A pointer file `<slot>.json` (replaced atomically) names the current folder; older folders of
 * the slot are deleted only after the pointer has moved. So at every instant the pointer names a
 * complete folder. Slots: "latest" (resume) and "best" (model selection).
 */

/** Everything besides tensors that a resumed run needs to continue exactly. */
export interface CheckpointState {
  version: 1;
  /** Global optimizer updates done. */
  step: number;
  stageIndex: number;
  /** Updates done inside the current stage. */
  stageStep: number;
  /** Data order: epoch number and the next micro-batch inside that epoch's plan. */
  epoch: number;
  batchCursor: number;
  /** Dropout RNG state. */
  rngState: number;
  optimizerStep: number;
  ema?: { step: number; updates: number };
  /** Loss of the last update (a resumed run with no steps left reports it). */
  lastLoss?: number;
  /** Latest dev score (the adaptive loss weight reads it). */
  lastDevScore?: number;
  best?: BestInfo;
  /** Early-stopping / reduce-on-plateau counters, when either is on. */
  plateau?: PlateauState;
  /** Set when early stopping ended the run at this update: a resumed run does not train further. */
  stoppedEarlyAt?: number;
  /** The student's per-layer shape once a stage pruned it (a resumed run rebuilds it before loading the tensors). */
  shape?: StudentShapeState;
  /** Hash of the options a resumed run must share with the run that wrote the checkpoint. */
  runKey: string;
}

export interface StudentShapeState {
  pruned_heads?: Record<string, number[]>;
  layer_intermediate_sizes?: number[];
}

export interface BestInfo {
  step: number;
  stage: string;
  model: 'raw' | 'ema';
  metric: string;
  score: number;
  metrics: Record<string, number>;
}

export interface Checkpoint<S = CheckpointState> {
  dir: string;
  state: S;
  tensors: Map<string, NamedTensor>;
}

const STATE_FILE = 'state.json';
/** Field of state.json holding the sha256 of tensors.safetensors. */
export const CHECKSUM_KEY = 'tensorsSha256';
const TENSOR_FILE = 'tensors.safetensors';

function pointerFile(root: string, slot: string): string {
  return path.join(root, `${slot}.json`);
}

/** Writes a checkpoint folder for `slot` and moves the slot's pointer to it. */
export function saveCheckpoint<S extends { step: number }>(root: string, slot: string, state: S, tensors: Map<string, NamedTensor>): string {
  fs.mkdirSync(root, { recursive: true });
  const name = `${slot}-${String(state.step).padStart(8, '0')}`;
  const final = path.join(root, name);
  const tmp = path.join(root, `.${name}.${process.pid}.tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    // The tensors' checksum goes into state.json, so a flipped bit is caught on resume.
    const sha = writeTensorFile(path.join(tmp, TENSOR_FILE), tensors);
    writeJsonAtomic(path.join(tmp, STATE_FILE), { ...state, [CHECKSUM_KEY]: sha });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true }); // a full disk leaves no half-written folder
    throw e;
  }
  // A folder of the same name can exist when a resumed run re-reaches a step it had saved.
  const current = readPointer(root, slot);
  if (fs.existsSync(final)) {
    if (current === name) {
      // Never delete the folder the pointer names: point at the new copy first.
      const alt = `${name}-b`;
      fs.rmSync(path.join(root, alt), { recursive: true, force: true });
      fs.renameSync(tmp, path.join(root, alt));
      writeJsonAtomic(pointerFile(root, slot), { folder: alt, step: state.step });
      fs.rmSync(final, { recursive: true, force: true });
      pruneSlot(root, slot, alt);
      return path.join(root, alt);
    }
    fs.rmSync(final, { recursive: true, force: true });
  }
  fs.renameSync(tmp, final);
  writeJsonAtomic(pointerFile(root, slot), { folder: name, step: state.step });
  pruneSlot(root, slot, name);
  return final;
}

/** Whether `root` holds a resumable run (a "latest" pointer) — used before naming it in messages. */
export function hasCheckpoint(root: string, slot = 'latest'): boolean {
  return fs.existsSync(pointerFile(root, slot));
}

/** Checkpoint folders of a slot, whatever the pointer says (to tell "no run" from "pointer lost"). */
export function checkpointFolders(root: string, slot = 'latest'): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).filter((e) => e.startsWith(`${slot}-`) && fs.statSync(path.join(root, e)).isDirectory());
}

function readPointer(root: string, slot: string): string | undefined {
  const file = pointerFile(root, slot);
  if (!fs.existsSync(file)) return undefined;
  try {
    const p = JSON.parse(readTextLimited(file, 'checkpointState')) as { folder?: unknown };
    if (typeof p?.folder === 'string') return p.folder;
  } catch {
    throw new UserError(`${file}: checkpoint pointer is not valid JSON (damaged); start over with --force, or restore it`);
  }
  throw new UserError(`${file}: checkpoint pointer names no folder (expected {"folder": "${slot}-…"}); start over with --force, or restore it`);
}

/** Removes the slot's other folders and leftover temporaries. */
function pruneSlot(root: string, slot: string, keep: string): void {
  for (const entry of fs.readdirSync(root)) {
    const ours = entry.startsWith(`${slot}-`) || (entry.startsWith(`.${slot}-`) && entry.endsWith('.tmp'));
    if (ours && entry !== keep) fs.rmSync(path.join(root, entry), { recursive: true, force: true });
  }
}

/** The checkpoint the slot's pointer names, or undefined when there is none. */
export function loadCheckpoint<S = CheckpointState>(root: string, slot: string): Checkpoint<S> | undefined {
  const folder = readPointer(root, slot);
  if (!folder) return undefined;
  const dir = path.join(root, folder);
  const stateFile = path.join(dir, STATE_FILE);
  if (!fs.existsSync(stateFile)) throw new UserError(`${pointerFile(root, slot)} names ${dir}, which has no ${STATE_FILE}`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readTextLimited(stateFile, 'checkpointState')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${stateFile}: checkpoint state is not valid JSON (${(e as Error).message}); the checkpoint is damaged: start over with --force, or restore it`);
  }
  if (raw === null || typeof raw !== 'object' || typeof raw.step !== 'number') throw new UserError(`${stateFile}: not a checkpoint state (no "step")`);
  const tensorFile = path.join(dir, TENSOR_FILE);
  if (!fs.existsSync(tensorFile)) throw new UserError(`${tensorFile} is missing; the checkpoint is damaged: start over with --force, or restore it`);
  const { [CHECKSUM_KEY]: expected, ...state } = raw;
  // Checkpoints written before checksums existed carry none: they are read unchecked.
  if (typeof expected === 'string') {
    const actual = sha256File(tensorFile);
    if (actual !== expected) {
      throw new UserError(`${tensorFile} is damaged: its sha256 (${actual.slice(0, 12)}…) differs from the one recorded in ${stateFile} (${expected.slice(0, 12)}…); start over with --force, or restore the checkpoint`);
    }
  }
  return { dir, state: state as S, tensors: readTensorFile(tensorFile) };
}

/** Tensors under a name prefix, with the prefix removed (e.g. "student." → parameter names). */
export function tensorsWithPrefix(tensors: Map<string, NamedTensor>, prefix: string): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [k, v] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
