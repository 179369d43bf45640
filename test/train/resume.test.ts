import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readLog } from '../../src/train/log.ts';

const child = fileURLToPath(new URL('./fixtures/train-child.ts', import.meta.url));

/** Runs the child; with killAfter, sends SIGKILL as soon as it reports that step. Resolves with the last step seen. */
function runChild(dir: string, out: string, resume: boolean, killAfter?: number, plateau = false): Promise<{ lastStep: number; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dir, out, resume ? 'resume' : '', plateau ? 'plateau' : ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastStep = 0;
    let stderr = '';
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        const m = /^step (\d+)$/.exec(line);
        if (m) lastStep = Number(m[1]);
        if (killAfter !== undefined && lastStep >= killAfter) p.kill('SIGKILL');
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ lastStep, killed: true });
      else if (code === 0) resolve({ lastStep, killed: false });
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

describe('resume after kill -9', () => {
  it('reaches the same weights (raw and EMA) bit for bit as an uninterrupted run', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-'));
    const refOut = path.join(root, 'ref.safetensors');
    await runChild(path.join(root, 'ref'), refOut, false);

    const dir = path.join(root, 'killed');
    const out = path.join(root, 'resumed.safetensors');
    // Killed in the first stage, then again in the second (after the stage boundary), then finished.
    const first = await runChild(dir, out, true, 5);
    expect(first.killed).toBe(true);
    const second = await runChild(dir, out, true, 17);
    expect(second.killed).toBe(true);
    const last = await runChild(dir, out, true);
    expect(last.killed).toBe(false);
    expect(last.lastStep).toBe(26);

    expect(fs.readFileSync(out).equals(fs.readFileSync(refOut))).toBe(true);
    // The log reads as one run: every step exactly once.
    const steps = readLog(path.join(dir, 'log.jsonl')).filter((r) => r.type === 'step').map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    const refEvals = readLog(path.join(root, 'ref', 'log.jsonl')).filter((r) => r.type === 'eval');
    const evals = readLog(path.join(dir, 'log.jsonl')).filter((r) => r.type === 'eval');
    expect(evals).toEqual(refEvals);
  });

  it('with reduce-on-plateau and early stopping: the same learning rates, stop step and weights after kills', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-plateau-'));
    const refOut = path.join(root, 'ref.safetensors');
    const ref = await runChild(path.join(root, 'ref'), refOut, false, undefined, true);
    expect(ref.lastStep).toBe(25);

    const dir = path.join(root, 'killed');
    const out = path.join(root, 'resumed.safetensors');
    // Killed before any reduction, then between the first reduction (eval at 20) and the stop (25).
    expect((await runChild(dir, out, true, 17, true)).killed).toBe(true);
    expect((await runChild(dir, out, true, 22, true)).killed).toBe(true);
    const last = await runChild(dir, out, true, undefined, true);
    expect(last).toEqual({ lastStep: 25, killed: false });

    expect(fs.readFileSync(out).equals(fs.readFileSync(refOut))).toBe(true);
    const refLog = readLog(path.join(root, 'ref', 'log.jsonl'));
    const log = readLog(path.join(dir, 'log.jsonl'));
    const lrs = (records: typeof log) => records.flatMap((r) => (r.type === 'step' ? [[r.step, r.lr]] : []));
    expect(lrs(log)).toEqual(lrs(refLog));
    const at = new Map(lrs(refLog) as [number, number][]);
    // Prediction stage: steps 13..26, lr 5e-3, linear decay after 1 warm-up step; step 21 is its update 8.
    expect(at.get(20)).toBeCloseTo((5e-3 * 7) / 13, 15);
    expect(at.get(21)).toBeCloseTo((5e-3 * 0.5 * 6) / 13, 15);
    const plateauEvents = (records: typeof log) => records.filter((r) => r.type === 'event' && /^(reduce on plateau|early stopping):/.test(r.message)).map((r) => [r.step, r.type === 'event' && r.message]);
    expect(plateauEvents(log)).toEqual(plateauEvents(refLog));
    expect(plateauEvents(refLog).map(([s]) => s)).toEqual([20, 25, 25]);
  }, 300_000); // four child processes; slow only on a loaded machine
});
