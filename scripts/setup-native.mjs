#!/usr/bin/env node
/**
 * `npm run setup:native [-- --python PATH]`: builds @tensorflow/tfjs-node (the native `tensorflow`
 * backend) against a libtensorflow that is already on this machine, instead of the download its
 * install script attempts (and that fails without internet, after which npm drops the package).
 *
 * Where the libtensorflow comes from, first found wins:
 *   1. $LIBTENSORFLOW_DIR: either an official libtensorflow tarball unpacked (lib/libtensorflow.so.2,
 *      lib/libtensorflow_framework.so.2, include/) or a pip `tensorflow` package directory.
 *   2. A pip-installed tensorflow / tensorflow-cpu in --python PATH, $DISTILL_PYTHON, the repository's
 *      .venv, or python3. Its libtensorflow_cc.so.2 exports the whole TF C API and the wheel ships
 *      the headers under tensorflow/include.
 *
 * Then: reinstalls tfjs-node from the lock when npm removed it (scripts off), points its deps/lib and
 * deps/include at that libtensorflow (symlinks), compiles the addon with node-pre-gyp and npm's own
 * node-gyp against the local Node headers, and checks in a fresh process that tfjs runs on the
 * `tensorflow` backend and that a matMul equals the `cpu` backend's. Idempotent: an addon already
 * built against the same library is only re-checked. Exit 1 with the reason when anything is missing.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '..');
const STAMP = '.distill-native.json';

class SetupError extends Error {}

function say(msg) {
  console.log(`setup:native: ${msg}`);
}

function parseArgs(argv) {
  const out = { python: undefined, force: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--python') out.python = argv[++i];
    else if (argv[i] === '--force') out.force = true;
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: npm run setup:native [-- --python /path/to/python] [--force]\n' +
        'env: LIBTENSORFLOW_DIR (unpacked libtensorflow or pip tensorflow dir), DISTILL_PYTHON');
      process.exit(0);
    } else throw new SetupError(`unknown argument "${argv[i]}" (expected --python PATH or --force)`);
  }
  if (argv.includes('--python') && !out.python) throw new SetupError('--python needs a path');
  return out;
}

/** {lib, framework, include, version, origin} from a directory, or a reason it is not one. */
function libFromDir(dir, origin) {
  const abs = path.resolve(dir);
  const layouts = [
    // pip wheel: tensorflow/libtensorflow_cc.so.2 + tensorflow/include
    { lib: 'libtensorflow_cc.so.2', framework: 'libtensorflow_framework.so.2', include: 'include' },
    // official C library tarball
    { lib: 'lib/libtensorflow.so.2', framework: 'lib/libtensorflow_framework.so.2', include: 'include' },
  ];
  for (const l of layouts) {
    const lib = path.join(abs, l.lib);
    const framework = path.join(abs, l.framework);
    const include = path.join(abs, l.include);
    if (fs.existsSync(lib) && fs.existsSync(framework) && fs.existsSync(path.join(include, 'tensorflow/c/c_api.h'))) {
      // Real paths: the links must not depend on a checkout or venv symlink that may go away.
      return { lib: fs.realpathSync(lib), framework: fs.realpathSync(framework), include: fs.realpathSync(include), origin };
    }
  }
  return `${abs} has neither libtensorflow_cc.so.2 + libtensorflow_framework.so.2 + include/tensorflow/c/c_api.h ` +
    '(pip tensorflow) nor lib/libtensorflow.so.2 + lib/libtensorflow_framework.so.2 + include/ (libtensorflow tarball)';
}

const PY_PROBE = `
import importlib.util, importlib.metadata, json
spec = importlib.util.find_spec('tensorflow')
version = None
for dist in ('tensorflow-cpu', 'tensorflow', 'tensorflow-gpu', 'tf-nightly'):
    try:
        version = importlib.metadata.version(dist); break
    except importlib.metadata.PackageNotFoundError:
        pass
print(json.dumps({'dir': list(spec.submodule_search_locations)[0] if spec else None, 'version': version}))
`;

function pythonCandidates(explicit) {
  const venv = path.join(REPO, '.venv/bin/python');
  return [explicit, process.env.DISTILL_PYTHON, fs.existsSync(venv) ? venv : undefined, 'python3']
    .filter((p) => !!p);
}

