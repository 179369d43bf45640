/**
 * The bad-input battery: every case is a mistake a user can make (data, teacher, config, cache,
 * checkpoint, output folder, full disk). Each must end with exit code 1, a message naming the file /
 * line / key at fault, no "internal error", and no change to what was on disk before (no leftover
 * output, no temporaries). Runs the CLI in-process; one small cache + training run is built once
 * and copied for the cases that damage it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digests } from '../cache/helpers.ts';
import { runCli, tempDir, TINY_RUN } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TEACHER = path.join(ROOT, 'test/fixtures/tiny-bert-opset17');
const OTHER_TEACHER = path.join(ROOT, 'test/fixtures/tiny-bert-opset14');
const DATA = path.join(ROOT, 'test/fixtures/glue/SST-2');

const CONFIG = {
  ...TINY_RUN,
  out: 'out',
  distill: {
    batchSize: 2,
    stages: [
      { name: 'intermediate', steps: 2, lr: 1e-3, losses: [{ name: 'hidden_mse' }] },
      { name: 'prediction', steps: 2, lr: 1e-3, losses: [{ name: 'kd_ce' }] },
    ],
  },
  ema: { enabled: true, updateAfterStep: 0, updateEvery: 1 },
};

const scratch = tempDir('bad-input-');
let golden = ''; // a folder with config.json and out/ (cache + a finished 4-step run)
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  golden = path.join(scratch, 'golden');
  fs.mkdirSync(golden);
  fs.writeFileSync(path.join(golden, 'config.json'), JSON.stringify(CONFIG));
  for (const cmd of ['cache', 'train']) {
    const r = await runCli([cmd, '--config', path.join(golden, 'config.json'), '--quiet']);
    if (r.code !== 0) throw new Error(`${cmd} of the golden run failed: ${r.err}`);
  }
}, 180_000);

interface Ctx {
  dir: string;
  config: string;
  out: string;
}

interface Case {
  name: string;
  /** Start from a copy of the golden run (cache + checkpoints) instead of an empty folder with the config. */
  fromRun?: boolean;
  prepare?: (c: Ctx) => void;
  args: (c: Ctx) => string[];
  expect: RegExp;
  /** Folder that must be unchanged (default: the case folder). */
  watch?: (c: Ctx) => string;
}

const tr = (c: Ctx, ...extra: string[]) => ['train', '--config', c.config, '--quiet', ...extra];
const ca = (c: Ctx, ...extra: string[]) => ['cache', '--config', c.config, '--quiet', ...extra];
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};
const flip = (file: string, at = 12) => {
  const b = fs.readFileSync(file);
  b[Math.min(at, b.length - 1)] ^= 0xff;
  fs.writeFileSync(file, b);
};
const editJson = (file: string, edit: (j: Record<string, any>) => void) => {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j));
};
const latestDir = (c: Ctx) => path.join(c.out, 'checkpoints', JSON.parse(fs.readFileSync(path.join(c.out, 'checkpoints', 'latest.json'), 'utf8')).folder);
const bestDir = (c: Ctx) => path.join(c.out, 'checkpoints', JSON.parse(fs.readFileSync(path.join(c.out, 'checkpoints', 'best.json'), 'utf8')).folder);
const shard0 = (c: Ctx) => path.join(c.out, 'cache', 'shards', 'shard-000000.bin');
/** A copy of the fixture teacher (or data) to damage. */
const copyOf = (c: Ctx, src: string, name: string) => {
  const dst = path.join(c.dir, name);
  fs.cpSync(src, dst, { recursive: true });
  return dst;
};
const liveLock = (file: string) => write(file, JSON.stringify({ pid: process.ppid, host: os.hostname(), started: '2026-01-01T00:00:00Z', command: 'train --config other.json' }));
const dataWith = (c: Ctx, train: string) => {
  const d = path.join(c.dir, 'data');
  write(path.join(d, 'train.tsv'), train);
  fs.copyFileSync(path.join(DATA, 'dev.tsv'), path.join(d, 'dev.tsv'));
  return d;
};

