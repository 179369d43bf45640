/**
 * Longer fuzzing of the parsers of untrusted files than the suite's bounded property tests.
 *
 *   npm run fuzz -- --target safetensors --seconds 60     one target (--target all: every one)
 *   npm run fuzz -- --list                                the targets
 *
 * Engines: `--engine jazzer` is coverage-guided (Jazzer.js / libFuzzer) on the target bundled into one
 * CommonJS file (.fuzz/, ignored by git) so that all code it reaches is instrumented. Its prebuilt
 * native fuzzer needs glibc 2.38 or newer; where it cannot load, the default falls back to
 * `--engine fast-check`: random inputs from the suite's generators (test/fuzz/arbitraries.ts) under
 * fresh seeds, each target in a child process with V8 coverage on, so the run reports which share of
 * the parsers' functions and code blocks the inputs reached, and a hang (no answer within --hang-ms)
 * kills the child and is kept. Both start from the kept corpus (test/fixtures/fuzz/<target>/ plus the
 * target's seeds); every crasher or hang found is copied there, so the suite replays it from then on.
 * Exit code: 0 clean, 1 findings.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/** In the child: random inputs under fresh seeds until `seconds` pass or one fails; prints the count. */
async function fastCheckChild(t: FuzzTarget, seconds: number, current: string): Promise<void> {
  const arb = inputsFor(corpusOf(t), t.parts ?? 1);
  const start = Date.now();
  let executions = 0;
  for (const data of corpusOf(t)) {
    fs.writeFileSync(current, data);
    await runOne(t, data);
  }
  while (Date.now() - start < seconds * 1000) {
    for (const data of fc.sample(arb, { seed: crypto.randomInt(2 ** 31), numRuns: 50 })) {
      // Written first: if the child never comes back from an input, the parent keeps this file as the hang.
      fs.writeFileSync(current, data);
      try {
        await runOne(t, data);
      } catch (e) {
        fs.writeFileSync(`${current}.crash`, String((e as Error)?.stack ?? e));
        console.log(JSON.stringify({ executions, done: true }));
        process.exit(3);
      }
      executions++;
    }
  }
  console.log(JSON.stringify({ executions, done: true }));
}

/** Share of functions and code blocks run in the target's own parser files (V8 coverage). */
function coverageSummary(dir: string, t: FuzzTarget): string | undefined {
  const wanted = new Set(t.sources.map((f) => pathToFileURL(path.join(ROOT, f)).href));
  type Range = { startOffset: number; endOffset: number; count: number };
  type Fn = { functionName: string; ranges: Range[] };
  let functions = 0;
  let functionsRun = 0;
  let blocks = 0;
  let blocksRun = 0;
  const files = new Set<string>();
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const report = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { result: { url: string; functions: Fn[] }[] };
    for (const script of report.result) {
      if (!wanted.has(script.url) || files.has(script.url)) continue;
      files.add(script.url);
      for (const fn of script.functions) {
        if (fn.ranges[0].startOffset === 0 && fn.functionName === '') continue; // the module itself
        functions++;
        if (fn.ranges[0].count > 0) functionsRun++;
        // Block coverage: the function's inner ranges (branches, loop bodies) with their counts.
        for (const r of fn.ranges.slice(1)) {
          blocks++;
          if (r.count > 0) blocksRun++;
        }
        blocks++;
        if (fn.ranges[0].count > 0) blocksRun++;
      }
    }
  }
  if (!functions) return undefined;
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
  return `${pct(functionsRun, functions)} of ${functions} functions, ${pct(blocksRun, blocks)} of ${blocks} blocks of ${[...files].map((u) => path.basename(fileURLToPath(u))).join(', ')}`;
}

/** fast-check engine: the target in a child (coverage on, killed when it stops answering). */
async function fastCheck(t: FuzzTarget, seconds: number, hangMs: number): Promise<Result> {
  fs.mkdirSync(WORK, { recursive: true });
  const current = path.join(WORK, `current-${t.name}.bin`);
  const coverageDir = path.join(WORK, 'v8-coverage', t.name);
  fs.rmSync(coverageDir, { recursive: true, force: true });
  fs.rmSync(`${current}.crash`, { force: true });
  fs.rmSync(current, { force: true }); // a killed earlier run's would look like a hang at once
  const start = Date.now();
  const child = await new Promise<{ status: number | null; hung: boolean; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', t.name, '--seconds', String(seconds)], {
      env: { ...process.env, NODE_V8_COVERAGE: coverageDir },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => {
      stdout += b;
      // Done: writing the coverage out at exit takes a while and is no hang.
      if (stdout.includes('"done":true')) clearInterval(watchdog);
    });
    p.stderr.on('data', (b) => (stderr = (stderr + b).slice(-10_000)));
    // The child rewrites the current input before each one: no rewrite for hangMs is a hang.
    let hung = false;
    const watchdog = setInterval(() => {
      const since = fs.existsSync(current) ? Date.now() - fs.statSync(current).mtimeMs : 0;
      if (since > hangMs && Date.now() - start > hangMs) {
        hung = true;
        p.kill('SIGKILL');
      }
    }, 250);
    p.on('close', (status) => {
      clearInterval(watchdog);
      resolve({ status, hung, stdout, stderr });
    });
  });
  const executions = Number(/"executions":(\d+)/.exec(child.stdout ?? '')?.[1] ?? 0);
  const findings: string[] = [];
  if (fs.existsSync(`${current}.crash`)) findings.push(`${keep(t, 'crash', fs.readFileSync(current))}: ${fs.readFileSync(`${current}.crash`, 'utf8').split('\n').slice(0, 3).join(' | ')}`);
  else if (child.hung) findings.push(`${keep(t, 'hang', fs.readFileSync(current))}: no answer within ${hangMs} ms`);
  else if (child.status !== 0) findings.push(`child exited ${child.status}: ${(child.stderr ?? '').slice(-2000)}`);
  fs.rmSync(current, { force: true });
  return { target: t.name, engine: 'fast-check', executions, seconds: (Date.now() - start) / 1000, coverage: coverageSummary(coverageDir, t), findings };
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

/** Whether Jazzer.js is installed and its native fuzzer loads here (its prebuild needs glibc >= 2.38); why not, if not. */
function jazzerProblem(): string | undefined {
  const addon = path.join(ROOT, 'node_modules/@jazzer.js/fuzzer/dist/addon.js');
  if (!fs.existsSync(addon)) return '@jazzer.js/core is not installed';
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return /GLIBC_[\d.]+/.exec(probe.stderr)?.[0] ? `its native fuzzer needs ${/GLIBC_[\d.]+/.exec(probe.stderr)![0]}, which this system's C library lacks` : `its native fuzzer does not load: ${probe.stderr.split('\n').find((l) => /Error/.test(l)) ?? probe.status}`;
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
  if (process.argv.includes('--child')) return fastCheckChild(targetByName(arg('child')!), seconds, path.join(WORK, `current-${arg('child')}.bin`));
  const problem = jazzerProblem();
  const engine = arg('engine') ?? (problem ? 'fast-check' : 'jazzer');
  if (engine === 'jazzer' && problem) throw new Error(`Jazzer.js cannot run here: ${problem}; use --engine fast-check`);
  if (problem && !arg('engine')) console.log(`Jazzer.js cannot run here (${problem}): fuzzing with fast-check instead`);
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
