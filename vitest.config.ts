import { defineConfig } from 'vitest/config';

/**
 * Test files that run against PostgreSQL as well: the behaviour suite, the worker semantics, the
 * CLI, process control, the daemonless mode, the chaos run, local resources, the HTTP API and the
 * dashboard. Their engine-only tests say so in their name.
 */
const BOTH_ENGINES = [
  'test/engines/**/*.test.ts',
  'test/chaos/*.test.ts',
  'test/integration/cli.test.ts',
  'test/integration/cli-observe.test.ts',
  'test/integration/cli-actions.test.ts',
  'test/integration/daemonless.test.ts',
  'test/integration/handlers.test.ts',
  'test/integration/lifecycle.test.ts',
  'test/integration/processes.test.ts',
  'test/integration/workers.test.ts',
  'test/integration/wake.test.ts',
  'test/server/**/*.test.ts',
  'test/integration/resources.test.ts',
  'test/browser/**/*.test.ts',
];
/** Files about one engine only say so in their name. */
const POSTGRES_ONLY = 'test/**/postgres*.test.ts';

// Tests start real processes and share two cores in CI: generous timeouts, limited parallelism.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          exclude: [POSTGRES_ONLY],
          env: { DOCKET_TEST_ENGINE: 'sqlite' },
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: [...BOTH_ENGINES, POSTGRES_ONLY],
          env: { DOCKET_TEST_ENGINE: 'postgres' },
          globalSetup: ['test/setup/postgres.ts'],
        },
      },
    ],
  },
});
