import { defineConfig } from 'vitest/config';

// Tests start real processes and share two cores in CI: generous timeouts, limited parallelism.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
