import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerScimClient } from '../../src/docker/client.ts';
import type { DockerApiError } from '../../src/docker/errors.ts';
import { SCIM_PREFIX, dockerRateLimited } from '../../src/sandbox/docker/emulator.ts';
import { ForwardingProxy } from '../support/proxy.ts';
import { captureLogs } from '../support/logs.ts';
import { attrs, setup } from './fixture.ts';
import { CountingObserver } from './observer-counter.ts';

/**
 * Shutdown (SIGTERM aborts the run's signal) ends the Docker client's waits at once and sends
 * nothing again, while a request already in flight is answered. The waits armed here are far
 * longer than the tests' own timeouts: a test that passes did not wait them out.
 */

/** Longer than any test below may take: honouring it would time the test out. */
const LONG_WAIT_S = 120;
const SHORT_TIMEOUT = 30_000;

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(5);
}

function rejection(p: Promise<unknown>): Promise<DockerApiError> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err as DockerApiError,
  );
}

let proxy: ForwardingProxy | null = null;
afterEach(async () => {
  await proxy?.stop();
  proxy = null;
});

describe('shutdown interrupts the Docker client\'s waits', () => {
  it(
    'a write waiting out a 429 (Retry-After 120 s) fails at once as DOCKER_ABORTED, sent once, nothing done',
    async () => {
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      // Abort once the client has decided to retry, i.e. while it waits.
      observer.onRetry = () => void delay(20).then(() => shutdown.abort());
      const { emu, client } = await setup({}, { observer, signal: shutdown.signal });
      emu.http.faults.add({ route: 'createUser', action: dockerRateLimited({ style: 'Retry-After', seconds: LONG_WAIT_S }) });
      const err = await rejection(client.createUser(attrs('ada@example.com')));
      expect(err).toMatchObject({ code: 'DOCKER_ABORTED', system: 'docker', transient: true });
      expect(err.message).toMatch(/stopped for shutdown before retrying \(the last attempt got 429\)/);
      expect(err.hint).toMatch(/acted on no attempt/);
      expect(emu.http.count({ route: 'createUser' })).toBe(1);
      expect(emu.allUsers()).toEqual([]);
    },
    SHORT_TIMEOUT,
  );

  it(
    'a write whose earlier attempt may have landed (a 503) fails as DOCKER_ABORTED_UNCONFIRMED',
    async () => {
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      observer.onRetry = () => void delay(20).then(() => shutdown.abort());
      const { emu, client } = await setup({}, { observer, signal: shutdown.signal });
      // Docker made the account, then the answer was lost behind a 503 that asks for a long wait.
      emu.http.faults.add({ route: 'createUser', when: 'after', action: { type: 'status', status: 503, headers: { 'retry-after': String(LONG_WAIT_S) } } });
      const err = await rejection(client.createUser(attrs('ada@example.com')));
      // The journal keeps this create recoverable: the next run looks for ada before planning.
      expect(err).toMatchObject({ code: 'DOCKER_ABORTED_UNCONFIRMED', transient: true });
      expect(err.hint).toMatch(/may have done it/);
      expect(emu.http.count({ route: 'createUser' })).toBe(1);
      expect(emu.allUsers().map((u) => u.userName)).toEqual(['ada@example.com']);
    },
    SHORT_TIMEOUT,
  );

  it(
    'a read stopped after a 503 is plain DOCKER_ABORTED: a GET changes nothing',
    async () => {
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      observer.onRetry = () => void delay(20).then(() => shutdown.abort());
      const { emu, client } = await setup({}, { observer, signal: shutdown.signal });
      emu.http.faults.add({ route: 'serviceProviderConfig', action: { type: 'status', status: 503, headers: { 'retry-after': String(LONG_WAIT_S) } } });
      const err = await rejection(client.serviceProviderConfig());
      expect(err).toMatchObject({ code: 'DOCKER_ABORTED' });
      expect(emu.http.count()).toBe(1);
    },
    SHORT_TIMEOUT,
  );

  it(
    'a request waiting for the pacing window is never sent',
    async () => {
      const shutdown = new AbortController();
      const logs = captureLogs();
      // 3 a minute: after two answers only the reserve is left, so the third waits for the window.
      const { emu, client } = await setup({ rateLimit: { perMinute: 3, windowMs: LONG_WAIT_S * 1000 } }, { signal: shutdown.signal, logger: logs.logger, concurrency: 1 });
      await client.serviceProviderConfig();
      await client.serviceProviderConfig();
      const third = rejection(client.createUser(attrs('ada@example.com')));
      await until(() => logs.lines.some((l) => /pacing: waiting/.test(String(l.msg))));
      shutdown.abort();
      const err = await third;
      expect(err).toMatchObject({ code: 'DOCKER_ABORTED' });
      expect(err.message).toMatch(/stopped for shutdown before it was sent/);
      expect(emu.http.count()).toBe(2);
      expect(emu.allUsers()).toEqual([]);
    },
    SHORT_TIMEOUT,
  );

  it(
    'shutdown during a retry wait stops other requests\' 429 pause too',
    async () => {
      const shutdown = new AbortController();
      const observer = new CountingObserver();
      const { emu, client } = await setup({}, { observer, signal: shutdown.signal, concurrency: 2 });
      const u = emu.seedUser({ userName: 'a@example.com' });
      emu.http.faults.add({ route: 'getUser', action: dockerRateLimited({ style: 'Retry-After', seconds: LONG_WAIT_S }) });
      const first = rejection(client.getUser(u.id));
      await until(() => observer.retries.length === 1);
      // The 429 paused the whole client: this request waits at the gate.
      const second = rejection(client.serviceProviderConfig());
      await delay(20);
      shutdown.abort();
      expect(await first).toMatchObject({ code: 'DOCKER_ABORTED' });
      expect(await second).toMatchObject({ code: 'DOCKER_ABORTED' });
      expect(emu.http.count()).toBe(1);
    },
    SHORT_TIMEOUT,
  );
});

