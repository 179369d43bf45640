import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.ts';
import { runCli } from './helpers.ts';

describe('help', () => {
  it('top-level --help lists every command and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toContain(`  ${c.name} `);
  });

  it('no command prints the help and exits 1', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Usage: distill <command>');
  });

  it.each(COMMANDS.map((c) => c.name))('distill %s --help shows usage, options and examples', async (name) => {
    const r = await runCli([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain(`Usage: distill ${name}`);
    expect(r.out).toMatch(/Options:\n/);
    expect(r.out).toContain('--help');
    expect(r.out).toMatch(new RegExp(`Examples:\\n  distill ${name} `));
  });

  it('every subcommand accepts --config', () => {
    for (const c of COMMANDS) expect(c.options.some((o) => o.name === 'config')).toBe(true);
  });

  it('an unknown command names the valid ones, exit 1', async () => {
    const r = await runCli(['distil']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown command "distil"');
    expect(r.err).toContain('run, augment, cache, train, export, eval, report');
  });

  it('an unknown option or a bad number is a user error (exit 1, no stack)', async () => {
    const a = await runCli(['train', '--bogus']);
    expect(a.code).toBe(1);
    expect(a.err).toContain("Unknown option '--bogus'");
    expect(a.err).not.toMatch(/\n\s+at /);
    const b = await runCli(['train', '--seed', '1.5']);
    expect(b.code).toBe(1);
    expect(b.err).toContain('--seed expects an integer, got "1.5"');
  });
});
