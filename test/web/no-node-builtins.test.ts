import { expect, it } from 'vitest';
import { noNodeBuiltins } from '../../web/no-node-builtins.ts';

type Resolve = (this: { error(m: string): never }, id: string, importer?: string) => null;
const resolve = noNodeBuiltins('/repo').resolveId as unknown as Resolve;
const ctx = { error: (m: string): never => { throw new Error(m); } };

it('the web build refuses a Node built-in reached from the repo code, naming the importer', () => {
  expect(() => resolve.call(ctx, 'node:fs', '/repo/src/data/tokenizer.ts')).toThrow('src/data/tokenizer.ts imports "node:fs": code the web page uses must not use Node I/O');
  expect(() => resolve.call(ctx, 'path', '/repo/src/eval/classifier.ts')).toThrow(/imports "path"/);
  expect(() => resolve.call(ctx, 'fs/promises', '/repo/web/src/main.ts')).toThrow(/imports "fs\/promises"/);
});

it('lets packages and non-built-in imports through', () => {
  expect(resolve.call(ctx, 'node:fs', '/repo/node_modules/some-lib/index.js')).toBeNull();
  expect(resolve.call(ctx, 'onnxruntime-web', '/repo/web/src/model.ts')).toBeNull();
  expect(resolve.call(ctx, '../../src/data/bert-tokenizer.ts', '/repo/web/src/model.ts')).toBeNull();
});
