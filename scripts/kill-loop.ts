/**
 * kill -9 at random moments, then resume: does the result match an uninterrupted run byte for
 * byte, and is anything left behind? On a tiny fixture (the test teacher, synthetic SST-2 data):
 *
 *   npx tsx scripts/kill-loop.ts [--kills 20] [--examples 240] [--seed 1] [--keep]
 *
 * 1. Reference: `distill cache` then `distill train` run uninterrupted (their durations set the
 *    kill window).
 * 2. Cache, N trials: a fresh folder, `distill cache` killed with SIGKILL at a uniformly random
 *    moment of the reference duration, then the same command again until it succeeds; every cache
 *    file (shards, index, build.json, manifest) is compared with the reference.
 * 3. Train, N trials: the reference cache copied in, `distill train` killed the same way, then
 *    `distill train --resume` (or `--force` when the kill came before the first checkpoint, which
 *    --resume refuses); student weights, train-summary steps and the latest checkpoint's tensors
 *    are compared with the reference.
 * After each trial, temporaries (*.tmp), moved-aside locks and lock files are counted.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { sha256 } from '../src/util/hash.ts';
import { Rng } from '../src/util/rng.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'distill.mjs');
const { values } = parseArgs({
  options: { kills: { type: 'string', default: '20' }, examples: { type: 'string', default: '240' }, seed: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } },
});
const kills = Number(values.kills);
const rng = new Rng(Number(values.seed));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kill-loop-'));

// Synthetic SST-2 data over the fixture vocabulary.
const WORDS = 'the movie film story plot acting good great bad awful fun boring love hate best worst very really so too more most one two some'.split(' ');
const data = path.join(work, 'data');
fs.mkdirSync(data);
const dataRng = new Rng(7);
const rows = (n: number) => ['sentence\tlabel', ...Array.from({ length: n }, () => `${Array.from({ length: 1 + dataRng.int(14) }, () => WORDS[dataRng.int(WORDS.length)]).join(' ')}\t${dataRng.int(2)}`)].join('\n') + '\n';
fs.writeFileSync(path.join(data, 'train.tsv'), rows(Number(values.examples)));
fs.writeFileSync(path.join(data, 'dev.tsv'), rows(16));

const config = {
  task: 'sst2',
  teacher: { dir: path.join(ROOT, 'test/fixtures/tiny-bert-opset17') },
  data: { dir: data, maxLength: 24 },
  backend: 'cpu',
  threads: 1,
  cache: { dtype: 'float32', batchSize: 8, shardMb: 0.05 },
  student: { hiddenSize: 16, numLayers: 1, numHeads: 4, intermediateSize: 32, maxPositions: 40 },
  distill: {
    batchSize: 8,
    checkpointEvery: 5,
    evalEvery: 10,
    stages: [
      { name: 'intermediate', steps: 20, lr: 1e-3, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
      { name: 'prediction', steps: 20, lr: 1e-3, losses: [{ name: 'kd_ce' }] },
    ],
  },
  ema: { enabled: true, updateAfterStep: 0, updateEvery: 1 },
};
const configFile = path.join(work, 'config.json');
fs.writeFileSync(configFile, JSON.stringify(config));

const args = (cmd: string, out: string, ...extra: string[]) => [BIN, cmd, '--config', configFile, '--out', out, '--quiet', ...extra];

function runToEnd(argv: string[]): { code: number; err: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  return { code: r.status ?? -1, err: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** Starts argv and SIGKILLs it after `ms`; true when the kill landed (the process was still running). */
async function killAfter(argv: string[], ms: number): Promise<boolean> {
  const p = spawn(process.execPath, argv, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
  const timer = new Promise<'timer'>((resolve) => setTimeout(() => resolve('timer'), ms));
  const first = await Promise.race([exited.then(() => 'exit' as const), timer]);
  if (first === 'exit') return false;
  p.kill('SIGKILL');
  await exited;
  return true;
}

function files(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : [];
}

const leftovers = (dir: string) => files(dir).filter((f) => /\.tmp$|\.stale$|\.lock(\.[\w-]+)?$/.test(f) || /\.tmp[\\/]/.test(f));

/** sha256 of every cache file that defines its content (progress files and verification stamps vary). */
function cacheDigest(dir: string): string {
  const keep = files(dir).filter((f) => !/^progress|verified\.json|\.lock/.test(f)).sort();
  return sha256(keep.map((f) => `${f}:${sha256(fs.readFileSync(path.join(dir, f)))}`).join('\n'));
}

function trainDigest(out: string): string {
  const ck = path.join(out, 'checkpoints');
  const latest = JSON.parse(fs.readFileSync(path.join(ck, 'latest.json'), 'utf8')).folder as string;
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'train-summary.json'), 'utf8'));
  return sha256(
    [
      sha256(fs.readFileSync(path.join(out, 'student', 'model.safetensors'))),
      sha256(fs.readFileSync(path.join(ck, latest, 'tensors.safetensors'))),
      JSON.stringify({ steps: summary.steps, finalLoss: summary.finalLoss, best: summary.best }),
    ].join('\n'),
  );
}

