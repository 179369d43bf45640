/**
 * Reading a config: JSON or YAML file → flag overrides → zod validation → absolute paths.
 * Errors name the file, the key path and what is allowed, and are UserErrors (exit code 1).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { ConfigSchema, type Config } from './config-schema.ts';

/** Config keys holding paths: relative values are resolved against the config file's folder. */
export const PATH_KEYS = ['teacher.dir', 'data.dir', 'out', 'cache.dir', 'export.dir', 'augment.mlmDir', 'task', 'student.initFolder', 'student.tokenizer'] as const;

export const RESOLVED_CONFIG_FILE = 'resolved-config.json';

/** Parses a JSON or YAML config file (by extension) into plain data. */
export function readConfigFile(file: string): unknown {
  if (!fs.existsSync(file)) throw new UserError(`config file ${file} does not exist`);
  if (fs.statSync(file).isDirectory()) throw new UserError(`config file ${file} is a folder; expected a JSON or YAML file`);
  const text = readTextLimited(file, 'runConfig');
  const yaml = /\.ya?ml$/i.test(file);
  try {
    return yaml ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /at position (\d+)/.exec(msg);
    const where = !yaml && at && !/\(line \d+ column \d+\)/.test(msg) ? ` (${lineColumn(text, Number(at[1]))})` : '';
    throw new UserError(`config file ${file} is not valid ${yaml ? 'YAML' : 'JSON'}: ${msg}${where}`);
  }
}

/** Keys that would reach Object.prototype instead of the config. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** "line L, column C" of a character offset (JSON.parse reports offsets). */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Sets `value` at a dotted path ("distill.stages.0.steps"), creating objects on the way. */
export function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const bad = keys.find((k) => FORBIDDEN_KEYS.has(k) || k === '');
  if (bad !== undefined) throw new UserError(`override ${dotted}: "${bad}" is not a config key`);
  let node: Record<string, unknown> = target;
  keys.slice(0, -1).forEach((k, i) => {
    const next = node[k];
    // A missing container is an array when the key below it is an index ("stages.0").
    if (next === undefined || next === null) node[k] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    else if (typeof next !== 'object') throw new UserError(`override ${dotted}: "${k}" is not an object in the config`);
    node = node[k] as Record<string, unknown>;
  });
  node[keys[keys.length - 1]] = value;
}

function getPath(target: unknown, keys: readonly (string | number | symbol)[]): unknown {
  let node = target;
  for (const k of keys) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number | symbol, unknown>)[k];
  }
  return node;
}

/** "--set key=value": the value is parsed as JSON when it can be (numbers, booleans, arrays), else kept as text. */
export function parseSetFlag(flag: string): [string, unknown] {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new UserError(`--set expects key.path=value, got "${flag}"`);
  const key = flag.slice(0, eq);
  const text = flag.slice(eq + 1);
  try {
    return [key, JSON.parse(text)];
  } catch {
    return [key, text];
  }
}

/** A task given as a file path (rather than a built-in name like "sst2") is resolved like other paths. */
function isPathLike(key: string, value: string): boolean {
  return key !== 'task' || /[\\/]|\.json$/i.test(value);
}

/** Path-valued keys of each entry of a list: multiTeacher.teachers[i].dir / .cache, assistants[i].initFolder. */
const LIST_PATH_KEYS = [
  ['multiTeacher.teachers', ['dir', 'cache']],
  ['assistants', ['initFolder']],
] as const;

/** Makes the path-valued keys of a (raw) config absolute against `baseDir`. */
export function absolutizePaths(raw: Record<string, unknown>, baseDir: string): void {
  for (const key of PATH_KEYS) {
    const v = getPath(raw, key.split('.'));
    if (typeof v === 'string' && isPathLike(key, v)) setPath(raw, key, path.resolve(baseDir, v));
  }
  for (const [list, keys] of LIST_PATH_KEYS) {
    const entries = getPath(raw, list.split('.'));
    if (!Array.isArray(entries)) continue;
    for (const e of entries) {
      if (!e || typeof e !== 'object') continue;
      const entry = e as Record<string, unknown>;
      for (const k of keys) if (typeof entry[k] === 'string') entry[k] = path.resolve(baseDir, entry[k] as string);
    }
  }
}

