/**
 * The real-GLUE user path in miniature: a tiny teacher over the BERT uncased vocabulary exported to an
 * HF ONNX folder, then `distill cache` → `distill train` (two stages) → `distill export` → `distill eval`
 * on a slice of the real SST-2 files, and the hard-label student with the same steps. Skipped, with a
 * message, when ../shared/glue or ../shared/vocab is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportStudent } from '../../src/export/export.ts';
import { saveStudentFolder } from '../../src/student/folder.ts';
import { Student } from '../../src/student/model.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../../src/student/config.ts';
import { runCli, tempDir } from '../cli/helpers.ts';

const SHARED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');
const SST2 = path.join(SHARED, 'glue/SST-2');
const VOCAB = path.join(SHARED, 'vocab/bert-base-uncased-vocab.txt');
const HAVE = fs.existsSync(SST2) && fs.existsSync(VOCAB);
if (!HAVE) console.warn(`real-GLUE smoke test skipped: ${SST2} or ${VOCAB} is absent`);

/** The header and the first `n` rows of a GLUE TSV. */
function slice(file: string, n: number): string {
  return fs.readFileSync(file, 'utf8').split('\n').slice(0, n + 1).join('\n') + '\n';
}

/** A random 2-layer teacher over the real BERT vocabulary: the smoke test checks plumbing, not accuracy. */
const TINY_TEACHER: BertConfig = {
  ...DEFAULT_BERT_CONFIG,
  hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32,
  vocab_size: 30522, num_labels: 2, problem_type: 'single_label_classification',
  id2label: { '0': '0', '1': '1' }, label2id: { '0': 0, '1': 1 },
};

describe.skipIf(!HAVE)('real SST-2 slice through the CLI (cache → train → export → eval)', () => {
  it('distils and trains on hard labels a few steps each, exports and scores the students', async () => {
    const dir = tempDir('realglue-smoke-');
    const data = path.join(dir, 'SST-2');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'train.tsv'), slice(path.join(SST2, 'train.tsv'), 48));
    fs.writeFileSync(path.join(data, 'dev.tsv'), slice(path.join(SST2, 'dev.tsv'), 24));

    const teacherModel = Student.create(TINY_TEACHER, 3);
    await saveStudentFolder(teacherModel, VOCAB, path.join(dir, 'teacher-saved'));
    teacherModel.dispose();
    const teacher = path.join(dir, 'teacher');
    await exportStudent({ studentFolder: path.join(dir, 'teacher-saved'), outDir: teacher });

    const config = (name: string, stages: unknown[]) => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify({
        task: 'sst2', teacher: { dir: teacher, threads: 1 }, data: { dir: data, maxLength: 32 }, out: path.join(dir, name), seed: 42,
        student: { hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16, maxPositions: 32 },
        distill: { batchSize: 8, evalEvery: 2, stages }, report: { enabled: false },
      }));
      return file;
    };
    const distilled = config('distilled', [
      { name: 'intermediate', steps: 2, lr: 1e-3, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
      { name: 'prediction', steps: 2, lr: 1e-3, losses: [{ name: 'kd_ce' }] },
    ]);
    const hard = config('hard', [{ name: 'hard', steps: 4, lr: 1e-3, losses: [{ name: 'ce' }] }]);

    const ok = async (argv: string[]) => {
      const r = await runCli([...argv, '--quiet']);
      expect(r.code, `distill ${argv.join(' ')}:\n${r.err}`).toBe(0);
      return r;
    };
    await ok(['cache', '--config', distilled]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'distilled/cache/manifest.json'), 'utf8'));
    expect(manifest.complete).toBe(true);
    for (const [name, file] of [['distilled', distilled], ['hard', hard]] as const) {
      await ok(['train', '--config', file]);
      const summary = JSON.parse(fs.readFileSync(path.join(dir, name, 'train-summary.json'), 'utf8'));
      expect(summary.steps).toBe(4);
      expect(Number.isFinite(summary.finalLoss)).toBe(true);
      await ok(['export', '--config', file]);
      const json = path.join(dir, `${name}-eval.json`);
      await ok(['eval', '--model', path.join(dir, name, 'student-onnx'), '--task', 'sst2', '--data', data, '--max-length', '32', '--json', json]);
      const row = JSON.parse(fs.readFileSync(json, 'utf8')).models[0];
      expect(row.metrics.accuracy).toBeGreaterThanOrEqual(0);
      expect(row.metrics.accuracy).toBeLessThanOrEqual(1);
      expect(row.params).toBeGreaterThan(30522 * 8);
    }
    // The distilled run logged both stages, the intermediate one with hidden and attention losses.
    const log = fs.readFileSync(path.join(dir, 'distilled/train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const stages = new Set(log.map((r) => r.stage).filter(Boolean));
    expect([...stages]).toEqual(expect.arrayContaining(['intermediate', 'prediction']));
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
