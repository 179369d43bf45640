/** Example input: the first sentences of the shipped demo task's dev split (data/demo/task). */
import devTsv from '../../data/demo/task/dev.tsv?raw';

export function demoSentences(n: number): string[] {
  return devTsv.split('\n').slice(1).filter((l) => l.trim()).slice(0, n).map((l) => l.split('\t')[0]);
}
