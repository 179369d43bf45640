/**
 * `distill <command>`: dispatch, help, and the exit-code contract
 * (0 success, 1 user error: message only, 2 internal error: with stack).
 */
import { InterruptedError, isUserError } from '../util/errors.ts';
import { systemErrorMessage } from '../util/system-errors.ts';
import { installStopHandlers } from './signals.ts';
import { commandHelp, parseCommandArgs, type CommandSpec, type Io } from './args.ts';
import { COMMANDS } from './commands/index.ts';

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_INTERNAL_ERROR = 2;

export function defaultIo(): Io {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    progressStream: process.stderr,
    stdout: process.stdout,
    stdin: process.stdin,
  };
}

export function topLevelHelp(commands: readonly CommandSpec[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'distill: knowledge distillation for BERT-class text classifiers (ONNX teacher → tfjs student → ONNX)',
    '',
    'Usage: distill <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run `distill <command> --help` for a command\'s options and examples.',
    'Exit codes: 0 success, 1 user error (bad input or config), 2 internal error.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topLevelHelp());
    return name === undefined ? EXIT_USER_ERROR : EXIT_OK;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err(`distill: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return EXIT_USER_ERROR;
  }
  // Installed first thing, so a Ctrl-C right after start is handled too (see signals.ts).
  const signals = TRAINING_COMMANDS.includes(cmd.name) ? installStopHandlers(io) : undefined;
  try {
    const { values, positionals, overrides } = parseCommandArgs(cmd, rest);
    if (values.help) {
      io.out(commandHelp(cmd));
      return EXIT_OK;
    }
    return (await cmd.run({ values, positionals, overrides, io, signals })) ?? EXIT_OK;
  } catch (e) {
    if (e instanceof InterruptedError) {
      io.err(`distill ${cmd.name}: ${e.message}\nresume with: ${resumeCommand(cmd.name, rest)}\n`);
      return e.exitCode;
    }
    if (isUserError(e)) {
      io.err(`distill ${cmd.name}: ${e.message}\n`);
      return EXIT_USER_ERROR;
    }
    const sys = systemErrorMessage(e);
    if (sys) {
      io.err(`distill ${cmd.name}: ${sys}\n`);
      return EXIT_USER_ERROR;
    }
    io.err(`distill ${cmd.name}: internal error (please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT_INTERNAL_ERROR;
  } finally {
    signals?.dispose();
  }
}

/** Commands whose training loop stops cleanly on SIGINT / SIGTERM. */
const TRAINING_COMMANDS = ['train', 'run', 'search'];

/** The command line that continues an interrupted run: the same arguments plus --resume. */
export function resumeCommand(name: string, args: string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const withResume = args.includes('--resume') || args.includes('-r') ? args : [...args, '--resume'];
  return ['distill', name, ...withResume].map(quote).join(' ');
}
