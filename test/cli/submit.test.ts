/** `distill submit` on fixtures in the official GLUE layouts: names, headers, row counts, ids and label vocabularies. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { checkSubmissionFile, classToTaskLabel, GLUE_SUBMISSION_FILES, type SubmissionFile } from '../../src/eval/submission.ts';
import { ROOT, tinyStudentFolders } from '../helpers/tiny-models.ts';
import { runCli, tempDir } from './helpers.ts';

const GLUE = path.join(ROOT, 'test/fixtures/glue');
const REAL_GLUE = path.resolve(ROOT, '../shared/glue');
const HAVE_REAL_GLUE = ['CoLA', 'SST-2', 'MRPC', 'STS-B', 'RTE'].every((t) => fs.existsSync(path.join(REAL_GLUE, t, 'test.tsv')));
if (!HAVE_REAL_GLUE) console.warn(`submit on the real GLUE test files skipped: ${REAL_GLUE} is absent`);

/** The leaderboard's own spec: file name → accepted predictions. */
const LEADERBOARD: Record<string, string[] | 'score'> = {
  'CoLA.tsv': ['0', '1'], 'SST-2.tsv': ['0', '1'], 'MRPC.tsv': ['0', '1'], 'STS-B.tsv': 'score', 'QQP.tsv': ['0', '1'],
  'MNLI-m.tsv': ['entailment', 'neutral', 'contradiction'], 'MNLI-mm.tsv': ['entailment', 'neutral', 'contradiction'],
  'QNLI.tsv': ['entailment', 'not_entailment'], 'RTE.tsv': ['entailment', 'not_entailment'], 'WNLI.tsv': ['0', '1'],
  'AX.tsv': ['entailment', 'neutral', 'contradiction'],
};

/** Test-file ids in order, read independently of the toolkit's reader (first column, header skipped). */
function testIds(file: string): string[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
}
const TEST_FILES: Record<string, string> = {
  'CoLA.tsv': 'CoLA/test.tsv', 'SST-2.tsv': 'SST-2/test.tsv', 'MRPC.tsv': 'MRPC/test.tsv', 'STS-B.tsv': 'STS-B/test.tsv', 'QQP.tsv': 'QQP/test.tsv',
  'MNLI-m.tsv': 'MNLI/test_matched.tsv', 'MNLI-mm.tsv': 'MNLI/test_mismatched.tsv', 'QNLI.tsv': 'QNLI/test.tsv', 'RTE.tsv': 'RTE/test.tsv',
  'WNLI.tsv': 'WNLI/test.tsv', 'AX.tsv': 'diagnostic/diagnostic.tsv',
};

