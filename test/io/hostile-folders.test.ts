/**
 * Hostile model and data folders: every file a model folder refers to (config.json, tokenizer files, the
 * ONNX model, the student's weights) must resolve inside the folder after realpath, and every file read
 * whole into memory has a size limit with an error naming it. Large files are sparse (no disk, no time).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/reader.ts';
import { readConfigFile } from '../../src/cli/config-load.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { loadTokenizer, saveTokenizer } from '../../src/data/tokenizer.ts';
import { modelFolderFile } from '../../src/io/confine.ts';
import { copyTokenizerFiles } from '../../src/io/hf-files.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { loadModelProto } from '../../src/onnx/proto.ts';
import { readStudentConfig } from '../../src/student/folder.ts';
import { findOnnxFile, loadTeacherFolder, readTeacherConfig } from '../../src/teacher/folder.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { UserError } from '../../src/util/errors.ts';
import { SIZE_LIMITS, readFileLimited } from '../../src/util/limits.ts';
import { fixtureDir } from '../teacher/helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A file outside every model folder, standing for ~/.ssh/id_rsa. */
const secretDir = path.join(tmp, 'home');
fs.mkdirSync(secretDir);
const secret = path.join(secretDir, 'id_rsa');
fs.writeFileSync(secret, '{"model": {"type": "WordPiece", "vocab": {}}}\n');

/** A copy of the tiny fixture teacher (config.json, vocab.txt, tokenizer_config.json, onnx/model.onnx). */
function teacherCopy(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(fixtureDir(17), dir, { recursive: true });
  return dir;
}

async function failure(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

/** A file of `bytes` bytes that takes no disk (a hole). */
function sparse(file: string, bytes: number, head = ''): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, head);
  fs.truncateSync(file, bytes);
  return file;
}

describe('confinement: files a model folder names stay inside it (realpath, symlinks included)', () => {
  const refusals: [string, string, (dir: string) => Promise<unknown>][] = [
    ['config.json', 'absolute', (dir) => loadTeacherFolder(dir)],
    ['vocab.txt', 'absolute', (dir) => loadTokenizer(dir)],
    ['tokenizer_config.json', 'relative', async (dir) => {
      saveTokenizer(await loadTokenizer(fixtureDir(17)), path.join(dir, 'tok'));
      fs.renameSync(path.join(dir, 'tok', 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
      return loadTeacherFolder(dir); // tokenizer.json is read with the tokenizer_config.json beside it
    }],
    ['tokenizer.json', 'relative', (dir) => loadTokenizer(dir)],
    ['onnx/model.onnx', 'absolute', async (dir) => findOnnxFile(dir)],
  ];
  for (const [name, kind, load] of refusals) {
    it(`refuses ${name} as a ${kind} symlink to a file outside the folder, naming the file and where it leads`, async () => {
      const dir = teacherCopy(`link-${name.replace(/\W/g, '-')}-${kind}`);
      const link = path.join(dir, name);
      fs.rmSync(link, { force: true });
      fs.symlinkSync(kind === 'absolute' ? secret : path.relative(path.dirname(link), secret), link);
      const err = await failure(load(dir));
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toContain(link);
      expect(err.message).toContain(`resolves outside the model folder (to ${fs.realpathSync(secret)})`);
    });
  }

  it('refuses a folder inside the model folder that is a symlink to one outside (onnx/ -> elsewhere)', async () => {
    const dir = teacherCopy('link-onnx-dir');
    const elsewhere = path.join(tmp, 'elsewhere-onnx');
    fs.renameSync(path.join(dir, 'onnx'), elsewhere);
    fs.symlinkSync(elsewhere, path.join(dir, 'onnx'));
    const err = await failure(() => findOnnxFile(dir));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/ONNX model .*onnx\/model\.onnx resolves outside the model folder/);
  });

  it('refuses a dangling symlink instead of treating the file as absent', async () => {
    const dir = teacherCopy('dangling');
    fs.symlinkSync('/nonexistent/tokenizer.json', path.join(dir, 'tokenizer.json'));
    const err = await failure(loadTokenizer(dir));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/tokenizer\.json is a link whose target does not exist \(\/nonexistent\/tokenizer\.json\)/);
  });

  it('refuses a student folder whose weights or config link outside it', async () => {
    const dir = path.join(tmp, 'student');
    fs.mkdirSync(dir);
    fs.symlinkSync(secret, path.join(dir, 'config.json'));
    const err = await failure(() => readStudentConfig(path.join(dir, 'config.json')));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/student config .*config\.json resolves outside the model folder/);
  });

  it('does not copy a tokenizer file linked outside the folder into an exported student folder', async () => {
    const src = path.join(tmp, 'tok-src');
    saveTokenizer(await loadTokenizer(fixtureDir(17)), src);
    fs.symlinkSync(secret, path.join(src, 'special_tokens_map.json'));
    const out = path.join(tmp, 'tok-out');
    fs.mkdirSync(out);
    const err = await failure(() => copyTokenizerFiles(path.join(src, 'tokenizer.json'), { max_position_embeddings: 64 } as never, out));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/special_tokens_map\.json resolves outside the model folder/);
    expect(fs.existsSync(path.join(out, 'special_tokens_map.json'))).toBe(false);
  });

  it('accepts symlinks that stay inside the folder, and a Hugging Face hub cache snapshot linking into its blobs', async () => {
    const dir = teacherCopy('inside');
    fs.mkdirSync(path.join(dir, 'files'));
    fs.renameSync(path.join(dir, 'vocab.txt'), path.join(dir, 'files', 'vocab.txt'));
    fs.symlinkSync(path.join('files', 'vocab.txt'), path.join(dir, 'vocab.txt'));
    expect((await loadTeacherFolder(dir)).tokenizer.vocabSize).toBeGreaterThan(10);

    // models--org--name/snapshots/<rev>/<file> -> ../../blobs/<hash>, as huggingface_hub lays a download out.
    const repo = path.join(tmp, 'hub', 'models--org--tiny');
    const snap = path.join(repo, 'snapshots', 'abc123');
    fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(snap, 'onnx'), { recursive: true });
    for (const name of ['config.json', 'vocab.txt', 'tokenizer_config.json', 'onnx/model.onnx']) {
      const blob = path.join(repo, 'blobs', name.replace(/\W/g, '_'));
      fs.copyFileSync(path.join(fixtureDir(17), name), blob);
      fs.symlinkSync(path.relative(path.dirname(path.join(snap, name)), blob), path.join(snap, name));
    }
    expect((await loadTeacherFolder(snap)).config.hidden_size).toBeGreaterThan(0);
    // …but not past the model's own cache folder.
    fs.symlinkSync(secret, path.join(snap, 'special_tokens_map.json'));
    expect(() => modelFolderFile(snap, 'special_tokens_map.json')).toThrow(/resolves outside the model folder/);
  });
});

