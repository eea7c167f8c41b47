import { describe, expect, it } from 'vitest';
import { dockerRateLimited, dockerServerError } from '../../src/sandbox/docker/emulator.ts';
import { attrs, setup } from './fixture.ts';
import { CountingObserver } from './observer-counter.ts';

/** What the Docker client tells a TransportObserver (the daemon's request, retry and rate-limit metrics). */

describe('the Docker client reports each exchange, retry and rate-limit wait', () => {
  it('a 429 then success: both answers by status, one retry, the Retry-After waited', async () => {
    const observer = new CountingObserver();
    const { emu, client } = await setup({}, { observer });
    const u = emu.seedUser({ userName: 'a@example.com' });
    emu.http.faults.add({ route: 'getUser', action: dockerRateLimited({ style: 'Retry-After', seconds: 0.3 }) });
    await client.getUser(u.id);
    expect(observer.requests).toEqual(['docker GET 429', 'docker GET 200']);
    expect(observer.retries).toEqual(['docker']);
    expect(observer.waitedMs('docker')).toBeGreaterThanOrEqual(300);
  });

  it('a write is reported with its own method', async () => {
    const observer = new CountingObserver();
    const { emu, client } = await setup({}, { observer });
    emu.http.faults.add({ route: 'createUser', action: dockerRateLimited({ style: 'Retry-After', seconds: 0.1 }) });
    await client.createUser(attrs('ada@example.com'));
    expect(observer.requests).toEqual(['docker POST 429', 'docker POST 201']);
    expect(observer.retries).toHaveLength(1);
  });

  it('backoff after a 5xx is a retry but not rate-limit wait; a 5xx naming Retry-After is', async () => {
    const observer = new CountingObserver();
    const { emu, client } = await setup({}, { observer, backoff: { baseMs: 40, capMs: 40 } });
    emu.http.faults.add({ route: 'serviceProviderConfig', action: dockerServerError(500) });
    await client.serviceProviderConfig();
    expect(observer.requests).toEqual(['docker GET 500', 'docker GET 200']);
    expect(observer.retries).toEqual(['docker']);
    expect(observer.waits).toEqual([]);

    emu.http.faults.add({ route: 'serviceProviderConfig', action: { type: 'status', status: 503, headers: { 'retry-after': '0.2' } } });
    await client.serviceProviderConfig();
    expect(observer.retries).toHaveLength(2);
    expect(observer.waitedMs('docker')).toBeGreaterThanOrEqual(200);
  });

  it('a request that got no answer is reported as a timeout', async () => {
    const observer = new CountingObserver();
    const { emu, client } = await setup({}, { observer, timeoutMs: 200 });
    emu.http.faults.add({ route: 'serviceProviderConfig', action: { type: 'delay', ms: 1_000 } });
    await client.serviceProviderConfig();
    expect(observer.requests).toEqual(['docker GET timeout', 'docker GET 200']);
    expect(observer.retries).toHaveLength(1);
    expect(observer.waits).toEqual([]);
  });

  it('a request that could not connect is reported as network', async () => {
    const observer = new CountingObserver();
    const { emu, client } = await setup({}, { observer, maxRetries: 1 });
    await emu.stop();
    await expect(client.serviceProviderConfig()).rejects.toMatchObject({ code: 'DOCKER_NETWORK' });
    expect(observer.requests).toEqual(['docker GET network', 'docker GET network']);
    expect(observer.retries).toHaveLength(1);
  });

  it('a wait for the pacing window is rate-limit wait, without any 429', async () => {
    const observer = new CountingObserver();
    // 3 a window: after two answers only the reserve is left, so the third request waits.
    const { emu, client } = await setup({ rateLimit: { perMinute: 3, windowMs: 500 } }, { observer, concurrency: 1 });
    for (let i = 0; i < 3; i++) await client.serviceProviderConfig();
    expect(emu.http.count({ status: 429 })).toBe(0);
    expect(observer.requests).toEqual(['docker GET 200', 'docker GET 200', 'docker GET 200']);
    expect(observer.retries).toEqual([]);
    expect(observer.waits.length).toBeGreaterThan(0);
    expect(observer.waitedMs('docker')).toBeGreaterThan(0);
  });
});

describe('the Docker client reports listing progress', () => {
  it('users and groups: a running count after each page, ending at the listing size, with totalResults', async () => {
    const observer = new CountingObserver();
    const { emu, client } = await setup({}, { observer, pageSize: 2 });
    for (let i = 0; i < 5; i++) emu.seedUser({ userName: `u${i}@example.com` });
    for (const team of ['acme:a', 'acme:b', 'acme:c']) await client.createGroup(team);
    await client.snapshot();
    expect(observer.counts('docker', 'users')).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
    // The SSO connection's default team exists too.
    expect(emu.groupNames()).toHaveLength(4);
    expect(observer.counts('docker', 'groups')).toEqual([
      [2, 4],
      [4, 4],
    ]);
  });
});
