import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSession } from '../../src/teacher/session.ts';

const MODEL = path.resolve('test/fixtures/tiny-bert-opset17/onnx/model.onnx');

describe('createSession options', () => {
  it('allowSpinning: false is accepted by the binding (a session config entry) and computes the same outputs', async () => {
    const feeds = () => {
      const dims = [2, 5];
      return {
        input_ids: { data: BigInt64Array.from([101n, 7n, 8n, 9n, 102n, 101n, 10n, 102n, 0n, 0n]), dims, type: 'int64' as const },
        attention_mask: { data: BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 1n, 1n, 1n, 0n, 0n]), dims, type: 'int64' as const },
        token_type_ids: { data: new BigInt64Array(10), dims, type: 'int64' as const },
      };
    };
    const outputs: Float32Array[] = [];
    for (const allowSpinning of [undefined, false]) {
      const s = await createSession(MODEL, { provider: 'cpu', intraOpThreads: 2, allowSpinning, notice: () => {} });
      const r = await s.run(feeds());
      outputs.push(r[s.outputNames[0]].data);
      await s.release();
    }
    expect(outputs[0].length).toBeGreaterThan(0);
    expect(Array.from(outputs[1])).toEqual(Array.from(outputs[0]));
  });
});
