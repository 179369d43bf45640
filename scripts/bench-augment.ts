/**
 * Masked-LM augmentation speed: sentences per second for the batched candidate search (rows of
 * all sentences sorted by length and packed into big batches) against a one-sentence-at-a-time loop
 * doing the same work (TinyBERT's loop: one forward pass per masked word), in one run. Both use the
 * rewritten graph that scores only masked positions; a third timing runs TinyBERT's loop on the
 * unmodified graph (all positions' logits, top-k in JS). All must give the same candidates; the
 * script checks that and prints the ratios.
 *
 *   npx tsx scripts/bench-augment.ts [--mlm DIR] [--sentences N] [--data FILE.tsv] [--batch ROWS] [--provider auto|cpu|cuda]
 *
 * Defaults: the tiny fixture MLM, 200 sentences from ../shared/glue/SST-2/train.tsv (else made-up
 * sentences). A bigger model with BERT's vocabulary: see scripts/make_tiny_mlm_onnx.py --help.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openMlmFolder } from '../src/augment/mlm-folder.ts';
import { mlmCandidates, type MlmQuery } from '../src/augment/mlm.ts';
import { basicTokenize, isEligibleWord } from '../src/augment/words.ts';
import type { ProviderPreference } from '../src/teacher/session.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const root = path.resolve(import.meta.dirname, '..');
const mlmDir = arg('mlm', path.join(root, 'test/fixtures/tiny-mlm'));
const count = Number(arg('sentences', '200'));
const dataFile = arg('data', path.join(root, '../shared/glue/SST-2/train.tsv'));
const batchRows = Number(arg('batch', '256'));
const k = 15;

const mlm = await openMlmFolder(mlmDir, { k, provider: arg('provider', 'auto') as ProviderPreference, maxBatchRows: batchRows });
const { model, pieces } = mlm.source;

let sentences: string[];
if (fs.existsSync(dataFile)) {
  sentences = fs.readFileSync(dataFile, 'utf8').split('\n').slice(1).filter(Boolean).slice(0, count).map((l) => l.split('\t')[0]);
} else {
  const words = model.vocab.filter((w) => /^[a-z]{3,}$/.test(w));
  sentences = Array.from({ length: count }, (_, s) => Array.from({ length: 5 + (s % 15) }, (_, i) => words[(s * 31 + i * 7) % words.length]).join(' '));
}

/** The MLM queries of one sentence: each eligible single-piece word, masked in turn. */
function queriesOf(sentence: string): MlmQuery[] {
  const words = basicTokenize(sentence);
  const p = words.map((w) => pieces(w));
  return words.flatMap((w, word) => (isEligibleWord(w) && p[word].length === 1 ? [{ pieces: p, word }] : []));
}
const perSentence = sentences.map(queriesOf);
const rows = perSentence.reduce((a, q) => a + q.length, 0);

// Warm-up (session initialisation, first allocations) outside the timings.
await mlmCandidates(perSentence[0], model, { k, maxBatchRows: 1 });

let t0 = performance.now();
const batched = await mlmCandidates(perSentence.flat(), model, { k, maxBatchRows: batchRows });
const batchedSec = (performance.now() - t0) / 1000;

t0 = performance.now();
const looped: (string[] | undefined)[] = [];
for (const q of perSentence) looped.push(...(await mlmCandidates(q, model, { k, maxBatchRows: 1, sortByLength: false })));
const loopSec = (performance.now() - t0) / 1000;

// TinyBERT's loop as written: the plain graph, every position scored, one masked word per run.
const plain = await openMlmFolder(mlmDir, { k, provider: arg('provider', 'auto') as ProviderPreference, fastPath: false, notice: () => {} });
await mlmCandidates(perSentence[0], plain.source.model, { k, maxBatchRows: 1 });
t0 = performance.now();
const plainLooped: (string[] | undefined)[] = [];
for (const q of perSentence) plainLooped.push(...(await mlmCandidates(q, plain.source.model, { k, maxBatchRows: 1, sortByLength: false })));
const plainSec = (performance.now() - t0) / 1000;

await mlm.session.release();
await plain.session.release();
const same = JSON.stringify(batched) === JSON.stringify(looped) && JSON.stringify(batched) === JSON.stringify(plainLooped);
console.log(
  JSON.stringify(
    {
      mlm: mlmDir,
      vocab: model.vocab.length,
      provider: mlm.session.provider,
      sentences: sentences.length,
      maskedRows: rows,
      batchRows,
      batched: { seconds: +batchedSec.toFixed(3), sentencesPerSecond: +(sentences.length / batchedSec).toFixed(1) },
      oneAtATime: { seconds: +loopSec.toFixed(3), sentencesPerSecond: +(sentences.length / loopSec).toFixed(1) },
      oneAtATimeAllPositions: { seconds: +plainSec.toFixed(3), sentencesPerSecond: +(sentences.length / plainSec).toFixed(1) },
      speedup: +(loopSec / batchedSec).toFixed(2),
      speedupOverAllPositionsLoop: +(plainSec / batchedSec).toFixed(2),
      sameCandidates: same,
    },
    null,
    2,
  ),
);
if (!same) process.exitCode = 1;
