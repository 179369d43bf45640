/** The readers on the real GLUE files in ../shared/glue (skipped, with a message, when absent). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';

const GLUE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/glue');
const HAVE_GLUE = fs.existsSync(GLUE);
if (!HAVE_GLUE) console.warn(`real GLUE reader tests skipped: ${GLUE} is absent`);

// Row counts of the official files (data rows, header excluded).
const COUNTS: [string, string, number][] = [
  ['sst2', 'train', 67349], ['sst2', 'dev', 872], ['sst2', 'test', 1821],
  ['cola', 'train', 8551], ['cola', 'dev', 1043], ['cola', 'test', 1063],
  ['mrpc', 'train', 3668 - 1], ['mrpc', 'dev', 408], ['mrpc', 'test', 1725],
];

describe.skipIf(!HAVE_GLUE)('readers on the real GLUE files (../shared/glue)', () => {
  it.each(COUNTS)('%s %s has %i rows', (task, split, rows) => {
    const t = loadTask(task);
    const examples = readSplit(t, path.join(GLUE, t.displayName), split);
    expect(examples).toHaveLength(rows);
    const labeled = !split.startsWith('test');
    expect(examples.every((e) => (e.label !== undefined) === labeled)).toBe(true);
    expect(examples.every((e) => e.textA.length > 0)).toBe(true);
    if (t.splits[split].textB !== undefined) expect(examples.every((e) => typeof e.textB === 'string')).toBe(true);
  });

  it('label balance and quirks: SST-2 dev 444 positive, CoLA dev 721 acceptable, MRPC dev 279 paraphrases', () => {
    const count = (task: string) => {
      const t = loadTask(task);
      return readSplit(t, path.join(GLUE, t.displayName), 'dev').filter((e) => e.label === 1).length;
    };
    expect(count('sst2')).toBe(444);
    expect(count('cola')).toBe(721);
    expect(count('mrpc')).toBe(279);
  });

  it('keeps stray quotes literally (MRPC dev line 2, CoLA train line 3057)', () => {
    const mrpc = readSplit(loadTask('mrpc'), path.join(GLUE, 'MRPC'), 'dev');
    expect(mrpc[0].textB!.startsWith('" The foodservice pie business')).toBe(true);
    const cola = readSplit(loadTask('cola'), path.join(GLUE, 'CoLA'), 'train');
    expect(cola.find((e) => e.source.line === 3057)!.textA).toBe('Susan whispered "Shut up".');
  });
});