describe('distill submit', () => {
  const dir = tempDir('distill-submit-');
  const models: Record<string, string> = {};
  beforeAll(async () => {
    // One tiny model per head shape; the names are the readable ones a trained student's config carries.
    models.binary = (await tinyStudentFolders(path.join(dir, 'm2'), ['negative', 'positive'])).onnxDir;
    models.nli2 = (await tinyStudentFolders(path.join(dir, 'n2'), ['entailment', 'not_entailment'])).onnxDir;
    models.mnli = (await tinyStudentFolders(path.join(dir, 'n3'), ['contradiction', 'entailment', 'neutral'], 11)).onnxDir;
    models.stsb = (await tinyStudentFolders(path.join(dir, 'r'), null)).onnxDir;
  }, 120_000);

  it('writes all eleven leaderboard files with the official names, header, ids, row counts and label strings', async () => {
    const out = path.join(dir, 'submission');
    const pick: Record<string, string> = { cola: 'binary', sst2: 'binary', mrpc: 'binary', qqp: 'binary', wnli: 'binary', qnli: 'nli2', rte: 'nli2', mnli: 'mnli', stsb: 'stsb' };
    const r = await runCli(['submit', '--glue', GLUE, '--out', out, ...Object.entries(pick).flatMap(([t, m]) => ['--model', `${t}=${models[m]}`])]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('all 11 leaderboard files present');
    expect(fs.readdirSync(out).sort()).toEqual(Object.keys(LEADERBOARD).sort());
    expect(GLUE_SUBMISSION_FILES.map((e) => e.file).sort()).toEqual(Object.keys(LEADERBOARD).sort());
    for (const [name, vocab] of Object.entries(LEADERBOARD)) {
      const lines = fs.readFileSync(path.join(out, name), 'utf8').split('\n');
      expect(lines.pop(), name).toBe(''); // ends with a newline
      expect(lines[0], name).toBe('index\tprediction');
      const rows = lines.slice(1).map((l) => l.split('\t'));
      const ids = testIds(path.join(GLUE, TEST_FILES[name]));
      expect(rows.map((x) => x[0]), name).toEqual(ids);
      for (const [, p] of rows) {
        if (vocab === 'score') {
          expect(p).toMatch(/^\d\.\d{3}$/);
          expect(Number(p)).toBeGreaterThanOrEqual(0);
          expect(Number(p)).toBeLessThanOrEqual(5);
        } else expect(vocab, name).toContain(p);
      }
    }
    // QQP's id column is "id" and the fixture's id is 379: the file keeps it instead of the row number.
    expect(fs.readFileSync(path.join(out, 'QQP.tsv'), 'utf8')).toBe('index\tprediction\n379\t' + fs.readFileSync(path.join(out, 'QQP.tsv'), 'utf8').split('\n')[1].split('\t')[1] + '\n');
  }, 120_000);

  it('one task from flags; MNLI writes m, mm and AX with the same model; a partial folder lists what is missing', async () => {
    const out = path.join(dir, 'one');
    const r = await runCli(['submit', '--task', 'mnli', '--data', path.join(GLUE, 'MNLI'), '--model', models.mnli, '--out', out, '--quantized']);
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['AX.tsv', 'MNLI-m.tsv', 'MNLI-mm.tsv']);
    expect(r.out).toContain('AX.tsv: 3 rows');
    expect(r.out).toContain('still missing: CoLA.tsv, SST-2.tsv, MRPC.tsv, STS-B.tsv, QQP.tsv, QNLI.tsv, RTE.tsv, WNLI.tsv');
  });

  it('refuses a model whose head does not fit the task, and a classifier for STS-B', async () => {
    const out = path.join(dir, 'bad');
    const a = await runCli(['submit', '--task', 'mnli', '--data', path.join(GLUE, 'MNLI'), '--model', models.binary, '--out', out]);
    expect(a.code).toBe(1);
    expect(a.err).toContain('the model has 2 outputs, task mnli has 3 labels');
    const b = await runCli(['submit', '--task', 'stsb', '--data', path.join(GLUE, 'STS-B'), '--model', models.binary, '--out', out]);
    expect(b.code).toBe(1);
    expect(b.err).toContain('STS-B.tsv needs a regression model');
    const c = await runCli(['submit', '--glue', GLUE, '--model', models.binary, '--out', out]);
    expect(c.code).toBe(1);
    expect(c.err).toContain('give task=dir');
  });

  it('the check after writing refuses a wrong header, row count, index, label or score', () => {
    const check = (body: string, entry: SubmissionFile, ids: string[], testLines?: string) => {
      const file = path.join(dir, 'check.tsv');
      fs.writeFileSync(file, body);
      let testFile: { file: string; header: boolean } | undefined;
      if (testLines !== undefined) {
        testFile = { file: path.join(dir, 'check-test.tsv'), header: true };
        fs.writeFileSync(testFile.file, testLines);
      }
      return () => checkSubmissionFile(file, entry, ids, testFile);
    };
    const rte = GLUE_SUBMISSION_FILES.find((e) => e.file === 'RTE.tsv')!;
    const stsb = GLUE_SUBMISSION_FILES.find((e) => e.file === 'STS-B.tsv')!;
    expect(check('index\tprediction\n0\tentailment\n1\tnot_entailment\n', rte, ['0', '1'], 'index\ta\tb\n0\tx\ty\n1\tx\ty\n\n')).not.toThrow();
    expect(check('id\tprediction\n0\tentailment\n', rte, ['0'])).toThrow(/header is "id\\tprediction"/);
    expect(check('index\tprediction\n0\tentailment\n', rte, ['0', '1'])).toThrow(/1 rows, the test file has 2/);
    expect(check('index\tprediction\n1\tentailment\n', rte, ['0'])).toThrow(/:2: expected index 0/);
    expect(check('index\tprediction\n0\t1\n', rte, ['0'])).toThrow(/prediction "1" is not one of entailment, not_entailment/);
    expect(check('index\tprediction\n0\t5.200\n', stsb, ['0'])).toThrow(/not one of the scores 0–5/);
    // The reader's ids agree with the written file, but the test file itself has a row more.
    expect(check('index\tprediction\n0\tentailment\n', rte, ['0'], 'index\ta\tb\n0\tx\ty\n1\tx\ty\n')).toThrow(/1 rows, but .*check-test.tsv has 2 data lines/);
  });

  it.skipIf(!HAVE_REAL_GLUE)('on the real GLUE test files (../shared/glue): one row per test line, the files\' own indices', async () => {
    const out = path.join(dir, 'real');
    const pick: Record<string, string> = { cola: 'binary', sst2: 'binary', mrpc: 'binary', stsb: 'stsb', rte: 'nli2' };
    const r = await runCli(['submit', '--glue', REAL_GLUE, '--out', out, ...Object.entries(pick).flatMap(([t, m]) => ['--model', `${t}=${models[m]}`])]);
    expect(r.code, r.err).toBe(0);
    for (const name of ['CoLA.tsv', 'SST-2.tsv', 'MRPC.tsv', 'STS-B.tsv', 'RTE.tsv']) {
      const test = fs.readFileSync(path.join(REAL_GLUE, TEST_FILES[name]), 'utf8').replace(/^\uFEFF/, '').trimEnd().split('\n');
      const lines = fs.readFileSync(path.join(out, name), 'utf8').trimEnd().split('\n');
      expect(lines[0]).toBe('index\tprediction');
      expect(lines.length, name).toBe(test.length); // header + one row per test row (1063 CoLA … 3000 RTE)
      expect(lines.slice(1).map((l) => l.split('\t')[0]), name).toEqual(test.slice(1).map((l) => l.split('\t')[0]));
      const vocab = LEADERBOARD[name];
      for (const l of lines.slice(1)) {
        const p = l.split('\t')[1];
        if (vocab === 'score') expect(Number(p) >= 0 && Number(p) <= 5, p).toBe(true);
        else expect(vocab).toContain(p);
      }
    }
  }, 300_000);

  it('maps classes by name when the model orders them differently from the task file', () => {
    const task = loadTask('mnli');
    const model = { dir: 'm', numOutputs: 3, regression: false, id2label: { 0: 'entailment', 1: 'neutral', 2: 'contradiction' } };
    expect(classToTaskLabel(model, task)).toEqual([1, 2, 0]);
    expect(classToTaskLabel({ dir: 'm', numOutputs: 2, regression: false, id2label: { 0: 'positive', 1: 'negative' } }, loadTask('sst2'))).toEqual([1, 0]);
    expect(classToTaskLabel({ dir: 'm', numOutputs: 2, regression: false, id2label: { 0: 'LABEL_0', 1: 'LABEL_1' } }, loadTask('sst2'))).toEqual([0, 1]);
    // Names that say something else are refused (no silent crossing), unless a label map relates them.
    const yesNo = { dir: 'm', numOutputs: 2, regression: false, id2label: { 0: 'yes', 1: 'no' } };
    expect(() => classToTaskLabel(yesNo, loadTask('rte'))).toThrow(/do not match the task's labels \[entailment, not_entailment\]: give the correspondence as --label-map/);
    expect(classToTaskLabel(yesNo, loadTask('rte'), 'yes=entailment,no=not_entailment')).toEqual([0, 1]);
    expect(classToTaskLabel(yesNo, loadTask('rte'), 'no=entailment,yes=not_entailment')).toEqual([1, 0]);
    expect(readSplit(loadTask('mnli'), path.join(GLUE, 'MNLI'), 'test_matched')[0].id).toBe('0');
  });
});
