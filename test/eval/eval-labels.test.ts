/**
 * `distill eval` matches a model's id2label to the task's labels by name, as the teacher cache does:
 * an MNLI teacher whose classes run entailment / neutral / contradiction is scored against the task's
 * contradiction / entailment / neutral. The expected confusion matrix is worked out here from the
 * model's raw logits and its own label names, independently of the mapping code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTask } from '../../src/data/tasks.ts';
import { readSplit } from '../../src/data/reader.ts';
import { argmax, openClassifier } from '../../src/eval/classifier.ts';
import { runCli, tempDir } from '../cli/helpers.ts';
import { teacherFolder } from '../teacher/encoders.ts';

const work = tempDir('eval-labels-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const MNLI_ROWS: [string, string, string][] = [
  ['Kids play outside.', 'Children are outdoors.', 'entailment'],
  ['It is raining.', 'It is sunny and dry.', 'contradiction'],
  ['A man reads.', 'The man reads a novel.', 'neutral'],
  ['The shop is open.', 'The shop is closed.', 'contradiction'],
  ['She sings well.', 'She can sing.', 'entailment'],
  ['Two dogs run.', 'The dogs are racing.', 'neutral'],
  ['He ate lunch early.', 'He was hungry.', 'neutral'],
  ['Nobody came.', 'Everyone came.', 'contradiction'],
  ['The cat sleeps on the mat.', 'A cat is asleep.', 'entailment'],
];
const data = path.join(work, 'MNLI');
fs.mkdirSync(data);
fs.writeFileSync(path.join(data, 'dev_matched.tsv'), 'index\tsentence1\tsentence2\tgold_label\n' + MNLI_ROWS.map((r, i) => `${i}\t${r.join('\t')}\n`).join(''));

/** The fixture BERT (3 classes) with `id2label` written into its config.json. */
function teacherWithLabels(name: string, id2label: Record<string, string>): string {
  const dir = teacherFolder('bert', 'ts17', path.join(work, name));
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.id2label = id2label;
  cfg.label2id = Object.fromEntries(Object.entries(id2label).map(([i, l]) => [l, Number(i)]));
  fs.writeFileSync(file, JSON.stringify(cfg));
  return dir;
}

/** Confusion [gold][predicted] over the task's labels, predictions read by the model's own class names. */
async function expectedConfusion(dir: string, nameOf: (teacherClass: number) => string): Promise<number[][]> {
  const task = loadTask('mnli');
  const examples = readSplit(task, data, 'dev_matched');
  const model = await openClassifier(dir);
  try {
    const logits = await model.logits(examples.map((e) => model.tokenizer.encode(e.textA, e.textB, model.maxPositions)));
    const m = task.labels!.map(() => task.labels!.map(() => 0));
    examples.forEach((e, i) => m[e.label!][task.labels!.indexOf(nameOf(argmax(logits.subarray(i * 3, i * 3 + 3))))]++);
    return m;
  } finally {
    await model.dispose();
  }
}

const evalJson = async (dir: string, json: string, ...more: string[]) => {
  const r = await runCli(['eval', '--model', dir, '--task', 'mnli', '--data', data, '--json', path.join(work, json), ...more]);
  return { ...r, file: r.code === 0 ? JSON.parse(fs.readFileSync(path.join(work, json), 'utf8')) : undefined };
};

describe('distill eval: labels by name', () => {
  it('an MNLI teacher ordered entailment / neutral / contradiction is scored in the task order', async () => {
    const names = ['entailment', 'neutral', 'contradiction'];
    const dir = teacherWithLabels('mnli-order', { 0: names[0], 1: names[1], 2: names[2] });
    const expected = await expectedConfusion(dir, (c) => names[c]);
    const r = await evalJson(dir, 'mnli-order.json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('labels matched by name: task label i is teacher class [2, 0, 1][i]');
    expect(r.file.models[0].confusion).toEqual(expected);
    const correct = expected.reduce((a, row, i) => a + row[i], 0);
    expect(r.file.models[0].metrics.accuracy).toBeCloseTo(correct / MNLI_ROWS.length, 6);
  });

  it('names that disagree are refused without --label-map and scored through it', async () => {
    const names = ['ent', 'neu', 'con'];
    const dir = teacherWithLabels('mnli-short', { 0: names[0], 1: names[1], 2: names[2] });
    const refused = await evalJson(dir, 'refused.json');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/labels \[ent, neu, con\] \(config.json id2label\) do not match the task's labels \[contradiction, entailment, neutral\]: give the correspondence as --label-map/);
    const full = { ent: 'entailment', neu: 'neutral', con: 'contradiction' } as Record<string, string>;
    const expected = await expectedConfusion(dir, (c) => full[names[c]]);
    const mapped = await evalJson(dir, 'mapped.json', '--label-map', 'ent=entailment,neu=neutral,con=contradiction');
    expect(mapped.code, mapped.err).toBe(0);
    expect(mapped.file.models[0].confusion).toEqual(expected);
  });
});