export function formatKeyPath(keys: readonly PropertyKey[]): string {
  let out = '';
  for (const k of keys) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || '(top level)';
}

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** One line per zod issue: key path, what is wrong, what is allowed. */
export function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = formatKeyPath(issue.path);
  const got = getPath(input, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      return issue.keys
        .map((k) => `${formatKeyPath([...issue.path, k])}: unknown key "${k}" (allowed keys: ${allowedKeysAt(issue.path)})`)
        .join('\n');
    }
    case 'invalid_value':
      return `${where}: got ${show(got)}; allowed values: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return got === undefined
        ? `${where}: required (${issue.expected}) but missing`
        : `${where}: expected ${issue.expected}, got ${show(got)}`;
    case 'too_small':
      return `${where}: must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}${issue.origin === 'array' ? ' entries' : ''}, got ${show(got)}`;
    case 'too_big':
      return `${where}: must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}${issue.origin === 'array' ? ' entries' : ''}, got ${show(got)}`;
    case 'invalid_union': {
      const options = issue.errors.map((branch) => {
        const first = branch[0];
        if (first?.code === 'invalid_value') return first.values.map((v) => JSON.stringify(v)).join(', ');
        if (first?.code === 'invalid_type' && first.expected === 'object') return `an object {${allowedKeysAt(issue.path)}}`;
        return first?.code === 'invalid_type' ? `a value of type ${first.expected}` : branch.map((i) => i.message).join('; ');
      });
      return `${where}: got ${show(got)}; allowed: ${options.join(', or ')}`;
    }
    default:
      return `${where}: ${issue.message}${got !== undefined && typeof got !== 'object' ? ` (got ${show(got)})` : ''}`;
  }
}

type SchemaDef = Record<string, unknown> & { type: string };
const defOf = (n: unknown): SchemaDef | undefined => (n as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;

/** Strips default / optional / prefault / pipe wrappers. */
function unwrapSchema(n: unknown): unknown {
  for (let d = defOf(n); d && (d.innerType || d.type === 'pipe'); d = defOf(n)) n = d.innerType ?? d.in;
  return n;
}

/** The object shape of a schema node, looking inside unions (e.g. the mapping's {hidden, attention} form). */
function shapeOf(n: unknown): Record<string, unknown> | undefined {
  const d = defOf(unwrapSchema(n));
  if (d?.type === 'object') return d.shape as Record<string, unknown>;
  if (d?.type === 'union') return (d.options as unknown[]).map(shapeOf).find((s) => s !== undefined);
  return undefined;
}

/** Lists the keys the schema allows at a path, by walking the schema. */
export function allowedKeysAt(keys: readonly PropertyKey[]): string {
  let node: unknown = ConfigSchema;
  for (const k of keys) {
    const d = defOf(unwrapSchema(node));
    node = d?.type === 'array' ? d.element : shapeOf(node)?.[String(k)];
  }
  const shape = shapeOf(node);
  return shape ? Object.keys(shape).join(', ') : '?';
}

/**
 * Validates raw config data; `source` names where it came from in the error, and an issue under a
 * key given by `--set` says so.
 */
export function parseConfig(raw: unknown, source: string, setKeys: readonly string[] = []): Config {
  const r = ConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const at = i.path.map(String).join('.');
    const key = setKeys.find((k) => at === k || at.startsWith(k + '.') || k.startsWith(at + '.'));
    return '  ' + formatIssue(i, raw).replace(/\n/g, '\n  ') + (key !== undefined ? ` (from the command line: --set or flag for ${key})` : '');
  });
  throw new UserError(`invalid config ${source}:\n${lines.join('\n')}`);
}

/** The schema's default at a dotted path (e.g. the default stages under "distill.stages"), if it has one. */
function schemaDefaultAt(keys: readonly string[]): unknown {
  let node: unknown = ConfigSchema;
  for (const k of keys) {
    const d = defOf(unwrapSchema(node));
    node = d?.type === 'array' ? d.element : shapeOf(node)?.[k];
    if (node === undefined) return undefined;
  }
  for (let d = defOf(node); d; d = defOf(d.innerType)) {
    if (d.type === 'default' || d.type === 'prefault') return structuredClone(d.defaultValue);
    if (!d.innerType) break;
  }
  return undefined;
}

/**
 * Before `--set a.b.0.c=…` lands, a missing array on its way (e.g. distill.stages in a config that
 * relies on the default stages) is filled with the schema's default, so the override edits it.
 */
function fillDefaultArrays(raw: Record<string, unknown>, dotted: string): void {
  const keys = dotted.split('.');
  for (let i = 1; i < keys.length; i++) {
    if (!/^\d+$/.test(keys[i])) continue;
    const at = keys.slice(0, i);
    if (getPath(raw, at) !== undefined) continue;
    const def = schemaDefaultAt(at);
    if (Array.isArray(def)) setPath(raw, at.join('.'), def);
  }
}

export interface LoadConfigOptions {
  /** Config file (JSON, or YAML by .yaml/.yml extension); optional when overrides give every required key. */
  file?: string;
  /** Dotted key → value, from flags; applied over the file. Relative paths in them resolve against `cwd`. */
  overrides?: Record<string, unknown>;
  cwd?: string;
}

/** File → overrides → validated Config with absolute paths. */
export function loadConfig(opts: LoadConfigOptions): Config {
  const cwd = opts.cwd ?? process.cwd();
  let raw: Record<string, unknown> = {};
  if (opts.file) {
    const data = readConfigFile(opts.file);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new UserError(`config file ${opts.file}: expected an object at the top level`);
    }
    raw = data as Record<string, unknown>;
    absolutizePaths(raw, path.dirname(path.resolve(cwd, opts.file)));
  }
  const over: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    if (v !== undefined) setPath(over, k, v);
  }
  absolutizePaths(over, cwd);
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    if (v === undefined) continue;
    fillDefaultArrays(raw, k);
    setPath(raw, k, getPath(over, k.split('.')));
    // A stage's length is steps or epochs: setting one replaces the other (e.g. the default stages' epochs).
    const length = /^(.*\.stages\.\d+)\.(steps|epochs)$/.exec(k);
    const stage = length ? getPath(raw, length[1].split('.')) : undefined;
    if (length && stage && typeof stage === 'object') delete (stage as Record<string, unknown>)[length[2] === 'steps' ? 'epochs' : 'steps'];
  }
  return parseConfig(raw, opts.file ?? '(from flags)', Object.keys(opts.overrides ?? {}));
}

/** Saves the config a run actually used next to its outputs. */
export function saveResolvedConfig(config: Config, outDir: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, RESOLVED_CONFIG_FILE);
  writeJsonAtomic(file, config);
  return file;
}
