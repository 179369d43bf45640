import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLog, TrainLog } from '../../src/train/log.ts';

const step = (n: number) => ({ type: 'step' as const, stage: 's', step: n, lr: 0.1, loss: 1 / n, parts: { ce: 1 / n } });

describe('TrainLog', () => {
  it('writes step records every k updates and eval/event records always', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'log-')), 'log.jsonl');
    const log = new TrainLog(file, 3);
    log.open();
    for (let n = 1; n <= 7; n++) log.write(step(n));
    log.write({ type: 'eval', step: 7, stage: 's', model: 'ema', metrics: { accuracy: 0.5 } });
    log.write({ type: 'event', step: 7, stage: 's', message: 'hello' });
    log.close();
    const recs = readLog(file);
    expect(recs.map((r) => `${r.type}:${r.step}`)).toEqual(['step:3', 'step:6', 'eval:7', 'event:7']);
    expect(recs[2]).toEqual({ type: 'eval', step: 7, stage: 's', model: 'ema', metrics: { accuracy: 0.5 } });
  });

  it('on resume drops records past the checkpoint and a torn last line', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'log-')), 'log.jsonl');
    const log = new TrainLog(file);
    log.open();
    for (let n = 1; n <= 5; n++) log.write(step(n));
    log.close();
    fs.appendFileSync(file, '{"type":"step","sta');
    expect(readLog(file)).toHaveLength(5);
    const resumed = new TrainLog(file);
    resumed.open(3);
    resumed.write(step(4));
    resumed.close();
    expect(readLog(file).map((r) => r.step)).toEqual([1, 2, 3, 4]);
    const fresh = new TrainLog(file);
    fresh.open();
    fresh.close();
    expect(readLog(file)).toEqual([]);
  });
});
