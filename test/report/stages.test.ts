/** stages.json: records replace by stage name in first-run order, and the run folder is made when missing. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStages, recordStage } from '../../src/report/stages.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stages-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('recordStage', () => {
  it('writes into a run folder that does not exist yet (cache with cache.dir elsewhere runs first)', () => {
    const file = path.join(tmp, 'not-yet', 'run', 'stages.json');
    recordStage(file, { stage: 'cache', runtime: 'onnxruntime cpu', seconds: 3 });
    recordStage(file, { stage: 'train', runtime: 'tfjs cpu', seconds: 5 });
    recordStage(file, { stage: 'cache', runtime: 'onnxruntime cpu', seconds: 4 });
    expect(readStages(file).map((s) => [s.stage, s.seconds])).toEqual([['cache', 4], ['train', 5]]);
  });
});