console.log(`kill-loop in ${work}: ${kills} kills each for cache and train; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const ref = path.join(work, 'ref');
const refCache = runToEnd(args('cache', ref));
if (refCache.code !== 0) throw new Error(`reference cache failed:\n${refCache.err}`);
const refTrain = runToEnd(args('train', ref));
if (refTrain.code !== 0) throw new Error(`reference train failed:\n${refTrain.err}`);
const cacheRef = cacheDigest(path.join(ref, 'cache'));
const trainRef = trainDigest(ref);
const shardCount = files(path.join(ref, 'cache', 'shards')).length;
console.log(`reference: cache ${refCache.seconds.toFixed(1)} s (${shardCount} shards), train ${refTrain.seconds.toFixed(1)} s (40 steps)`);

interface Tally {
  landed: number;
  identical: number;
  leftovers: number;
  restarts: number;
  notes: string[];
}

async function trials(kind: 'cache' | 'train', window: number): Promise<Tally> {
  const t: Tally = { landed: 0, identical: 0, leftovers: 0, restarts: 0, notes: [] };
  for (let i = 0; t.landed < kills && i < kills * 4; i++) {
    const out = path.join(work, `${kind}-${i}`);
    if (kind === 'train') fs.cpSync(path.join(ref, 'cache'), path.join(out, 'cache'), { recursive: true });
    const ms = Math.round(window * 1000 * rng.next());
    if (!(await killAfter(args(kind, out), ms))) {
      fs.rmSync(out, { recursive: true, force: true });
      continue; // finished before the kill: not counted
    }
    t.landed++;
    let r = runToEnd(args(kind, out, ...(kind === 'train' ? ['--resume'] : [])));
    if (kind === 'train' && r.code === 1 && /holds no checkpoint/.test(r.err)) {
      t.restarts++;
      r = runToEnd(args(kind, out, '--force'));
    }
    if (r.code !== 0) {
      t.notes.push(`trial ${i} (kill at ${ms} ms): resume exited ${r.code}: ${r.err.trim().split('\n').slice(-2).join(' / ')}`);
      continue;
    }
    const same = kind === 'cache' ? cacheDigest(path.join(out, 'cache')) === cacheRef : trainDigest(out) === trainRef;
    if (same) t.identical++;
    else t.notes.push(`trial ${i} (kill at ${ms} ms): result differs from the uninterrupted run`);
    const left = leftovers(out);
    t.leftovers += left.length;
    if (left.length) t.notes.push(`trial ${i}: left ${left.join(', ')}`);
    if (!values.keep) fs.rmSync(out, { recursive: true, force: true });
  }
  return t;
}

for (const [kind, seconds] of [['cache', refCache.seconds], ['train', refTrain.seconds]] as const) {
  const t = await trials(kind, seconds);
  console.log(`${kind}: ${t.identical}/${t.landed} identical after kill -9 + resume, ${t.leftovers} leftover temp/lock files${kind === 'train' ? `, ${t.restarts} killed before the first checkpoint (restarted with --force)` : ''}`);
  for (const n of t.notes) console.log(`  ${n}`);
}
if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