describe('shutdown lets what is in flight finish', () => {
  it('a create already sent is answered and returned, not cut off', async () => {
    const { emu } = await setup();
    proxy = new ForwardingProxy({ target: emu.baseUrl });
    await proxy.start();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    proxy.hold = (req) => (req.method === 'POST' ? held : null);
    const shutdown = new AbortController();
    const client = new DockerScimClient({ baseUrl: `${proxy.origin}${SCIM_PREFIX}`, token: emu.token, logger: captureLogs().logger, signal: shutdown.signal });
    const create = client.createUser(attrs('ada@example.com'));
    await until(() => proxy?.exchanges.some((x) => x.method === 'POST') === true);
    shutdown.abort();
    release();
    const { user, existed } = await create;
    expect(existed).toBe(false);
    expect(user.userName).toBe('ada@example.com');
    expect(emu.allUsers().map((u) => u.id)).toEqual([user.id]);
  });

  it('a create answered 409 still looks the account up after shutdown: no wait, so no stop', async () => {
    const shutdown = new AbortController();
    const { emu, client } = await setup({}, { signal: shutdown.signal });
    const existing = emu.seedUser({ userName: 'ada@example.com' });
    shutdown.abort();
    const { user, existed } = await client.createUser(attrs('ada@example.com'));
    expect({ id: user.id, existed }).toEqual({ id: existing.id, existed: true });
  });

  it('a listing stops between pages: the read is thrown away whole', async () => {
    const shutdown = new AbortController();
    const observer = new CountingObserver();
    observer.onListed = () => shutdown.abort();
    const { emu, client } = await setup({}, { observer, signal: shutdown.signal, pageSize: 2 });
    for (let i = 0; i < 5; i++) emu.seedUser({ userName: `u${i}@example.com` });
    const err = await rejection(
      (async () => {
        for await (const _ of client.users());
      })(),
    );
    expect(err).toMatchObject({ code: 'DOCKER_ABORTED' });
    expect(err.message).toContain('GET /Users (page 2)');
    expect(emu.http.count({ route: 'listUsers' })).toBe(1);
  });
});