function findLibtensorflow(opts) {
  const tried = [];
  const envDir = process.env.LIBTENSORFLOW_DIR;
  if (envDir) {
    const found = libFromDir(envDir, `LIBTENSORFLOW_DIR=${envDir}`);
    if (typeof found !== 'string') return found;
    // An explicit setting that is wrong is an error, not something to fall back from silently.
    throw new SetupError(`LIBTENSORFLOW_DIR: ${found}`);
  }
  for (const python of pythonCandidates(opts.python)) {
    const r = spawnSync(python, ['-c', PY_PROBE], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
      if (python === opts.python) throw new SetupError(`--python ${python} did not run: ${tried.at(-1)}`);
      continue;
    }
    const probe = JSON.parse(r.stdout.trim().split('\n').pop());
    if (!probe.dir) {
      tried.push(`${python}: no tensorflow package installed`);
      continue;
    }
    const found = libFromDir(probe.dir, `pip tensorflow ${probe.version ?? '(version unknown)'} of ${python}`);
    if (typeof found !== 'string') return found;
    tried.push(`${python}: ${found}`);
  }
  throw new SetupError(
    'no libtensorflow found. Tried:\n  ' + (tried.length ? tried.join('\n  ') : '(no Python to ask)') + '\n' +
    'Give one of: LIBTENSORFLOW_DIR=<unpacked libtensorflow or site-packages/tensorflow>, --python <python with ' +
    'tensorflow-cpu>, or create the repo venv: python3 -m venv .venv && .venv/bin/pip install tensorflow-cpu');
}

