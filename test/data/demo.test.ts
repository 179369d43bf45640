import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { loadTokenizer } from '../../src/data/tokenizer.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO = path.join(ROOT, 'data/demo');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('demo data (data/demo)', () => {
  it('reads as the sst2 task: 4000 train, 500 dev (balanced), 500 unlabeled test', () => {
    const task = loadTask('sst2');
    const train = readSplit(task, path.join(DEMO, 'task'), 'train');
    const dev = readSplit(task, path.join(DEMO, 'task'), 'dev');
    const test = readSplit(task, path.join(DEMO, 'task'), 'test');
    expect([train.length, dev.length, test.length]).toEqual([4000, 500, 500]);
    expect(dev.filter((e) => e.label === 1)).toHaveLength(250);
    expect(test.every((e) => e.label === undefined)).toBe(true);
    const trainTexts = new Set(train.map((e) => e.textA));
    expect(dev.some((e) => trainTexts.has(e.textA))).toBe(false);
  });

  it('the demo tokenizer covers every word (no [UNK]) and fits in 64 tokens', async () => {
    const tok = await loadTokenizer(DEMO);
    expect(tok.vocabSize).toBeLessThan(400);
    const dev = readSplit(loadTask('sst2'), path.join(DEMO, 'task'), 'dev');
    for (const e of dev) {
      const ids = tok.encode(e.textA).inputIds;
      expect(ids).not.toContain(tok.unkId);
      expect(ids.length).toBeLessThanOrEqual(64);
    }
  });

  it('the generator is deterministic and matches the committed files', () => {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/make-demo-data.ts'), tmp], {
      stdio: 'pipe',
    });
    for (const f of ['task/train.tsv', 'task/dev.tsv', 'task/test.tsv', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json']) {
      expect({ f, same: fs.readFileSync(path.join(tmp, f)).equals(fs.readFileSync(path.join(DEMO, f))) }).toEqual({ f, same: true });
    }
  });
});
