import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { runCli, tempDir, TINY_RUN, TINY_STAGES, writeConfig } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The whole pipeline on the tiny ONNX fixture teacher and the SST-2 layout fixture: every stage wired. */
it('distill run: cache → train → export → eval → report, then refuses to overwrite without --resume/--force', async () => {
  const dir = tempDir('cli-run-');
  const config = writeConfig(dir, {
    ...TINY_RUN,
    out: 'run',
    distill: TINY_STAGES,
    ema: { enabled: true, updateAfterStep: 0, updateEvery: 1 },
    eval: { latencyBatchSizes: [1, 2], latencyRuns: 1 },
    export: { quantize: true },
  });
  const r = await runCli(['run', '--config', config, '--quiet']);
  expect(r.err).not.toContain('internal error');
  expect(r.code).toBe(0);
  const out = path.join(dir, 'run');
  for (const f of ['resolved-config.json', 'cache/manifest.json', 'train-log.jsonl', 'train-summary.json', 'student/model.safetensors', 'student-onnx/onnx/model.onnx', 'student-onnx/onnx/model_quantized.onnx', 'eval.json', 'report.html']) {
    expect(fs.existsSync(path.join(out, f)), f).toBe(true);
  }
  expect(JSON.parse(fs.readFileSync(path.join(out, 'resolved-config.json'), 'utf8')).student.hiddenSize).toBe(16);
  const log = fs.readFileSync(path.join(out, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(log.filter((x) => x.type === 'step').map((x) => x.stage)).toEqual(['intermediate', 'intermediate', 'prediction', 'prediction']);
  expect(log.some((x) => x.type === 'eval' && x.model === 'ema')).toBe(true);
  const ev = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8'));
  expect(ev.models.map((m: { name: string }) => m.name)).toEqual(['teacher', 'student', 'student int8']);
  expect(ev.models[2].agreement).toBeGreaterThanOrEqual(0);
  for (const m of ev.models) {
    expect(m.metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(m.params).toBeGreaterThan(0);
    expect(Object.keys(m.latencyMs)).toEqual(['1', '2']);
  }
  expect(ev.models[1].params).toBeLessThan(ev.models[0].params);
  expect(r.out).toMatch(/teacher: accuracy [\d.]+/);
  expect(r.out).toMatch(/student: accuracy [\d.]+ \([\d.]+% of teacher\)/);
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(3);
  expect(html).toContain('<td>teacher</td>');
  // The report's story from the run's own files: the kept checkpoint (train-summary.json) on the curves, in the
  // table and in a sentence; the int8 row; the confusion matrix; every stage's runtime and wall time (stages.json).
  const kept = JSON.parse(fs.readFileSync(path.join(out, 'train-summary.json'), 'utf8')).best;
  const keptName = kept.model === 'ema' ? 'EMA' : 'raw';
  expect(html).toContain(`kept: ${keptName} @ ${kept.step}</text>`);
  expect(html).toContain(`<td>student (${keptName} weights, step ${kept.step})</td>`);
  expect(html).toMatch(/<tr class="int8"><td>student int8<\/td>/);
  expect(html).toContain('<table class="compare confusion">');
  const stageRows = [...html.matchAll(/<tr><td>([a-z]+)<\/td><td>([^<]+)<\/td><td>[^<]+<\/td><td>([\d.]+) s<\/td><\/tr>/g)].map((m) => [m[1], m[2]]);
  expect(stageRows.map((x) => x[0])).toEqual(['cache', 'train', 'export', 'eval']);
  expect(stageRows[1][1]).toMatch(/^tfjs cpu/);
  // The exported folder's model card carries the measured results, fp32 and int8, and the recipe.
  const card = fs.readFileSync(path.join(out, 'student-onnx', 'README.md'), 'utf8');
  expect(card).toContain('## Results (sst2 dev)');
  expect(card).toMatch(/\| student \| [\d.]+k? \| [\d.]+ KiB \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ \| [\d.]+% \| – \|/);
  expect(card).toMatch(/\| student int8 \| .* \| [\d.]+% \| [\d.]+% \|$/m);
  expect(card).toContain(`Kept: the ${keptName} weights at step ${kept.step}`);
  expect(card).toContain('| intermediate | 2 | 0.001 | hidden_mse + attention_mse |');
  expect(r.progress).toMatch(/\[train:prediction\] 2\/2 100%/); // quiet mode: plain progress lines
  expect(r.progress).toMatch(/\[cache\] 3\/3 100%/);

  const again = await runCli(['run', '--config', config, '--quiet']);
  expect(again.code).toBe(1);
  expect(again.err).toContain('holds a training run; use --resume to continue it or --force to start over');

  // eval of one folder, a saved student included, from flags alone
  const one = await runCli(['eval', '--model', out, '--task', 'sst2', '--data', path.join(ROOT, 'test/fixtures/glue/SST-2'), '--max-length', '32', '--backend', 'cpu']);
  expect(one.code).toBe(0);
  expect(one.out).toMatch(/student: accuracy [\d.]+/);
});

it('distill augment from flags alone writes the augmented training split', async () => {
  const dir = tempDir('cli-aug-');
  const r = await runCli([
    'augment', '--teacher', path.join(ROOT, 'test/fixtures/tiny-bert-opset17'), '--task', 'sst2',
    '--data', path.join(ROOT, 'test/fixtures/glue/SST-2'), '--out', dir, '--per-example', '2', '--quiet',
  ]);
  expect(r.err).not.toContain('internal error');
  expect(r.code).toBe(0);
  const rows = fs.readFileSync(path.join(dir, 'augmented', 'train.tsv'), 'utf8').trim().split('\n');
  expect(rows[0]).toBe('sentence\tlabel');
  expect(rows.length).toBeGreaterThan(4); // the 3 originals plus at least one new sentence
  expect(r.err).toMatch(/augmented 3 examples into \d+ rows/);
});
