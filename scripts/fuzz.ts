/**
 * Longer fuzzing of the parsers of untrusted files than the suite's bounded property tests.
 *
 *   npm run fuzz -- --target safetensors --seconds 60            coverage-guided (Jazzer.js / libFuzzer)
 *   npm run fuzz -- --target all --seconds 30 --engine fast-check random seeds, the suite's generators
 *   npm run fuzz -- --list
 *
 * Jazzer runs the target bundled into one CommonJS file (.fuzz/, ignored by git) so that all code it
 * reaches, the toolkit's and its parsers' libraries, is instrumented; it starts from the kept corpus
 * (test/fixtures/fuzz/<target>/ plus the target's seeds) and stops at the first crash or hang. Any
 * crasher or hang found (by either engine) is copied to test/fixtures/fuzz/<target>/ so the suite
 * replays it from then on. Exit code: 0 clean, 1 findings.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { inputsFor } from '../test/fuzz/arbitraries.ts';
import { CORPUS_DIR, ROOT, TARGETS, corpusOf, runOne, targetByName, type FuzzTarget } from '../test/fuzz/targets.ts';

const WORK = path.join(ROOT, '.fuzz');

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Keeps a finding as a regression fixture; returns its path. */
function keep(t: FuzzTarget, kind: 'crash' | 'hang', data: Uint8Array): string {
  const dir = path.join(CORPUS_DIR, t.name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${kind}-${crypto.createHash('sha256').update(data).digest('hex').slice(0, 16)}`);
  fs.writeFileSync(file, data);
  return file;
}

interface Result {
  target: string;
  engine: string;
  executions: number;
  seconds: number;
  coverage?: string;
  findings: string[];
}

/** Random inputs from the suite's generators under fresh seeds; a slow input (over `hangMs`) counts as a hang. */
async function fastCheck(t: FuzzTarget, seconds: number, hangMs: number): Promise<Result> {
  const findings: string[] = [];
  const arb = inputsFor(corpusOf(t), t.parts ?? 1);
  const start = Date.now();
  let executions = 0;
  const current = path.join(WORK, `current-${t.name}.bin`);
  fs.mkdirSync(WORK, { recursive: true });
  while (Date.now() - start < seconds * 1000 && findings.length === 0) {
    for (const data of fc.sample(arb, { seed: crypto.randomInt(2 ** 31), numRuns: 100 })) {
      // Written first: if the process never comes back from an input, this file is the hang.
      fs.writeFileSync(current, data);
      const t0 = Date.now();
      try {
        await runOne(t, data);
      } catch (e) {
        findings.push(`${keep(t, 'crash', data)}: ${String((e as Error)?.stack ?? e).split('\n').slice(0, 3).join(' | ')}`);
        break;
      }
      executions++;
      if (Date.now() - t0 > hangMs) {
        findings.push(`${keep(t, 'hang', data)}: took ${Date.now() - t0} ms`);
        break;
      }
      if (Date.now() - start > seconds * 1000) break;
    }
  }
  fs.rmSync(current, { force: true });
  return { target: t.name, engine: 'fast-check', executions, seconds: (Date.now() - start) / 1000, findings };
}

/** Coverage-guided: libFuzzer through Jazzer.js on a CommonJS bundle of the target. */
async function jazzer(t: FuzzTarget, seconds: number, hangMs: number): Promise<Result> {
  const { build } = await import('esbuild');
  const bundle = path.join(WORK, 'fuzz-entry.cjs');
  await build({
    entryPoints: [path.join(ROOT, 'test/fuzz/jazzer-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    logLevel: 'error',
    // import.meta.url in the sources: the bundle stands where the sources' root is known.
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: `const importMetaUrl = require('url').pathToFileURL(${JSON.stringify(path.join(ROOT, 'test/fuzz/targets.ts'))}).href;` },
  });
  const corpus = path.join(WORK, 'corpus', t.name);
  fs.mkdirSync(corpus, { recursive: true });
  for (const data of corpusOf(t)) fs.writeFileSync(path.join(corpus, crypto.createHash('sha1').update(data).digest('hex')), data);
  const artifacts = path.join(WORK, 'artifacts', t.name) + path.sep;
  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });
  const cli = path.join(ROOT, 'node_modules/@jazzer.js/core/dist/cli.js');
  const start = Date.now();
  const run = spawnSync(
    process.execPath,
    [cli, bundle, corpus, '--includes', bundle, `--timeout=${hangMs}`, '--', `-max_total_time=${seconds}`, '-print_final_stats=1', `-artifact_prefix=${artifacts}`, '-max_len=65536'],
    { env: { ...process.env, FUZZ_TARGET: t.name }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const log = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  fs.writeFileSync(path.join(WORK, `jazzer-${t.name}.log`), log);
  const executions = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(log)?.[1] ?? /#(\d+)\s+DONE/.exec(log)?.[1] ?? 0);
  const last = [...log.matchAll(/#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)\/(\S+)/g)].pop();
  const coverage = last ? `cov ${last[1]} edges, ft ${last[2]} features, corpus ${last[3]} inputs (${last[4]})` : undefined;
  const findings: string[] = [];
  for (const f of fs.readdirSync(artifacts)) {
    const kind = f.startsWith('timeout') ? 'hang' : 'crash';
    const data = new Uint8Array(fs.readFileSync(path.join(artifacts, f)));
    findings.push(`${keep(t, kind, data)} (${f})`);
  }
  if (run.status !== 0 && findings.length === 0) findings.push(`jazzer exited ${run.status}: see ${path.join(WORK, `jazzer-${t.name}.log`)}`);
  return { target: t.name, engine: 'jazzer', executions, seconds: (Date.now() - start) / 1000, coverage, findings };
}

function hasJazzer(): boolean {
  return fs.existsSync(path.join(ROOT, 'node_modules/@jazzer.js/core/dist/cli.js'));
}

async function main(): Promise<void> {
  if (process.argv.includes('--list') || process.argv.includes('--help')) {
    console.log('targets:');
    for (const t of TARGETS) console.log(`  ${t.name.padEnd(16)} ${t.input}`);
    console.log('\noptions: --target NAME|all  --seconds N (per target, default 60)  --engine jazzer|fast-check  --hang-ms N (default 10000)');
    return;
  }
  const which = arg('target', 'all')!;
  const seconds = Number(arg('seconds', '60'));
  const hangMs = Number(arg('hang-ms', '10000'));
  const engine = arg('engine', hasJazzer() ? 'jazzer' : 'fast-check');
  if (engine === 'jazzer' && !hasJazzer()) throw new Error('@jazzer.js/core is not installed (npm install); use --engine fast-check');
  const targets = which === 'all' ? TARGETS : which.split(',').map(targetByName);
  const results: Result[] = [];
  for (const t of targets) {
    const r = engine === 'jazzer' ? await jazzer(t, seconds, hangMs) : await fastCheck(t, seconds, hangMs);
    results.push(r);
    console.log(`${r.target.padEnd(16)} ${r.engine}: ${r.executions} executions in ${r.seconds.toFixed(0)} s${r.coverage ? `, ${r.coverage}` : ''}${r.findings.length ? `; FINDINGS:\n  ${r.findings.join('\n  ')}` : ', no findings'}`);
  }
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(path.join(WORK, 'last-run.json'), JSON.stringify({ date: new Date().toISOString(), engine, results }, null, 2) + '\n');
  process.exitCode = results.some((r) => r.findings.length) ? 1 : 0;
}

await main();
