import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSplit } from '../../src/data/reader.ts';
import { GLUE_TASKS, loadTask } from '../../src/data/tasks.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/glue');
const dir = (task: string) => path.join(FIXTURES, loadTask(task).displayName);

/** [task, split, rows, first textA, first textB, labels] read from the fixture files in each task's real layout. */
const CASES: [string, string, number, string, string | undefined, (number | undefined)[]][] = [
  ['cola', 'train', 3, 'The cat sat on the mat.', undefined, [1, 0, 1]],
  ['cola', 'dev', 2, 'The dog chased the ball.', undefined, [1, 0]],
  ['cola', 'test', 2, 'Birds sing in the morning.', undefined, [undefined, undefined]],
  ['sst2', 'train', 3, 'a warm , funny film ', undefined, [1, 0, 1]],
  ['sst2', 'dev', 2, "it 's a lovely little movie . ", undefined, [1, 0]],
  ['sst2', 'test', 2, 'quietly moving .', undefined, [undefined, undefined]],
  ['mrpc', 'train', 2, 'He said the plan " works " .', 'The plan works , he said .', [1, 0]],
  ['mrpc', 'dev', 1, 'The firm hired 20 people .', 'Twenty people were hired by the firm .', [1]],
  ['mrpc', 'test', 1, 'Rain is expected today .', 'Showers are forecast for today .', [undefined]],
  ['stsb', 'train', 2, 'A man is playing a guitar.', 'A man plays the guitar.', [4.75, 0]],
  ['stsb', 'dev', 1, 'A woman is cooking.', 'A woman cooks dinner.', [3.8]],
  ['stsb', 'test', 1, 'Prices rise.', 'Prices go up.', [undefined]],
  ['qqp', 'train', 2, 'How do I learn to cook?', 'What is the best way to learn cooking?', [1, 0]],
  ['qqp', 'dev', 1, 'What is "AI"?', 'What does "AI" mean?', [1]],
  ['qqp', 'test', 1, 'Is tea healthy?', 'Is green tea good for you?', [undefined]],
  ['mnli', 'train', 3, 'The man walks.', 'A person moves.', [1, 0, 2]],
  ['mnli', 'dev_matched', 2, 'Kids play outside.', 'Children are outdoors.', [1, 0]],
  ['mnli', 'dev_mismatched', 1, 'The report was late.', 'The report came in on time.', [0]],
  ['mnli', 'test_matched', 1, 'A bird sings.', 'An animal makes a sound.', [undefined]],
  ['mnli', 'test_mismatched', 1, 'The shop closed early.', 'The shop was open all night.', [undefined]],
  ['qnli', 'train', 2, 'Where do pandas live?', 'Pandas live in the mountains of China.', [0, 1]],
  ['qnli', 'dev', 1, 'When did it open?', 'It opened in 1990.', [0]],
  ['qnli', 'test', 1, 'What color is it?', 'It is painted red.', [undefined]],
  ['rte', 'train', 2, 'The trophy did not fit in the case because it was big.', 'The trophy was big.', [0, 1]],
  ['rte', 'dev', 1, 'The river flooded the town.', 'The town was flooded.', [0]],
  ['rte', 'test', 1, 'The cup fell off the table.', 'The cup broke.', [undefined]],
  ['wnli', 'train', 2, 'The trophy did not fit in the case because it was big.', 'The trophy was big.', [1, 0]],
  ['wnli', 'dev', 1, 'The river flooded the town.', 'The town was flooded.', [1]],
  ['wnli', 'test', 1, 'The cup fell off the table.', 'The cup broke.', [undefined]],
];

describe('GLUE readers on fixtures in the official layouts', () => {
  it('covers every split of every GLUE task', () => {
    const covered = new Set(CASES.map(([t, s]) => `${t}/${s}`));
    for (const t of GLUE_TASKS) for (const s of Object.keys(loadTask(t).splits)) expect(covered).toContain(`${t}/${s}`);
  });

  it.each(CASES)('%s %s', (task, split, rows, textA, textB, labels) => {
    const examples = readSplit(loadTask(task), dir(task), split);
    expect(examples).toHaveLength(rows);
    expect(examples[0].textA).toBe(textA);
    expect(examples[0].textB).toBe(textB);
    expect(examples.map((e) => e.label)).toEqual(labels);
    expect(examples.map((e) => e.index)).toEqual(examples.map((_, i) => i));
  });

  it('strips the BOM of the MRPC header and keeps stray quotes literally', () => {
    const [first] = readSplit(loadTask('mrpc'), dir('mrpc'), 'train');
    expect(first.textA).toContain('" works "');
    expect(first.source.line).toBe(2);
  });

  it('reads headerless CoLA rows from line 1 and a file without a final newline', () => {
    const dev = readSplit(loadTask('cola'), dir('cola'), 'dev');
    expect(dev.map((e) => e.source.line)).toEqual([1, 2]);
    const train = readSplit(loadTask('cola'), dir('cola'), 'train');
    expect(train[2].textA).toBe('Susan whispered "Shut up".');
  });

  it("keeps the test files' own id column (the index a GLUE submission needs)", () => {
    expect(readSplit(loadTask('qqp'), dir('qqp'), 'test').map((e) => e.id)).toEqual(['379']);
    expect(readSplit(loadTask('sst2'), dir('sst2'), 'test').map((e) => e.id)).toEqual(['0', '1']);
    expect(readSplit(loadTask('mnli'), dir('mnli'), 'test_mismatched').map((e) => e.id)).toEqual(['0']);
    // Splits that declare no id column leave it undefined.
    expect(readSplit(loadTask('sst2'), dir('sst2'), 'dev').map((e) => e.id)).toEqual([undefined, undefined]);
  });

  it('maps MNLI labels in the GLUE order contradiction, entailment, neutral', () => {
    expect(loadTask('mnli').labels).toEqual(['contradiction', 'entailment', 'neutral']);
    expect(loadTask('mnli').devSplit).toBe('dev_matched');
  });
});
