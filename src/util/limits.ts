/**
 * How large a file the toolkit reads into memory whole, by kind, and the one reader that enforces it.
 * A downloaded model or data folder is untrusted: a 40 GB "config.json" (or a FIFO, or a link to
 * /dev/zero) must be a clear error naming the file, not an out-of-memory crash or a hang. Streamed
 * inputs (data files, teacher caches' shards) have no limit here.
 */
import * as fs from 'node:fs';
import { UserError } from './errors.ts';

const MiB = 1024 * 1024;

export interface SizeLimit {
  /** Largest size in bytes. */
  bytes: number;
  /** What the file is, for messages ("model config.json"). */
  what: string;
  /** Why a file this large cannot be right, or what to do instead. */
  hint?: string;
}

/** The limits, generous for real files (largest seen in the wild in brackets). */
export const SIZE_LIMITS = {
  /** config.json, tokenizer_config.json, special_tokens_map.json [~100 KB with thousands of labels]. */
  modelConfig: { bytes: 16 * MiB, what: 'model config file' },
  /** tokenizer.json [~20 MB for 250k-token multilingual vocabularies]. */
  tokenizerJson: { bytes: 256 * MiB, what: 'tokenizer.json' },
  /** vocab.txt, vocab.json, merges.txt [a few MB]. */
  vocabFile: { bytes: 64 * MiB, what: 'vocabulary file' },
  /** A task declaration (tasks/*.json) [~1 KB]. */
  taskJson: { bytes: 4 * MiB, what: 'task declaration' },
  /** A run config (JSON or YAML) [~10 KB]. */
  runConfig: { bytes: 16 * MiB, what: 'config file' },
  /** A teacher cache's manifest.json / build.json / progress files [grow with the number of shards]. */
  cacheManifest: { bytes: 256 * MiB, what: 'teacher cache manifest' },
  /** A checkpoint's state.json [optimizer scalars, RNG state, history: KBs]. */
  checkpointState: { bytes: 64 * MiB, what: 'checkpoint state' },
  /** A safetensors file's JSON header (the reference implementation's own limit). */
  safetensorsHeader: { bytes: 100_000_000, what: 'safetensors header' },
  /** A safetensors file read whole (Node cannot read more in one piece). */
  safetensorsFile: { bytes: 2 ** 31 - 1, what: 'safetensors file', hint: 'a student this large is not what this toolkit trains' },
  /** An ONNX protobuf: protobuf (and so onnxruntime) cannot parse a message of 2 GB or more. */
  protobuf: {
    bytes: 2 ** 31 - 1,
    what: 'ONNX model',
    hint: "2 GB is protobuf's limit, which onnxruntime shares; save the weights as external data (onnx.save_model(model, path, save_as_external_data=True)) so the .onnx file itself stays small",
  },
} satisfies Record<string, SizeLimit>;

export type LimitKind = keyof typeof SIZE_LIMITS;

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * MiB) return `${(bytes / (1024 * MiB)).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

export function tooLarge(file: string, size: number, limit: SizeLimit): UserError {
  return new UserError(
    `${file}: ${limit.what} of ${formatSize(size)} (${size} bytes) is larger than the ${formatSize(limit.bytes)} this toolkit reads` +
      (limit.hint ? `; ${limit.hint}` : '; a file this large is not a real one (damaged or hostile)'),
  );
}

/**
 * Checks that `file` is a regular file (a FIFO or device would hang or never end) no larger than the
 * kind's limit; returns its size. For files read as streams whose content still ends up in memory.
 */
export function checkFileSize(file: string, kind: LimitKind | SizeLimit): number {
  const limit = typeof kind === 'string' ? SIZE_LIMITS[kind] : kind;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    throw new UserError(`${limit.what} ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!stat.isFile()) throw new UserError(`${limit.what} ${file} is not a regular file`);
  if (stat.size > limit.bytes) throw tooLarge(file, stat.size, limit);
  return stat.size;
}

/**
 * Reads a whole file of a kind, refusing it (UserError naming the file, its size and the limit) when
 * larger. At most limit + 1 bytes are read, so a file growing after the check cannot slip past.
 */
export function readFileLimited(file: string, kind: LimitKind | SizeLimit): Buffer {
  const limit = typeof kind === 'string' ? SIZE_LIMITS[kind] : kind;
  const size = checkFileSize(file, limit);
  const fd = fs.openSync(file, 'r');
  try {
    // One buffer of the stated size plus a byte to notice growth; more only if the file did grow.
    const chunks: Buffer[] = [];
    let total = 0;
    let buf = Buffer.allocUnsafe(size + 1);
    let filled = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, filled, buf.length - filled, null);
      filled += n;
      if (n > 0 && filled < buf.length) continue;
      chunks.push(buf.subarray(0, filled));
      total += filled;
      if (total > limit.bytes) throw tooLarge(file, total, limit);
      if (n === 0) break;
      buf = Buffer.allocUnsafe(Math.min(64 * 1024, limit.bytes + 1 - total));
      filled = 0;
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/** readFileLimited as UTF-8 text. */
export function readTextLimited(file: string, kind: LimitKind | SizeLimit): string {
  return readFileLimited(file, kind).toString('utf8');
}
