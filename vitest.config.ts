import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native SQLite and real sockets: forked workers keep each file's servers and handles apart.
    pool: 'forks',
    // Most end-to-end time is spent waiting (Retry-After, backoff, child processes starting), not
    // computing, so more workers than cores finish the suite sooner.
    maxWorkers: 4,
    // Generous: CI shares a busy two-core machine; a bound catches a hang, never measures speed.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The product never reads proxies from the test environment: the Okta SDK applies HTTPS_PROXY to
    // every request and the Azure credential reads it too (reference: okta.md §0.7, entra-graph.md §5.5).
    env: { HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '' },
  },
});
