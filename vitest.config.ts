import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most files wait on subprocesses, servers and timers rather than compute: two at a time on
    // two cores (vitest's default in run mode is one fewer than the cores, here one).
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results.json' },
    // Every stack and adapter a test starts records the AWS calls its functions make, and the API's answers.
    env: { CERTOPS_RECORD_AWS_CALLS: resolve(import.meta.dirname, '.aws-calls'), CERTOPS_RECORD_API_ANSWERS: resolve(import.meta.dirname, '.api-answers') },
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/iam/**', 'test/after-suite/**'], globalSetup: ['test/iam/clear-recorded-calls.ts'], sequence: { groupOrder: 0 } } },
      // After the suite: the IAM coverage test evaluates the calls the suite recorded, and the answers it received are checked against GET /openapi.json.
      { extends: true, test: { name: 'iam', include: ['test/iam/**/*.test.ts', 'test/after-suite/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
