import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs backends and onnxruntime sessions are process-global: one fork per file keeps them apart.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