function run(cmd, args, options) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.error) throw new SetupError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new SetupError(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

/** node_modules may be a symlink (shared between checkouts): npm must run where it really is. */
function packageRoot() {
  const nm = path.join(REPO, 'node_modules');
  if (!fs.existsSync(nm)) throw new SetupError(`${nm} is missing: run npm ci first`);
  return path.dirname(fs.realpathSync(nm));
}

function findTfjsNode() {
  const req = createRequire(path.join(REPO, 'package.json'));
  try {
    return path.dirname(req.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    return undefined;
  }
}

function ensureTfjsNode() {
  let dir = findTfjsNode();
  if (dir) return dir;
  const root = packageRoot();
  say(`@tensorflow/tfjs-node is not installed (npm drops it when its download fails); installing it from the lock in ${root}, install scripts off`);
  run('npm', ['install', '--no-save', '--ignore-scripts', '--include=optional', '--no-audit', '--no-fund'], { cwd: root });
  dir = findTfjsNode();
  if (!dir) throw new SetupError('@tensorflow/tfjs-node is still not resolvable after npm install; is it in package.json\'s optionalDependencies?');
  return dir;
}

/** Replace `link` by a symlink to `target` unless it already is one. Returns true when it changed. */
function linkTo(link, target) {
  try {
    const st = fs.lstatSync(link);
    if (st.isSymbolicLink() && fs.readlinkSync(link) === target) return false;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    // absent: fine
  }
  fs.symlinkSync(target, link);
  return true;
}

function linkDeps(tfjsNode, found) {
  const deps = path.join(tfjsNode, 'deps');
  const lib = path.join(deps, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  // binding.gyp links -ltensorflow -ltensorflow_framework with RUNPATH $ORIGIN/../../deps/lib;
  // install.js treats deps/lib/libtensorflow.so.2.9.1 as "already downloaded".
  let changed = linkTo(path.join(deps, 'include'), found.include);
  for (const name of ['libtensorflow.so', 'libtensorflow.so.2', 'libtensorflow.so.2.9.1', path.basename(found.lib)]) {
    changed = linkTo(path.join(lib, name), found.lib) || changed;
  }
  for (const name of ['libtensorflow_framework.so', 'libtensorflow_framework.so.2', 'libtensorflow_framework.so.2.9.1']) {
    changed = linkTo(path.join(lib, name), found.framework) || changed;
  }
  return changed;
}

function addonPath(tfjsNode) {
  return path.join(tfjsNode, 'lib', `napi-v${Math.min(Number(process.versions.napi), 8)}`, 'tfjs_binding.node');
}

function nodeGypPath() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(path.resolve(path.dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'));
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
  if (npmRoot.status === 0) candidates.push(path.join(npmRoot.stdout.trim(), 'npm/node_modules/node-gyp/bin/node-gyp.js'));
  candidates.push(path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  const hit = candidates.find((c) => c && fs.existsSync(c));
  if (!hit) throw new SetupError(`npm's bundled node-gyp not found (looked at ${candidates.filter(Boolean).join(', ')})`);
  return hit;
}

/** Local Node headers, so node-gyp does not try to download them. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include/node/node_api.h'))) return prefix;
  return undefined; // node-gyp falls back to its header cache / download
}

function build(tfjsNode) {
  const preGyp = createRequire(path.join(tfjsNode, 'package.json')).resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
  const env = { ...process.env, npm_config_node_gyp: nodeGypPath() };
  const nd = nodeDir();
  if (nd) env.npm_config_nodedir = nd;
  say(`building the addon (node-pre-gyp --build-from-source, node-gyp ${env.npm_config_node_gyp}, headers ${nd ?? 'node-gyp cache'})`);
  const t0 = Date.now();
  run(process.execPath, [preGyp, 'install', '--build-from-source'], { cwd: tfjsNode, env });
  say(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const VERIFY = `
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
const tf = await import('@tensorflow/tfjs-node');
const be = tf.backend();
const backend = tf.getBackend();
const a = [], b = [];
for (let i = 0; i < 96 * 64; i++) a.push(Math.sin(i * 0.37));
for (let i = 0; i < 64 * 48; i++) b.push(Math.cos(i * 0.11));
const native = tf.matMul(tf.tensor2d(a, [96, 64]), tf.tensor2d(b, [64, 48])).dataSync();
tf.findBackend('cpu').firstUse = false; // the "install the node backend" banner
await tf.setBackend('cpu');
const ref = tf.matMul(tf.tensor2d(a, [96, 64]), tf.tensor2d(b, [64, 48])).dataSync();
let maxDiff = 0;
for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(native[i] - ref[i]));
console.log(JSON.stringify({ backend, tfVersion: be.binding.TF_Version, gpu: be.isUsingGpuDevice, maxDiff }));
`;

function verify() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', VERIFY], { cwd: REPO, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    throw new SetupError(`the built backend does not load:\n${(r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n')}`);
  }
  const v = JSON.parse(last);
  if (v.backend !== 'tensorflow') throw new SetupError(`tfjs-node loaded but tf.getBackend() is "${v.backend}", not "tensorflow"`);
  if (!(v.maxDiff < 1e-4)) throw new SetupError(`matMul on tensorflow differs from the cpu backend by ${v.maxDiff} (> 1e-4)`);
  return v;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const found = findLibtensorflow(opts);
  say(`libtensorflow: ${found.lib} (${found.origin})`);
  const tfjsNode = ensureTfjsNode();
  say(`tfjs-node: ${tfjsNode}`);
  const changed = linkDeps(tfjsNode, found);
  say(changed ? 'deps/lib and deps/include now point at it' : 'deps/lib and deps/include already point at it');

  const stampPath = path.join(tfjsNode, 'deps', STAMP);
  const want = { lib: found.lib, framework: found.framework, node: process.versions.modules };
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(stampPath, 'utf8'));
  } catch {
    stamp = undefined;
  }
  // Re-pointed links to the same files need no rebuild: the stamp records what the addon was linked with.
  const upToDate = !opts.force && fs.existsSync(addonPath(tfjsNode)) &&
    stamp?.lib === want.lib && stamp?.framework === want.framework && stamp?.node === want.node;
  if (upToDate) {
    say(`addon already built against it: ${addonPath(tfjsNode)}`);
  } else {
    build(tfjsNode);
    fs.writeFileSync(`${stampPath}.tmp`, JSON.stringify(want, null, 2) + '\n');
    fs.renameSync(`${stampPath}.tmp`, stampPath);
  }
  const v = verify();
  say(`ok: tf.getBackend() = tensorflow, libtensorflow ${v.tfVersion}${v.gpu ? ', GPU in use' : ', CPU'}; ` +
    `matMul [96x64]x[64x48] equals the cpu backend (max |diff| ${v.maxDiff.toExponential(1)})`);
  say('the `auto` backend now picks it; `--backend tensorflow` asks for it explicitly');
}

try {
  main();
} catch (e) {
  if (e instanceof SetupError) {
    console.error(`setup:native: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
