import { afterEach, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { oktaRateLimited } from '../../src/sandbox/okta/faults.ts';
import { CountingObserver } from '../docker/observer-counter.ts';
import { rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * The source's own shutdown signal (what createSource gets from the daemon) stops a read as the
 * read's signal does, and ends a rate-limit wait at once. The 120 s reset armed here is longer than
 * the test may take: a test that passes did not wait it out.
 */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

describe('shutdown of the Okta source', () => {
  it(
    'ends a wait for a 429\'s window reset at once, without asking again',
    async () => {
      fx = await startFixture({ users: 3 });
      fx.emu.http.faults.add({ route: 'listAppUsers', action: oktaRateLimited(120) });
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      observer.onRetry = () => setTimeout(() => shutdown.abort(), 20);
      const err = (await rejectionOf(fx.source({ observer, signal: shutdown.signal }).read())) as SourceReadError;
      expect(err).toBeInstanceOf(SourceReadError);
      expect(err.message).toContain('cancelled');
      expect(fx.emu.http.count({ route: 'listAppUsers' })).toBe(1);
    },
    30_000,
  );

  it(
    'ends a pacing wait at once; the time it waited is rate-limit wait',
    async () => {
      // One request a window per bucket: the app-groups listing waits for the app-users one's window.
      fx = await startFixture({ users: 3, emulator: { rateLimit: { perMinute: 1, windowMs: 120_000 } } });
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      const read = fx.source({ observer, signal: shutdown.signal }).read();
      while (!fx.logs.lines.some((l) => l.msg === 'okta rate limit nearly used; pausing until the window resets')) await new Promise((r) => setTimeout(r, 5));
      shutdown.abort();
      const err = (await rejectionOf(read)) as SourceReadError;
      expect(err.message).toContain('cancelled');
      expect(observer.requests).toEqual(['okta GET 200']);
      expect(observer.waits).toHaveLength(1);
      expect(fx.emu.http.count({ route: 'listAppGroups' })).toBe(0);
    },
    30_000,
  );

  it('a source whose signal is aborted reads nothing, whatever signal the read gets', async () => {
    fx = await startFixture({ users: 3 });
    const shutdown = new AbortController();
    shutdown.abort();
    const source = fx.source({ signal: shutdown.signal });
    const err = (await rejectionOf(source.read(new AbortController().signal))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain('cancelled');
    expect(fx.emu.http.requests).toHaveLength(0);
  });
});
