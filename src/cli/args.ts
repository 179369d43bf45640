/**
 * A small layer over node:util parseArgs: each command declares its options once, and that one
 * declaration drives parsing, type conversion, config overrides and the --help text.
 */
import { parseArgs } from 'node:util';
import { UserError } from '../util/errors.ts';
import { parseSetFlag } from './config-load.ts';

export interface OptionSpec {
  /** Long name without dashes: "max-length". */
  name: string;
  short?: string;
  /** "flag": a boolean switch; the rest take a value. */
  kind: 'flag' | 'string' | 'int' | 'number';
  /** Placeholder in help: "<dir>". */
  arg?: string;
  help: string;
  /** The config key (dotted) this option overrides, when it maps onto one. */
  configKey?: string;
  /** May be given several times (values collected in order). */
  multiple?: boolean;
}

/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Stream for progress bars (a TTY gets a live bar). */
  progressStream: NodeJS.WritableStream & { isTTY?: boolean };
  /** The real stdout, for commands that stream results (backpressure, a reader that closes early). */
  stdout?: NodeJS.WritableStream;
  /** Where `-` reads from (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

export type OptionValues = Record<string, string | number | boolean | (string | number)[] | undefined>;

export interface CommandContext {
  values: OptionValues;
  positionals: string[];
  io: Io;
  /** Dotted config key → value, from options with a configKey and from --set. */
  overrides: Record<string, unknown>;
  /** SIGINT / SIGTERM state, for the commands that train. */
  signals?: import('./signals.ts').StopSignals;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Paragraphs shown under the usage line. */
  description?: string;
  options: OptionSpec[];
  examples: string[];
  run(ctx: CommandContext): Promise<number | void>;
}

/** Options every command understands. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'help', short: 'h', kind: 'flag', help: 'show this help' },
  { name: 'quiet', short: 'q', kind: 'flag', help: 'plain periodic progress lines instead of live bars (CI, logs)' },
];

export const CONFIG_OPTIONS: OptionSpec[] = [
  { name: 'config', short: 'c', kind: 'string', arg: '<file>', help: 'run configuration (JSON or YAML); see docs/config.md' },
  {
    name: 'set',
    kind: 'string',
    arg: '<key=value>',
    multiple: true,
    help: 'override any config key by its dotted path, e.g. --set distill.stages.0.steps=50 (repeatable)',
  },
];

function convert(spec: OptionSpec, raw: string): string | number {
  if (spec.kind === 'string') return raw;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n))) {
    throw new UserError(`--${spec.name} expects ${spec.kind === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  return n;
}

/** Parses argv against the command's options; unknown options and bad values are UserErrors. */
export function parseCommandArgs(cmd: CommandSpec, argv: string[]): { values: OptionValues; positionals: string[]; overrides: Record<string, unknown> } {
  const specs = [...COMMON_OPTIONS, ...cmd.options];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const s of specs) {
    options[s.name] = { type: s.kind === 'flag' ? 'boolean' : 'string', ...(s.short && { short: s.short }), ...(s.multiple && { multiple: true }) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (e) {
    // Only the user's argv is at fault for ERR_PARSE_ARGS_* codes; anything else is a bug here.
    if (!String((e as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw e;
    throw new UserError(`${(e as Error).message}\nSee: distill ${cmd.name} --help`);
  }
  const values: OptionValues = {};
  const overrides: Record<string, unknown> = {};
  for (const s of specs) {
    const v = parsed.values[s.name];
    if (v === undefined) continue;
    if (typeof v === 'boolean') values[s.name] = v;
    else if (Array.isArray(v)) values[s.name] = v.map((x) => convert(s, String(x)));
    else values[s.name] = convert(s, String(v));
    if (s.configKey) overrides[s.configKey] = values[s.name];
  }
  for (const flag of (values.set as string[] | undefined) ?? []) {
    const [k, v] = parseSetFlag(flag);
    overrides[k] = v;
  }
  return { values, positionals: parsed.positionals, overrides };
}

/** The --help text of a command. */
export function commandHelp(cmd: CommandSpec): string {
  const specs = [...cmd.options, ...COMMON_OPTIONS];
  const left = specs.map((s) => `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.arg ? ' ' + s.arg : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = [
    `distill ${cmd.name}: ${cmd.summary}`,
    '',
    `Usage: ${cmd.usage}`,
    ...(cmd.description ? ['', cmd.description] : []),
    '',
    'Options:',
    ...specs.map((s, i) => `  ${left[i].padEnd(width)}${s.help}${s.configKey ? ` [config: ${s.configKey}]` : ''}`),
    '',
    'Examples:',
    ...cmd.examples.map((e) => `  ${e}`),
  ];
  return lines.join('\n') + '\n';
}
