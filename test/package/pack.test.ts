/**
 * The package as a user meets it: `npm pack`, the tarball installed into an empty project (npm's
 * cache first, the registry for what it lacks), then the `distill` command and the library API from
 * plain Node 20 (no tsx) and the TypeScript example type-checked against the shipped .d.ts files.
 * Slow (packing builds dist/, the install copies tfjs and onnxruntime): runs when DISTILL_PACK_TEST=1
 * (.ci/run sets it).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENABLED = process.env.DISTILL_PACK_TEST === '1';
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const BANNER = 'looks like you are running TensorFlow.js in Node.js';

/** The consumer's own install policy (npm ≥ 11): nothing downloads CUDA or libtensorflow. */
const CONSUMER_ALLOW_SCRIPTS = {
  'onnxruntime-node': false,
  '@tensorflow/tfjs-node': false,
  '@tensorflow/tfjs-node-gpu': false,
  'core-js': false,
  protobufjs: false,
};

/** A child environment without this repo's loaders or install switches, as a fresh shell has. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('VITEST') || k === 'ONNXRUNTIME_NODE_INSTALL' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  return { ...env, NODE_ENV: 'production', NO_COLOR: '1' };
}

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
}

function ok(r: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> {
  expect(r.error, `${what}: ${r.error?.message}`).toBeUndefined();
  expect(r.status, `${what} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
  return r;
}

/** A run of a few steps on the tiny fixture teacher and the fixture SST-2 rows (absolute paths). */
function tinyConfig(out: string): Record<string, unknown> {
  return {
    task: 'sst2',
    teacher: { dir: path.join(ROOT, 'test/fixtures/tiny-bert-opset17') },
    data: { dir: path.join(ROOT, 'test/fixtures/glue/SST-2'), maxLength: 32 },
    out,
    backend: 'cpu',
    cache: { dtype: 'float32', batchSize: 4 },
    student: { hiddenSize: 16, numLayers: 1, numHeads: 4, intermediateSize: 32, maxPositions: 40 },
    distill: {
      batchSize: 2,
      evalEvery: 2,
      stages: [
        { name: 'intermediate', steps: 3, lr: 0.001, losses: [{ name: 'hidden_mse' }, { name: 'attention_mse' }] },
        { name: 'prediction', steps: 3, lr: 0.001, losses: [{ name: 'kd_ce' }] },
      ],
    },
    eval: { latencyBatchSizes: [1], latencyRuns: 1 },
    export: { quantize: true },
  };
}

describe.skipIf(!ENABLED)('npm pack → install into an empty project → CLI and API on plain Node (DISTILL_PACK_TEST=1 runs it)', () => {
  let tmp: string;
  let project: string;
  let installed: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-pack-'));
    // prepack builds dist/; --json names the tarball.
    const pack = ok(sh(NPM, ['pack', '--json', '--pack-destination', tmp], ROOT, 600_000), 'npm pack');
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const tarball = path.join(tmp, info[0].filename);
    const shipped = info[0].files.map((f) => f.path);
    expect(shipped).toContain('dist/index.js');
    expect(shipped).toContain('dist/index.d.ts');
    expect(shipped).toContain('dist/cli/bin.js');
    expect(shipped).toContain('dist/backend/wasm-pthread-worker.cjs');
    expect(shipped).toContain('tasks/sst2.json');
    expect(shipped.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('runs/'))).toEqual([]);

    project = path.join(tmp, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'distill-consumer', version: '1.0.0', private: true, type: 'module', allowScripts: CONSUMER_ALLOW_SCRIPTS }, null, 2),
    );
    const types = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')).version as string;
    const install = ok(
      sh(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn', tarball, `@types/node@${types}`], project, 600_000),
      'npm install <tarball>',
    );
    // The project's policy covers every install script: npm lists none as unreviewed, and onnxruntime-node
    // did not fetch its CUDA provider.
    expect(install.stderr).not.toMatch(/not yet covered by allowScripts|Unknown project config/);
    installed = path.join(project, 'node_modules/distill-ts');
    const ortBin = path.join(project, 'node_modules/onnxruntime-node/bin/napi-v6', process.platform, process.arch);
    expect(fs.existsSync(path.join(ortBin, 'libonnxruntime_providers_cuda.so'))).toBe(false);
    expect(fs.existsSync(path.join(project, 'node_modules/tsx'))).toBe(false);
    fs.writeFileSync(path.join(project, 'tiny.json'), JSON.stringify(tinyConfig(path.join(project, 'runs/cli'))));
  }, 900_000);

  it('npx distill --help lists the commands', () => {
    const r = ok(sh('npx', ['--no-install', 'distill', '--help'], project), 'npx distill --help');
    for (const c of ['cache', 'train', 'run', 'export', 'eval', 'predict']) expect(r.stdout).toContain(`  ${c}`);
  });

  it('npx distill run finishes a tiny run: student, ONNX export, eval.json, report', () => {
    const r = ok(sh('npx', ['--no-install', 'distill', 'run', '--config', 'tiny.json', '--quiet'], project), 'npx distill run');
    const out = path.join(project, 'runs/cli');
    for (const f of ['student/model.safetensors', 'student-onnx/onnx/model.onnx', 'student-onnx/onnx/model_quantized.onnx', 'eval.json', 'report.html']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(r.stderr).toContain('run finished');
    expect(r.stderr).toContain('tfjs backend: cpu');
    expect(r.stderr).not.toContain(BANNER);
  });

  it('examples/api.mjs runs on plain Node: run, predict, schedules', () => {
    fs.copyFileSync(path.join(installed, 'examples/api.mjs'), path.join(project, 'api.mjs'));
    const r = ok(sh(process.execPath, ['api.mjs', 'tiny.json', path.join(project, 'runs/api')], project), 'node api.mjs');
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result.steps).toBe(6);
    expect(result.models).toEqual(['teacher', 'student', 'student int8']);
    expect(result.predictions).toHaveLength(2);
    for (const p of result.predictions) {
      expect(typeof p.label).toBe('string');
      expect(p.probs).toHaveLength(2);
    }
    expect(result.lrHalfway).toBeCloseTo(50 / 100, 10);
    expect(r.stderr).not.toContain(BANNER);
  });

  it('examples/api.ts type-checks (strict) against the shipped declarations', () => {
    fs.copyFileSync(path.join(installed, 'examples/api.ts'), path.join(project, 'api.ts'));
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['api.ts'],
      }),
    );
    // The declarations import each other by .js paths: a .ts path would leave types unresolved (any).
    const dts = spawnSync('grep', ['-rlE', `from '\\.{1,2}/[^']*\\.ts'`, path.join(installed, 'dist'), '--include=*.d.ts'], { encoding: 'utf8' });
    expect(dts.stdout.trim()).toBe('');
    ok(sh(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], project), 'tsc -p <project>');
  });
});
