/**
 * Teachers stored with external data (model.onnx + model.onnx_data, as exports over 2 GB and many optimum
 * exports are): the graph surgery copy runs in onnxruntime and gives the inline model's outputs; and a
 * hostile location (traversal, absolute path, symlink out of the folder, a length past the file's end) is
 * refused naming the tensor, before anything is read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collate, encodeExamples } from '../../src/data/batching.ts';
import { loadModelProto, onnx, saveModelProto, type ModelProto } from '../../src/onnx/proto.ts';
import { extractBertWeights } from '../../src/teacher/weights.ts';
import { Teacher } from '../../src/teacher/teacher.ts';
import { UserError } from '../../src/util/errors.ts';
import { fixtureDir, maxAbsDiff } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'external-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = () => {};

/** A copy of the fixture teacher whose initializers live in onnx/model.onnx_data; `edit` may corrupt the entries. */
function externalCopy(name: string, edit?: (entries: Map<string, string>, tensor: string) => void): string {
  const src = fixtureDir(17);
  const dir = path.join(tmp, name);
  fs.cpSync(src, dir, { recursive: true });
  const model = loadModelProto(path.join(src, 'onnx/model.onnx')) as ModelProto;
  const chunks: Buffer[] = [];
  let offset = 0;
  let moved = 0;
  for (const t of model.graph!.initializer ?? []) {
    if (!t.rawData || t.rawData.length < 64) continue;
    const bytes = Buffer.from(t.rawData);
    const entries = new Map([['location', 'model.onnx_data'], ['offset', String(offset)], ['length', String(bytes.length)]]);
    if (moved === 0) edit?.(entries, t.name!);
    t.externalData = [...entries].map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    chunks.push(bytes);
    offset += bytes.length;
    moved++;
  }
  expect(moved).toBeGreaterThan(10);
  fs.writeFileSync(path.join(dir, 'onnx/model.onnx_data'), Buffer.concat(chunks));
  saveModelProto(model, path.join(dir, 'onnx/model.onnx'));
  return dir;
}

describe('external data', () => {
  it('a teacher split into model.onnx + model.onnx_data caches the same features as the inline one', async () => {
    const dir = externalCopy('split');
    const inline = await Teacher.load(fixtureDir(17), { attention: 'both', workDir: path.join(tmp, 'w-inline'), intraOpThreads: 1, notice: quiet });
    const split = await Teacher.load(dir, { attention: 'both', workDir: path.join(tmp, 'w-split'), intraOpThreads: 1, notice: quiet });
    const enc = encodeExamples(inline.folder.tokenizer, [{ textA: 'the movie was good', label: 1 }, { textA: 'bad', label: 0 }] as never, 16);
    const a = await inline.run(collate(enc, [0, 1]));
    const b = await split.run(collate(enc, [0, 1]));
    expect(maxAbsDiff(a.logits!.data, b.logits!.data)).toBe(0);
    // The surgery copy's data is a hard link (or copy) in the work folder, not a symlink out of it.
    expect(fs.lstatSync(path.join(tmp, 'w-split', 'model.onnx_data')).isSymbolicLink()).toBe(false);
    // Weight extraction (student.init=teacher) reads the external data too.
    const w1 = extractBertWeights(path.join(fixtureDir(17), 'onnx/model.onnx')).weights;
    const w2 = extractBertWeights(path.join(dir, 'onnx/model.onnx')).weights;
    expect([...w2.keys()]).toEqual([...w1.keys()]);
    for (const [k, v] of w1) expect(maxAbsDiff(v.data, w2.get(k)!.data)).toBe(0);
  });

  const secret = path.join(tmp, 'secret.bin');
  fs.writeFileSync(secret, Buffer.alloc(4096, 7));
  const cases: [string, (e: Map<string, string>) => void, RegExp][] = [
    ['traversal by ..', (e) => e.set('location', '../../secret.bin'), /external data location "\.\.\/\.\.\/secret\.bin" resolves outside the model folder/],
    ['an absolute path', (e) => e.set('location', secret), /is an absolute path/],
    ['a length past the end of the file', (e) => e.set('length', String(1e12)), /has \d+ bytes, but the model asks for 1000000000000 at offset 0/],
    ['a negative offset', (e) => e.set('offset', '-5'), /offset "-5" is not a non-negative integer/],
  ];
  for (const [name, edit, message] of cases) {
    it(`refuses ${name}, naming the tensor`, async () => {
      const dir = externalCopy(name.replace(/\W+/g, '-'), edit);
      const err = await Teacher.load(dir, { attention: 'both', workDir: path.join(tmp, `w-${name.replace(/\W+/g, '-')}`), intraOpThreads: 1, notice: quiet }).catch((e) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toMatch(/^tensor \S+: /);
      expect(err.message).toMatch(message);
    });
  }
  it('refuses a symlink that leads out of the folder', async () => {
    const dir = externalCopy('symlink', (e) => e.set('location', 'link.bin'));
    fs.symlinkSync(secret, path.join(dir, 'onnx/link.bin'));
    const err = await Teacher.load(dir, { attention: 'both', workDir: path.join(tmp, 'w-symlink'), intraOpThreads: 1, notice: quiet }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/external data location "link\.bin" resolves outside the model folder/);
  });
});
