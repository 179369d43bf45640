/**
 * How often the teacher disagrees with the gold label an augmented row inherits from its source row
 * (docs/real-glue.md): the hard-label baseline trains on those inherited labels, the distilled student on the
 * teacher's predictions. Reads a real-GLUE run's augmented training file, the split it was made from, and
 * the teacher caches beside it (every teacher's logits; the mean of their probabilities is the target).
 *
 *   npx tsx scripts/real-glue/label-noise.ts --run runs/real-glue-sentences [--task sst2] [--min-words 10]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { basicTokenize } from '../../src/augment/words.ts';
import { openCache } from '../../src/cache/reader.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import type { Example } from '../../src/data/types.ts';
import { argmax, softmax } from '../../src/eval/prediction.ts';

/** Per row of the augmented file: whether it is a source row's verbatim copy (the file keeps each one first, then its variants). */
export function originalRows(augmented: readonly string[], source: readonly string[]): boolean[] {
  let next = 0;
  const out = augmented.map((text) => {
    if (next < source.length && text === source[next]) {
      next++;
      return true;
    }
    if (next === 0) throw new Error(`row "${text.slice(0, 40)}" comes before the first source row`);
    return false;
  });
  if (next !== source.length) throw new Error(`only ${next} of ${source.length} source rows found in order in the augmented file`);
  return out;
}

export interface Disagreement {
  rows: number;
  /** Rows whose teacher argmax differs from the inherited gold label. */
  disagree: number;
}

/** Teacher argmax vs label, per group: originals / variants, each split by text length. */
export function disagreements(rows: { original: boolean; words: number; label: number; teacher: number }[], minWords: number): Record<string, Disagreement> {
  const out: Record<string, Disagreement> = {};
  for (const r of rows) {
    const key = `${r.original ? 'original' : 'variant'}, ${r.words >= minWords ? `≥ ${minWords}` : `< ${minWords}`} words`;
    const d = (out[key] ??= { rows: 0, disagree: 0 });
    d.rows++;
    if (r.teacher !== r.label) d.disagree++;
  }
  return out;
}

/** The class of the teachers' mean probability (the config's multiTeacher combine "mean"). */
function argmaxOfMeanProbs(logitsPerTeacher: Float32Array[]): number {
  const mean = new Float64Array(logitsPerTeacher[0].length);
  for (const l of logitsPerTeacher) softmax(l).forEach((p, c) => (mean[c] += p / logitsPerTeacher.length));
  return argmax(mean);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { run: { type: 'string' }, task: { type: 'string', default: 'sst2' }, 'min-words': { type: 'string', default: '10' } } });
  if (!values.run) throw new Error('--run <runs/real-glue-…> is required');
  const task = loadTask(values.task!);
  const dir = path.join(values.run, values.task!);
  const augmented = readSplit(task, path.join(dir, 'augmented'), 'train');
  const source = readSplit(task, path.join(values.run, 'data', values.task!), 'train');
  const row = (e: Example) => `${e.textA}\t${e.textB ?? ''}\t${e.label}`;
  const original = originalRows(augmented.map(row), source.map(row));
  const caches = fs.readdirSync(dir).filter((d) => /^cache(-teacher\d+)?$/.test(d)).sort().map((d) => openCache(path.join(dir, d)));
  for (const c of caches) if (c.numExamples !== augmented.length) throw new Error(`${c.dir}: ${c.numExamples} examples, the augmented file ${augmented.length}`);
  const rows = augmented.map((e, i) => {
    if (i % 20000 === 0) process.stderr.write(`\r${i}/${augmented.length}`);
    const teacher = argmaxOfMeanProbs(caches.map((c) => {
      const logits = c.readExample(i).logits;
      if (!logits) throw new Error(`${c.dir}: no logits`);
      return logits;
    }));
    // Words as augment.minWords counts them (basic-tokenized, punctuation included).
    return { original: original[i], words: basicTokenize(e.textA).length, label: e.label as number, teacher };
  });
  process.stderr.write('\n');
  for (const c of caches) c.close();
  const minWords = Number(values['min-words']);
  console.log(`${dir}: ${caches.length} teacher(s), ${augmented.length} rows; teacher argmax (mean of probabilities) vs inherited label`);
  console.log('| rows | count | teacher disagrees |\n|---|---|---|');
  for (const [k, d] of Object.entries(disagreements(rows, minWords)).sort()) console.log(`| ${k} | ${d.rows} | ${(100 * d.disagree / d.rows).toFixed(1)}% |`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
