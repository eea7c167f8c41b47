import { afterEach, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { batchItemThrottled, graphThrottled } from '../../src/sandbox/entra/faults.ts';
import { CountingObserver } from '../docker/observer-counter.ts';
import { PEOPLE, rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * The source's own shutdown signal (what createSource gets from the daemon) stops a read as the
 * read's signal does, and ends a Retry-After wait at once. The 120 s waits armed here are longer
 * than the tests may take: a test that passes did not wait them out.
 */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

async function cancelled(p: Promise<unknown>): Promise<void> {
  const err = (await rejectionOf(p)) as SourceReadError;
  expect(err).toBeInstanceOf(SourceReadError);
  expect(err.message).toContain('was cancelled');
}

describe('shutdown of the Entra source', () => {
  it(
    'ends a wait for a 429\'s Retry-After at once, without asking again',
    async () => {
      fx = await startFixture({ users: 3 });
      fx.emu.http.faults.add({ route: 'appRoleAssignedTo', action: graphThrottled(120) });
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      observer.onRetry = () => setTimeout(() => shutdown.abort(), 20);
      await cancelled(fx.source({ observer, signal: shutdown.signal }).read());
      expect(fx.emu.http.count({ route: 'appRoleAssignedTo' })).toBe(1);
    },
    30_000,
  );

  it(
    'ends a wait for a throttled $batch item at once, without sending the batch again',
    async () => {
      fx = await startFixture({ users: 3 });
      const bob = fx.dir.user(PEOPLE.bob).id;
      fx.emu.batchFaults.add({ url: `/users/${bob}`, action: batchItemThrottled(120) });
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      observer.onRetry = () => setTimeout(() => shutdown.abort(), 20);
      await cancelled(fx.source({ observer, signal: shutdown.signal }).read());
      // The group names have a batch of their own; the one carrying bob was sent once.
      const withBob = fx.emu.http.requests.filter((r) => r.route === 'batch' && JSON.stringify(r.body).includes(bob));
      expect(withBob).toHaveLength(1);
    },
    30_000,
  );

  it('a source whose signal is aborted reads nothing from Graph, whatever signal the read gets', async () => {
    fx = await startFixture({ users: 3 });
    const shutdown = new AbortController();
    shutdown.abort();
    await cancelled(fx.source({ signal: shutdown.signal }).read(new AbortController().signal));
    expect(fx.emu.http.requests.filter((r) => r.path.startsWith('/v1.0/'))).toHaveLength(0);
  });
});