const CONFIG_CASES: Case[] = [
  { name: 'config file missing', args: (c) => ['train', '--config', path.join(c.dir, 'nope.json')], expect: /config file .*nope\.json does not exist/ },
  { name: 'config is a folder', prepare: (c) => fs.mkdirSync(path.join(c.dir, 'cfgdir')), args: (c) => ['train', '--config', path.join(c.dir, 'cfgdir')], expect: /cfgdir is a folder; expected a JSON or YAML file/ },
  { name: 'invalid JSON: line and column', prepare: (c) => write(c.config, '{\n  "task": "sst2",\n  "seed": 1,\n}\n'), args: (c) => tr(c), expect: /config\.json is not valid JSON: .*line 4, column 1/ },
  { name: 'invalid YAML', prepare: (c) => write(path.join(c.dir, 'c.yaml'), 'task: [sst2\nseed: 1\n'), args: (c) => ['train', '--config', path.join(c.dir, 'c.yaml')], expect: /c\.yaml is not valid YAML/ },
  { name: 'top level is an array', prepare: (c) => write(c.config, '[1, 2]'), args: (c) => tr(c), expect: /config\.json: expected an object at the top level/ },
  { name: 'unknown top-level key', args: (c) => tr(c, '--set', 'bogus=1'), expect: /bogus: unknown key "bogus"/ },
  { name: 'unknown nested key', args: (c) => tr(c, '--set', 'distill.bogus=1'), expect: /distill\.bogus: unknown key "bogus" \(allowed keys: .*stages/ },
  { name: 'seed not a number', args: (c) => tr(c, '--set', 'seed="x"'), expect: /seed: expected number, got "x"/ },
  { name: 'unknown backend', args: (c) => tr(c, '--set', 'backend=gpu9'), expect: /backend: got "gpu9"; allowed values/ },
  { name: 'cache batch size 0', args: (c) => ca(c, '--set', 'cache.batchSize=0'), expect: /cache\.batchSize: must be >= 1, got 0/ },
  { name: 'max length too small', args: (c) => ca(c, '--max-length', '4'), expect: /data\.maxLength: must be >= 8, got 4/ },
  { name: '--set __proto__ refused', args: (c) => tr(c, '--set', '__proto__.polluted=1'), expect: /"__proto__" is not a config key/ },
  { name: '--set constructor.prototype refused', args: (c) => tr(c, '--set', 'constructor.prototype.x=1'), expect: /"constructor" is not a config key/ },
  { name: '--set without =', args: (c) => tr(c, '--set', 'seed'), expect: /--set expects key\.path=value, got "seed"/ },
  { name: '--max-length not an integer', args: (c) => ca(c, '--max-length', 'abc'), expect: /--max-length expects an integer, got "abc"/ },
  { name: 'unknown option', args: (c) => tr(c, '--bogus'), expect: /Unknown option '--bogus'/ },
  { name: 'no stages', args: (c) => tr(c, '--set', 'distill.stages=[]'), expect: /distill\.stages: must be >= 1 entries/ },
  { name: 'student too deep', args: (c) => tr(c, '--set', 'student.numLayers=100'), expect: /student\.numLayers: must be <= 48, got 100/ },
  { name: 'unknown loss name', args: (c) => tr(c, '--set', 'distill.stages.0.losses.0.name=nope'), expect: /distill\.stages\[0\]\.losses\[0\]\.name/ },
  { name: 'dropout above 1', args: (c) => tr(c, '--set', 'student.dropout=2'), expect: /student\.dropout: must be <= 1, got 2/ },
  { name: 'ema.beta not a number', args: (c) => tr(c, '--set', 'ema.beta="high"'), expect: /ema\.beta: expected number, got "high"/ },
  { name: 'quantize not a boolean', args: (c) => tr(c, '--set', 'export.quantize="yes"'), expect: /export\.quantize: expected boolean/ },
  { name: 'cache dtype unknown', args: (c) => ca(c, '--set', 'cache.dtype=float8'), expect: /cache\.dtype: got "float8"; allowed values/ },
  { name: 'teacher provider unknown', args: (c) => ca(c, '--provider', 'tpu'), expect: /teacher\.provider: got "tpu"/ },
  { name: 'negative batch size', args: (c) => tr(c, '--set', 'distill.batchSize=-1'), expect: /distill\.batchSize: must be >= 1, got -1/ },
  { name: 'max length above the teacher positions', args: (c) => ca(c, '--max-length', '64', '--set', 'student.maxPositions=80'), expect: /data\.maxLength: 64 exceeds the teacher's max_position_embeddings \(40\)/ },
  { name: 'unknown task name', args: (c) => ca(c, '--task', 'sst9'), expect: /sst9/ },
  { name: 'task file missing', args: (c) => ca(c, '--task', path.join(c.dir, 'task.json')), expect: /task\.json/ },
  { name: 'task file invalid JSON', prepare: (c) => write(path.join(c.dir, 'task.json'), '{"name": '), args: (c) => ca(c, '--task', path.join(c.dir, 'task.json')), expect: /task\.json/ },
  { name: 'student more heads than the teacher layers allow (mapping)', args: (c) => tr(c, '--set', 'student.numLayers=5'), expect: /teacher|numLayers|layers/ },
  { name: 'no config and no flags', args: () => ['train'], expect: /teacher|data|required/ },
];

const DATA_CASES: Case[] = [
  { name: 'data folder missing', args: (c) => ca(c, '--data', path.join(c.dir, 'nodata')), expect: /nodata/ },
  { name: 'train.tsv missing', prepare: (c) => fs.mkdirSync(path.join(c.dir, 'empty')), args: (c) => ca(c, '--data', path.join(c.dir, 'empty')), expect: /train\.tsv/ },
  { name: 'header without the sentence column', args: (c) => ca(c, '--data', dataWith(c, 'text\tlabel\nhello\t1\n')), expect: /train\.tsv.*sentence|sentence.*train\.tsv/ },
  { name: 'label outside the task labels', args: (c) => ca(c, '--data', dataWith(c, 'sentence\tlabel\ngood film\t1\nbad film\t7\n')), expect: /train\.tsv.*(line|row) 3|train\.tsv:3/ },
  { name: 'row with a missing field', args: (c) => ca(c, '--data', dataWith(c, 'sentence\tlabel\ngood film\t1\nbad film\n')), expect: /train\.tsv/ },
  { name: 'empty label', args: (c) => ca(c, '--data', dataWith(c, 'sentence\tlabel\ngood film\t\n')), expect: /train\.tsv/ },
  { name: 'header only', args: (c) => ca(c, '--data', dataWith(c, 'sentence\tlabel\n')), expect: /train\.tsv|no examples|empty/ },
  { name: 'unknown train split', args: (c) => ca(c, '--set', 'data.trainSplit=nope'), expect: /no split "nope"/ },
  { name: 'data path is a file', args: (c) => ca(c, '--data', path.join(DATA, 'train.tsv')), expect: /train\.tsv/ },
];

const TEACHER_CASES: Case[] = [
  { name: 'teacher folder missing', args: (c) => ca(c, '--teacher', path.join(c.dir, 'noteacher')), expect: /noteacher/ },
  { name: 'teacher config.json missing', args: (c) => { const t = copyOf(c, TEACHER, 't'); fs.rmSync(path.join(t, 'config.json')); return ca(c, '--teacher', t); }, expect: /config\.json/ },
  { name: 'teacher config.json invalid JSON', args: (c) => { const t = copyOf(c, TEACHER, 't'); write(path.join(t, 'config.json'), '{"hidden_size": '); return ca(c, '--teacher', t); }, expect: /t[\\/]config\.json/ },
  { name: 'teacher config without hidden_size', args: (c) => { const t = copyOf(c, TEACHER, 't'); editJson(path.join(t, 'config.json'), (j) => delete j.hidden_size); return ca(c, '--teacher', t); }, expect: /hidden_size/ },
  { name: 'teacher without an ONNX file', args: (c) => { const t = copyOf(c, TEACHER, 't'); fs.rmSync(path.join(t, 'onnx'), { recursive: true }); return ca(c, '--teacher', t); }, expect: /model\.onnx|onnx/ },
  { name: 'teacher ONNX file is garbage', args: (c) => { const t = copyOf(c, TEACHER, 't'); write(path.join(t, 'onnx', 'model.onnx'), 'not a model'); return ca(c, '--teacher', t); }, expect: /model\.onnx/ },
  { name: 'teacher without a tokenizer', args: (c) => { const t = copyOf(c, TEACHER, 't'); fs.rmSync(path.join(t, 'vocab.txt')); return ca(c, '--teacher', t); }, expect: /vocab\.txt|tokenizer/ },
  { name: 'teacher vocabulary smaller than its embeddings', args: (c) => { const t = copyOf(c, TEACHER, 't'); editJson(path.join(t, 'config.json'), (j) => (j.vocab_size = 50)); return ca(c, '--teacher', t); }, expect: /vocab/ },
  { name: 'label map naming an unknown label', args: (c) => ca(c, '--label-map', 'happy=positive'), expect: /happy/ },
  { name: 'teacher num_labels differs from the task', args: (c) => { const t = copyOf(c, TEACHER, 't'); editJson(path.join(t, 'config.json'), (j) => { j.num_labels = 3; j.id2label = { 0: 'a', 1: 'b', 2: 'c' }; }); return ca(c, '--teacher', t); }, expect: /label|num_labels/ },
];

const CACHE_CASES: Case[] = [
  { name: 'train without a cache', fromRun: true, prepare: (c) => fs.rmSync(path.join(c.out, 'cache'), { recursive: true }), args: (c) => tr(c, '--force'), expect: /cache.* is not a finished teacher cache: no manifest\.json/ },
  { name: 'manifest invalid JSON', fromRun: true, prepare: (c) => write(path.join(c.out, 'cache', 'manifest.json'), '{"complete": tr'), args: (c) => tr(c, '--force'), expect: /manifest\.json is unreadable/ },
  { name: 'shard with a flipped byte', fromRun: true, prepare: (c) => flip(shard0(c)), args: (c) => tr(c, '--force'), expect: /shard-000000\.bin: checksum differs from the manifest/ },
  { name: 'shard truncated', fromRun: true, prepare: (c) => fs.truncateSync(shard0(c), 10), args: (c) => tr(c, '--force'), expect: /shard-000000\.bin: 10 bytes, expected/ },
  { name: 'shard missing', fromRun: true, prepare: (c) => fs.rmSync(shard0(c)), args: (c) => tr(c, '--force'), expect: /shard-000000\.bin: missing/ },
  { name: 'index damaged', fromRun: true, prepare: (c) => flip(path.join(c.out, 'cache', 'index.bin'), 3), args: (c) => tr(c, '--force'), expect: /index\.bin: checksum differs/ },
  { name: 'cache from another teacher', fromRun: true, args: (c) => tr(c, '--force', '--teacher', OTHER_TEACHER), expect: /teacher model \(cache: sha256 [0-9a-f]{10}…, now: sha256/ },
  { name: 'cache of another max length', fromRun: true, args: (c) => tr(c, '--force', '--max-length', '24'), expect: /maxLength \(cache: 32, now: 24\)/ },
  { name: 'cache of other data', fromRun: true, args: (c) => tr(c, '--force', '--data', dataWith(c, 'sentence\tlabel\nfine film\t1\ndull film\t0\nok film\t1\n')), expect: /data file \(cache: sha256/ },
  { name: 'cache rerun with other inputs', fromRun: true, args: (c) => ca(c, '--max-length', '24'), expect: /holds a teacher cache built from other inputs: maxLength \(cache: 32, now: 24\)/ },
  { name: 'cache folder of unrelated files', prepare: (c) => write(path.join(c.out, 'cache', 'notes.txt'), 'mine'), args: (c) => ca(c), expect: /is not a teacher cache \(it holds notes\.txt\)/ },
  { name: 'cache being built by another process', prepare: (c) => liveLock(path.join(c.out, 'cache', 'cache.lock')), args: (c) => ca(c), expect: /teacher cache .*cache is being written by process \d+ on .*train --config other\.json/ },
  { name: 'cache built as a part while a whole build runs', prepare: (c) => liveLock(path.join(c.out, 'cache', 'cache.lock')), args: (c) => ca(c, '--shard', '0/2'), expect: /is being written by process/ },
  { name: 'bad --shard', args: (c) => ca(c, '--shard', '3/2'), expect: /--shard 3\/2: expected 0 <= i < n/ },
];

const CHECKPOINT_CASES: Case[] = [
  { name: 'latest tensors with a flipped bit', fromRun: true, prepare: (c) => flip(path.join(latestDir(c), 'tensors.safetensors'), 400), args: (c) => tr(c, '--resume'), expect: /tensors\.safetensors is damaged: its sha256 .* differs from the one recorded in .*state\.json/ },
  { name: 'best tensors with a flipped bit', fromRun: true, prepare: (c) => flip(path.join(bestDir(c), 'tensors.safetensors'), 400), args: (c) => tr(c, '--resume'), expect: /best-\d+[\\/]tensors\.safetensors is damaged/ },
  { name: 'state.json not JSON', fromRun: true, prepare: (c) => write(path.join(latestDir(c), 'state.json'), '{"step": 4,'), args: (c) => tr(c, '--resume'), expect: /state\.json: checkpoint state is not valid JSON/ },
  { name: 'state.json without step', fromRun: true, prepare: (c) => write(path.join(latestDir(c), 'state.json'), '{}'), args: (c) => tr(c, '--resume'), expect: /state\.json: not a checkpoint state/ },
  { name: 'tensors file missing', fromRun: true, prepare: (c) => fs.rmSync(path.join(latestDir(c), 'tensors.safetensors')), args: (c) => tr(c, '--resume'), expect: /tensors\.safetensors is missing/ },
  { name: 'latest.json not JSON', fromRun: true, prepare: (c) => write(path.join(c.out, 'checkpoints', 'latest.json'), '{"folder":'), args: (c) => tr(c, '--resume'), expect: /latest\.json: checkpoint pointer is not valid JSON/ },
  { name: 'latest.json names a missing folder', fromRun: true, prepare: (c) => write(path.join(c.out, 'checkpoints', 'latest.json'), '{"folder": "latest-00000099"}'), args: (c) => tr(c, '--resume'), expect: /latest\.json names .*latest-00000099, which has no state\.json/ },
  { name: 'latest.json lost, folders kept', fromRun: true, prepare: (c) => fs.rmSync(path.join(c.out, 'checkpoints', 'latest.json')), args: (c) => tr(c, '--resume'), expect: /--resume: .*latest\.json is missing but .* holds latest-\d+/ },
  { name: '--resume with a log but no checkpoint', fromRun: true, prepare: (c) => fs.rmSync(path.join(c.out, 'checkpoints'), { recursive: true }), args: (c) => tr(c, '--resume'), expect: /--resume: .*train-log\.jsonl records an earlier run but .* holds no checkpoint/ },
  { name: 'changed lr on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'distill.stages.1.lr=0.002'), expect: /settings changed since the checkpoint: stages\[1\]\.lr \(0\.001 there, 0\.002 now\)/ },
  { name: 'changed loss on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'distill.stages.1.losses=[{"name":"kd_kl"}]'), expect: /stages\[1\]\.losses/ },
  { name: 'changed temperature on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'distill.stages.1.temperature=4'), expect: /stages\[1\]\.temperature \(/ },
  { name: 'changed gradClip on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'distill.gradClip=5'), expect: /maxGradNorm \(1 there, 5 now\)/ },
  { name: 'changed weight decay on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'distill.weightDecay=0.3'), expect: /optimizer\.weightDecay \(.* there, 0\.3 now\)/ },
  { name: 'changed dropout on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'student.dropout=0.3'), expect: /student\.hidden_dropout_prob \(0\.1 there, 0\.3 now\)/ },
  { name: 'changed EMA beta on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'ema.beta=0.5'), expect: /ema\.beta \(.* there, 0\.5 now\)/ },
  { name: 'changed batch size on resume (even with --allow-changed)', fromRun: true, args: (c) => tr(c, '--resume', '--allow-changed', '--set', 'distill.batchSize=1'), expect: /different batchSize \(2 there, 1 now\)/ },
  { name: 'changed seed on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'seed=7'), expect: /different seed \(42 there, 7 now\)|different seed/ },
  { name: 'changed steps on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'distill.stages.1.steps=3'), expect: /different stages/ },
  { name: 'EMA switched off on resume', fromRun: true, args: (c) => tr(c, '--resume', '--set', 'ema.enabled=false'), expect: /different ema \(true there, false now\)/ },
  { name: 'train again without --resume or --force', fromRun: true, args: (c) => tr(c), expect: /checkpoints holds a training run; use --resume to continue it or --force to start over/ },
  { name: 'training run locked by another process', fromRun: true, prepare: (c) => liveLock(path.join(c.out, 'train.lock')), args: (c) => tr(c, '--resume'), expect: /training run .*out is being written by process \d+/ },
];

const OUTPUT_CASES: Case[] = [
  { name: 'train --out is a file', prepare: (c) => write(path.join(c.dir, 'afile'), 'x'), args: (c) => tr(c, '--out', path.join(c.dir, 'afile'), '--set', `cache.dir=${path.join(c.dir, 'nocache')}`), expect: /afile/ },
  { name: 'cache --out under a file', prepare: (c) => write(path.join(c.dir, 'afile'), 'x'), args: (c) => ca(c, '--out', path.join(c.dir, 'afile', 'sub')), expect: /cannot use .*afile.*: a part of the path is a file/ },
  { name: 'cache --cache-dir is a file', prepare: (c) => write(path.join(c.dir, 'afile'), 'x'), args: (c) => ca(c, '--cache-dir', path.join(c.dir, 'afile')), expect: /afile/ },
  { name: 'export --out is a file', fromRun: true, prepare: (c) => write(path.join(c.dir, 'afile'), 'x'), args: (c) => ['export', '--model', path.join(c.out, 'student'), '--out', path.join(c.dir, 'afile'), '--force'], expect: /afile is a file; expected a folder/ },
  { name: 'export onto an existing folder without --force', fromRun: true, prepare: (c) => write(path.join(c.dir, 'exp', 'mine.txt'), 'x'), args: (c) => ['export', '--model', path.join(c.out, 'student'), '--out', path.join(c.dir, 'exp')], expect: /exp already exists \(use --force/ },
  { name: 'export of a missing student', args: (c) => ['export', '--model', path.join(c.dir, 'nostudent'), '--out', path.join(c.dir, 'exp')], expect: /nostudent/ },
  { name: 'export of a folder that is not a student', prepare: (c) => write(path.join(c.dir, 'notstudent', 'x.txt'), 'x'), args: (c) => ['export', '--model', path.join(c.dir, 'notstudent'), '--out', path.join(c.dir, 'exp')], expect: /notstudent[\\/]tokenizer\.json does not exist/ },
  { name: 'eval of a missing model', args: (c) => ['eval', '--model', path.join(c.dir, 'nomodel'), '--task', 'sst2', '--data', DATA], expect: /nomodel/ },
  { name: 'predict of a missing model', args: (c) => ['predict', '--model', path.join(c.dir, 'nomodel'), '--input', path.join(DATA, 'dev.tsv')], expect: /nomodel/ },
  { name: 'predict of a missing input file', fromRun: true, args: (c) => ['predict', '--model', path.join(c.out, 'student'), '--input', path.join(c.dir, 'none.tsv')], expect: /none\.tsv/ },
];

/** Every file under `dir` with its sha256 (empty when the folder does not exist); verified.json is a memo of checks, not output. */
const state = (dir: string) => (fs.existsSync(dir) ? Object.fromEntries(Object.entries(digests(dir)).filter(([f]) => !f.endsWith('verified.json'))) : {});

function runCases(cases: Case[]) {
  for (const k of cases) {
    it(k.name, async () => {
      const dir = tempDir('bad-case-');
      try {
        if (k.fromRun) fs.cpSync(golden, dir, { recursive: true });
        else fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(CONFIG));
        const c: Ctx = { dir, config: path.join(dir, 'config.json'), out: path.join(dir, 'out') };
        k.prepare?.(c);
        const args = k.args(c);
        const watch = k.watch?.(c) ?? dir;
        const before = state(watch);
        const r = await runCli(args);
        expect(r.err).not.toContain('internal error');
        expect(r.err).toMatch(k.expect);
        expect(r.code).toBe(1);
        expect(state(watch)).toEqual(before);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  }
}

describe('bad input: config', () => runCases(CONFIG_CASES));
describe('bad input: data', () => runCases(DATA_CASES));
describe('bad input: teacher', () => runCases(TEACHER_CASES));
describe('bad input: cache', () => runCases(CACHE_CASES));
describe('bad input: checkpoint', () => runCases(CHECKPOINT_CASES));
describe('bad input: output folder', () => runCases(OUTPUT_CASES));

/** A small tmpfs for full-disk cases (needs mount rights: root in a container, or skipped). */
function mountTmpfs(dir: string, size: string, ro = false): boolean {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${ro ? ',ro' : ''}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canMount = (() => {
  const probe = path.join(scratch, 'probe');
  if (!mountTmpfs(probe, '64k')) return false;
  execFileSync('umount', [probe]);
  return true;
})();
if (!canMount) console.warn('bad input: full-disk cases skipped (mounting a tmpfs is not permitted here)');

describe.skipIf(!canMount)('bad input: full disk (tmpfs)', () => {
  const tmpfsCase = (name: string, size: string, run: (mnt: string) => string[], expectErr: RegExp, ro = false) =>
    it(name, async () => {
      const mnt = path.join(scratch, `mnt-${name.replace(/\W+/g, '-')}`);
      expect(mountTmpfs(mnt, size, ro)).toBe(true);
      try {
        const r = await runCli(run(mnt));
        expect(r.err).not.toContain('internal error');
        expect(r.err).toMatch(expectErr);
        expect(r.code).toBe(1);
        // Nothing half-written is left to be trusted: no temporaries, no manifest or student.
        const left = fs.readdirSync(mnt, { recursive: true }).map(String);
        expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([]);
        expect(left.filter((f) => /manifest\.json$|model\.onnx$|model_quantized\.onnx$/.test(f))).toEqual([]);
      } finally {
        execFileSync('umount', [mnt]);
      }
    }, 120_000);
  tmpfsCase('cache on a full disk', '24k', (mnt) => ['cache', '--config', path.join(golden, 'config.json'), '--quiet', '--out', path.join(mnt, 'run')], /cannot use .*: no space left on the device .*ENOSPC/);
  tmpfsCase('export on a full disk', '40k', (mnt) => ['export', '--model', path.join(golden, 'out', 'student'), '--out', path.join(mnt, 'exp'), '--quantize'], /no space left on the device .*ENOSPC/);
  tmpfsCase('train on a full disk', '12k', (mnt) => ['train', '--config', path.join(golden, 'config.json'), '--quiet', '--out', path.join(mnt, 'run'), '--set', `cache.dir=${path.join(golden, 'out', 'cache')}`], /no space left on the device .*ENOSPC/);
  tmpfsCase('cache on a read-only file system', '64k', (mnt) => ['cache', '--config', path.join(golden, 'config.json'), '--quiet', '--out', path.join(mnt, 'run')], /cannot use .*run.*: (the file system is read-only|the folder cannot be created)/, true);
});

it('--set __proto__ did not pollute Object.prototype', () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
