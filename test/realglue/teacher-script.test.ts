/**
 * scripts/real-glue/teacher.py, the maker of the real-data teachers: its held-out split, its metrics (the
 * same numbers as the toolkit's), and a genuine Hugging Face BertForSequenceClassification trained for a
 * few updates and exported by torch.onnx.export, which the toolkit then caches and scores as a user's
 * export, with the same dev metric PyTorch computed. Skipped, with a message, without a Python that has
 * torch + transformers + onnxruntime (.ci/run's venv) or without ../shared.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { computeTaskMetrics } from '../../src/metrics/metrics.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { runCli, tempDir } from '../cli/helpers.ts';
import { findPython } from '../helpers/python.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = path.resolve(ROOT, '../shared');
const SCRIPT = path.join(ROOT, 'scripts/real-glue/teacher.py');
const py = findPython(['torch', 'transformers', 'onnxruntime']);
const HAVE_SHARED = fs.existsSync(path.join(SHARED, 'glue/SST-2')) && fs.existsSync(path.join(SHARED, 'vocab'));
if (!py.python) console.warn(`teacher.py tests skipped: ${py.reason}`);
if (!HAVE_SHARED) console.warn(`teacher.py tests skipped: ${SHARED}/glue or vocab is absent`);

function python(args: string[], cwd = ROOT): string {
  const r = spawnSync(py.python!, args, { cwd, encoding: 'utf8', env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  expect(r.status, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

describe.skipIf(!py.python)('teacher.py metrics agree with the toolkit', () => {
  it('accuracy, F1, MCC and Pearson on the same predictions', () => {
    const preds = [1, 0, 1, 1, 0, 0, 1, 0];
    const golds = [1, 0, 0, 1, 0, 1, 1, 1];
    const reg = [0.5, 2.1, 3.3, 4.0, 1.2];
    const regGold = [0.7, 2.0, 2.9, 4.5, 1.0];
    const out = python(['-c', `import sys; sys.path.insert(0, 'scripts/real-glue'); from glue_data import metric
p, g = ${JSON.stringify(preds)}, ${JSON.stringify(golds)}
print(metric('sst2', p, g), metric('mrpc', p, g), metric('cola', p, g), metric('stsb', ${JSON.stringify(reg)}, ${JSON.stringify(regGold)}))`]);
    const [acc, f1, mcc, pearson] = out.trim().split(' ').map(Number);
    const cls = computeTaskMetrics(loadTask('mrpc'), preds, golds);
    expect(acc).toBeCloseTo(cls.accuracy, 12);
    expect(f1).toBeCloseTo(cls.f1, 12);
    expect(mcc).toBeCloseTo(computeTaskMetrics(loadTask('cola'), preds, golds).mcc, 12);
    expect(pearson).toBeCloseTo(computeTaskMetrics(loadTask('stsb'), reg, regGold).pearson, 12);
  });
});

describe.skipIf(!py.python || !HAVE_SHARED)('teacher.py split → corpus → pretrain → finetune → export, then the toolkit', () => {
  it('holds out rows without overlap, pre-trains and fine-tunes a tiny HF teacher, and `distill cache` / `eval` accept its export', async () => {
    const dir = tempDir('teacher-py-');
    // A 200-row SST-2 slice keeps the run short; the split is the script's own.
    const glue = path.join(dir, 'glue');
    fs.mkdirSync(path.join(glue, 'SST-2'), { recursive: true });
    const head = (f: string, n: number) => fs.readFileSync(path.join(SHARED, 'glue/SST-2', f), 'utf8').split('\n').slice(0, n + 1).join('\n') + '\n';
    fs.writeFileSync(path.join(glue, 'SST-2/train.tsv'), head('train.tsv', 200));
    fs.writeFileSync(path.join(glue, 'SST-2/dev.tsv'), head('dev.tsv', 40));
    const data = path.join(dir, 'data');
    python([SCRIPT, 'split', '--task', 'sst2', '--glue', glue, '--out', data, '--holdout', '30']);
    const rows = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n');
    const train = rows(path.join(data, 'train.tsv'));
    const held = rows(path.join(data, 'dev.tsv'));
    expect([train.length, held.length]).toEqual([171, 31]); // header + rows
    expect(held[0]).toBe(train[0]);
    const original = rows(path.join(glue, 'SST-2/train.tsv')).slice(1);
    expect([...train.slice(1), ...held.slice(1)].sort()).toEqual([...original].sort());

    // Pre-training: the corpus holds train and test text, never the dev split that is reported.
    fs.writeFileSync(path.join(glue, 'SST-2/test.tsv'), 'index\tsentence\n0\ta sentence only the test split has .\n');
    const corpus = path.join(dir, 'corpus.txt');
    python([SCRIPT, 'corpus', '--glue', glue, '--out', corpus, '--wordnet', '']);
    const lines = new Set(rows(corpus));
    expect(lines.has('a sentence only the test split has .')).toBe(true);
    expect(original.every((r) => lines.has(r.split('\t')[0].trim()))).toBe(true);
    for (const r of rows(path.join(glue, 'SST-2/dev.tsv')).slice(1)) if (!original.some((o) => o.startsWith(r.split('\t')[0] + '\t'))) expect(lines.has(r.split('\t')[0])).toBe(false);
    const vocab = path.join(SHARED, 'vocab/bert-base-uncased-vocab.txt');
    const tiny = ['--layers', '4', '--hidden', '32', '--heads', '2', '--ffn', '64', '--max-length', '32', '--threads', '1'];
    const pre = path.join(dir, 'pretrained');
    python([SCRIPT, 'pretrain', '--corpus', corpus, '--vocab', vocab, '--work', path.join(dir, 'pre-work'), '--out', pre, ...tiny, '--steps', '6', '--batch', '8', '--log-every', '3']);
    const preSummary = JSON.parse(fs.readFileSync(path.join(pre, 'summary.json'), 'utf8'));
    expect(preSummary.history.map((h: { step: number }) => h.step)).toEqual([3, 6]);
    expect(preSummary.history.every((h: { loss: number }) => Number.isFinite(h.loss) && h.loss > 0)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(pre, 'config.json'), 'utf8')).architectures).toEqual(['BertForMaskedLM']);

    const teacher = path.join(dir, 'teacher');
    python([SCRIPT, 'finetune', '--task', 'sst2', '--data', data, '--glue', glue, '--vocab', vocab,
      '--work', path.join(dir, 'work'), '--out', teacher, ...tiny, '--steps', '4', '--eval-every', '2', '--init', pre]);
    const summary = JSON.parse(fs.readFileSync(path.join(teacher, 'summary.json'), 'utf8'));
    expect(summary.metric).toBe('accuracy');
    expect(summary.init).toBe('masked-LM pre-trained');
    const config = JSON.parse(fs.readFileSync(path.join(teacher, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: '0', 1: '1' });
    expect(fs.existsSync(path.join(teacher, 'onnx/model.onnx'))).toBe(true);

    // The ensemble scorer (onnxruntime, mean of probabilities): one teacher twice is that teacher.
    const ens = path.join(dir, 'ensemble.json');
    python([SCRIPT, 'ensemble', '--task', 'sst2', '--glue', glue, '--teachers', teacher, teacher, '--out', ens, '--max-length', '32']);
    const scored = JSON.parse(fs.readFileSync(ens, 'utf8'));
    expect(scored.dev).toBeCloseTo(summary.dev, 9);
    expect(scored.members.map((m: { dev: number }) => m.dev)).toEqual([scored.dev, scored.dev]);

    // The toolkit scores the export on the same dev rows with the same accuracy PyTorch reported.
    const json = path.join(dir, 'eval.json');
    const ev = await runCli(['eval', '--model', teacher, '--task', 'sst2', '--data', path.join(glue, 'SST-2'), '--max-length', '32', '--json', json, '--quiet']);
    expect(ev.code, ev.err).toBe(0);
    expect(JSON.parse(fs.readFileSync(json, 'utf8')).models[0].metrics.accuracy).toBeCloseTo(summary.dev, 6);
    // ... and caches it with every layer and attention map found by graph structure.
    const cache = await runCli(['cache', '--task', 'sst2', '--teacher', teacher, '--data', data, '--max-length', '32', '--out', path.join(dir, 'run'), '--quiet']);
    expect(cache.code, cache.err).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'run/cache/manifest.json'), 'utf8'));
    expect(manifest.complete).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 240_000);
});