describe('size limits: files read whole are refused above their limit, naming the file, its size and the limit', () => {
  it('readFileLimited refuses a file one byte over a limit and reads one at the limit', () => {
    const limit = { bytes: 100, what: 'test file' };
    fs.writeFileSync(path.join(tmp, 'at.txt'), 'x'.repeat(100));
    fs.writeFileSync(path.join(tmp, 'over.txt'), 'x'.repeat(101));
    expect(readFileLimited(path.join(tmp, 'at.txt'), limit).length).toBe(100);
    expect(() => readFileLimited(path.join(tmp, 'over.txt'), limit)).toThrow(/over\.txt: test file of 101 bytes \(101 bytes\) is larger than the 100 bytes this toolkit reads/);
  });

  it('refuses a FIFO (which would hang a reader) as not a regular file', async () => {
    const dir = teacherCopy('fifo');
    fs.rmSync(path.join(dir, 'config.json'));
    try {
      execFileSync('mkfifo', [path.join(dir, 'config.json')]);
    } catch {
      console.warn('mkfifo unavailable: FIFO case skipped');
      return;
    }
    const err = await failure(() => readTeacherConfig(path.join(dir, 'config.json')));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/config\.json is not a regular file/);
  });

  const over = (kind: keyof typeof SIZE_LIMITS) => SIZE_LIMITS[kind].bytes + 1;
  const cases: [string, keyof typeof SIZE_LIMITS, (file: string) => unknown | Promise<unknown>, string][] = [
    ['teacher config.json', 'modelConfig', (f) => readTeacherConfig(f), 'config.json'],
    ['student config.json', 'modelConfig', (f) => readStudentConfig(f), 'config.json'],
    ['tokenizer.json', 'tokenizerJson', (f) => loadTokenizer(path.dirname(f)), 'tokenizer.json'],
    ['vocab.txt', 'vocabFile', (f) => loadTokenizer(path.dirname(f)), 'vocab.txt'],
    ['task JSON', 'taskJson', (f) => loadTask(f), 'task.json'],
    ['run config', 'runConfig', (f) => readConfigFile(f), 'run.yaml'],
    ['cache manifest', 'cacheManifest', (f) => openCache(path.dirname(f)), 'manifest.json'],
    ['checkpoint state', 'checkpointState', (f) => loadCheckpoint(path.dirname(path.dirname(f)), 'latest'), 'latest-000001/state.json'],
    ['ONNX protobuf (2 GB)', 'protobuf', (f) => loadModelProto(f), 'model.onnx'],
  ];
  for (const [name, kind, read, file] of cases) {
    it(`${name}: over ${SIZE_LIMITS[kind].bytes} bytes is refused before it is read`, async () => {
      const dir = path.join(tmp, `big-${kind}-${name.replace(/\W/g, '-')}`);
      const f = sparse(path.join(dir, file), over(kind), '{');
      if (kind === 'checkpointState') fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ folder: 'latest-000001', step: 1 }));
      const err = await failure(async () => read(f));
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toContain(f);
      expect(err.message).toContain(`(${over(kind)} bytes) is larger than the`);
      if (kind === 'protobuf') expect(err.message).toMatch(/2 GB is protobuf's limit, which onnxruntime shares; save the weights as external data/);
    });
  }

  it('safetensors: a header length over the limit, or past the end of the file, is refused before the file is read', () => {
    const header = (n: bigint, total: number) => {
      const f = path.join(tmp, `st-${n}-${total}.safetensors`);
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(n);
      fs.writeFileSync(f, head);
      fs.truncateSync(f, total);
      return f;
    };
    const limit = SIZE_LIMITS.safetensorsHeader.bytes;
    expect(() => readSafetensors(header(BigInt(limit + 1), limit + 100))).toThrow(new RegExp(`header length ${limit + 1} is larger than the 95.4 MiB a safetensors header may have`));
    expect(() => readSafetensors(header(1000n, 500))).toThrow(/header length 1000 exceeds the file: it runs past the end \(500 bytes\)/);
    expect(() => readSafetensors(header(2n ** 63n, 64))).toThrow(UserError);
  });
});
