import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { readLog, type StepRecord } from '../../src/train/log.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';
import { tinyConfig, toyData, toyTask, useCpu } from '../distill/helpers.ts';

beforeAll(useCpu);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'plateau-'));
const trainData = toyData(48, 1);
const devData = toyData(32, 2);

function options(over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    task: toyTask,
    studentConfig: tinyConfig(),
    train: trainData,
    dev: devData,
    stages: [{ name: 'hard', steps: 120, lr: 5e-3, lrSchedule: { kind: 'constant' }, matches: [{ feature: 'labels', loss: 'ce', weight: 1 }] }],
    batchSize: 8,
    seed: 3,
    evalEvery: 20,
    ...over,
  };
}

// minDelta 2 cannot be beaten by an accuracy: every evaluation after the first is "no improvement",
// so the decisions below follow from the counting rules alone.
describe('train: early stopping and reduce on plateau', () => {
  it('stops after patience evaluations without improvement; a resumed run trains no further', async () => {
    const dir = tmp();
    const logFile = path.join(dir, 'log.jsonl');
    const checkpointDir = path.join(dir, 'ckpt');
    const res = await train(options({ earlyStopping: { patience: 2, minDelta: 2, mode: 'max' }, logFile, checkpointDir }));
    // Evals at 20 (best), 40 (wait 1), 60 (wait 2) → stop at 60.
    expect(res.steps).toBe(60);
    expect(res.stoppedEarlyAt).toBe(60);
    const records = readLog(logFile);
    expect(records.filter((r) => r.type === 'step')).toHaveLength(60);
    expect(records.filter((r) => r.type === 'eval').map((r) => r.step)).toEqual([20, 40, 60]);
    expect(records.some((r) => r.type === 'event' && /early stopping: accuracy has not improved for 2 evaluations/.test(r.message))).toBe(true);
    const latest = loadCheckpoint(checkpointDir, 'latest')!;
    expect(latest.state.step).toBe(60);
    expect(latest.state.stoppedEarlyAt).toBe(60);
    expect(latest.state.plateau?.stop).toMatchObject({ wait: 2, stopped: true });
    const again = await train(options({ earlyStopping: { patience: 2, minDelta: 2, mode: 'max' }, logFile, checkpointDir, resume: true }));
    expect(again.steps).toBe(60);
    expect(again.stoppedEarlyAt).toBe(60);
    again.student.dispose();
    res.student.dispose();
  });

  it('reduces the learning rate by factor after each plateau, down to minLr', async () => {
    const logFile = path.join(tmp(), 'log.jsonl');
    const res = await train(options({ reduceLrOnPlateau: { patience: 1, factor: 0.5, minDelta: 2, mode: 'max', cooldown: 0, minLr: 1e-3 }, logFile }));
    expect(res.steps).toBe(120);
    const lr = new Map((readLog(logFile).filter((r) => r.type === 'step') as StepRecord[]).map((r) => [r.step, r.lr]));
    // Evals at 20 (best), 40 → ×0.5, 60 → ×0.25, 80 → floor 1e-3 / 5e-3 = 0.2, 100 → already at the floor.
    expect([lr.get(1), lr.get(40), lr.get(41), lr.get(61), lr.get(81), lr.get(101), lr.get(120)]).toEqual([5e-3, 5e-3, 2.5e-3, 1.25e-3, 1e-3, 1e-3, 1e-3]);
    const events = readLog(logFile).filter((r) => r.type === 'event').map((r) => r.step);
    expect(events).toEqual([40, 60, 80]);
    res.student.dispose();
  });

  it('refuses early stopping without dev labels and bad settings, naming the option', async () => {
    await expect(train(options({ dev: undefined, earlyStopping: { patience: 2, minDelta: 0, mode: 'max' } }))).rejects.toThrow(/earlyStopping \/ reduceLrOnPlateau watch the dev metric/);
    await expect(train(options({ earlyStopping: { patience: 0, minDelta: 0, mode: 'max' } }))).rejects.toThrow(/earlyStopping.patience must be a positive integer, got 0/);
    await expect(train(options({ reduceLrOnPlateau: { patience: 1, factor: 1, minDelta: 0, mode: 'max', cooldown: 0, minLr: 0 } }))).rejects.toThrow(/reduceLrOnPlateau.factor must be in \(0, 1\), got 1/);
  });
});
