import { describe, expect, it } from 'vitest';
import { setup } from './fixture.ts';

describe('pacing on X-RateLimit-Remaining', () => {
  it('waits for the window instead of drawing 429s', async () => {
    // 12 requests per 1 s window; 30 requests from 4 concurrent callers need 3 windows.
    const { emu, client } = await setup({ rateLimit: { perMinute: 12, windowMs: 1000 }, latencyMs: 5 }, { concurrency: 4 });
    const ids = Array.from({ length: 30 }, (_, i) => emu.seedUser({ userName: `u${i}@example.com` }).id);
    const t0 = Date.now();
    const got = await Promise.all(ids.map((id) => client.getUser(id)));
    const elapsed = Date.now() - t0;
    expect(got.every((u) => u !== null)).toBe(true);
    expect(emu.http.count({ status: 429 })).toBeLessThanOrEqual(1);
    expect(client.stats.throttled).toBeLessThanOrEqual(1);
    expect(client.stats.paceWaitMs).toBeGreaterThan(0);
    // At least two window resets were waited for, and not much more.
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(8000);
  });

  it('every response carries the rate-limit headers, and a 429 the configured retry header', async () => {
    const { emu } = await setup({ rateLimit: { perMinute: 2, windowMs: 60_000, retryHeader: 'X-Retry-After' } });
    const get = () => fetch(`${emu.baseUrl}/ServiceProviderConfig`, { headers: { authorization: `Bearer ${emu.token}` } });
    const first = await get();
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    await get();
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-retry-after'))).toBe(Number(first.headers.get('x-ratelimit-reset')));
    expect(await limited.json()).toMatchObject({ status: '429' });
  });

  it('a client without pacing state honours the emulator\'s own 429 + Retry-After', async () => {
    // Concurrency above the window budget: the first burst overshoots before any header is seen.
    const { emu, client } = await setup({ rateLimit: { perMinute: 3, windowMs: 1000 }, latencyMs: 20 }, { concurrency: 6 });
    const ids = Array.from({ length: 6 }, (_, i) => emu.seedUser({ userName: `u${i}@example.com` }).id);
    const got = await Promise.all(ids.map((id) => client.getUser(id)));
    expect(got.every((u) => u !== null)).toBe(true);
    expect(client.stats.throttled).toBeGreaterThan(0);
    expect(client.stats.throttled).toBeLessThanOrEqual(4);
  });
});

describe('concurrency', () => {
  it('never has more than `concurrency` requests in flight', async () => {
    const { emu, client } = await setup({ latencyMs: 30 }, { concurrency: 3 });
    const ids = Array.from({ length: 20 }, (_, i) => emu.seedUser({ userName: `u${i}@example.com` }).id);
    const { group } = await client.createGroup('acme:wide');
    await Promise.all([
      ...ids.map((id) => client.getUser(id)),
      client.addMembers(group.id, ids.slice(0, 5)),
      client.findUserByUserName('u3@example.com'),
      client.snapshot(),
    ]);
    expect(emu.load.maxInFlight).toBe(3);
  });

  it('one request at a time with concurrency 1', async () => {
    const { emu, client } = await setup({ latencyMs: 10 }, { concurrency: 1 });
    const ids = Array.from({ length: 8 }, (_, i) => emu.seedUser({ userName: `u${i}@example.com` }).id);
    await Promise.all(ids.map((id) => client.getUser(id)));
    expect(emu.load.maxInFlight).toBe(1);
  });
});
