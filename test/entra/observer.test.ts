import { afterEach, describe, expect, it } from 'vitest';
import { batchItemThrottled, graphServerError, graphThrottled, tokenError } from '../../src/sandbox/entra/faults.ts';
import { CountingObserver } from '../docker/observer-counter.ts';
import { PEOPLE, startFixture, type Fixture } from './setup.ts';

/**
 * What the Entra reader tells a TransportObserver: every exchange with Graph (`$batch` POSTs
 * included) and with the token endpoint, retries (a throttled `$batch` item is one), rate-limit
 * waits, listing progress.
 */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

describe('the Entra reader reports each exchange, retry and rate-limit wait', () => {
  it('a 429 then success: both answers by status, one retry, the Retry-After waited', async () => {
    fx = await startFixture({ users: 3 });
    fx.emu.http.faults.add({ route: 'appRoleAssignedTo', action: graphThrottled(0.3) });
    const observer = new CountingObserver();
    await fx.source({ observer }).read();
    // Every exchange the emulator saw (sign-in included), and no other.
    expect(observer.requests).toHaveLength(fx.emu.http.requests.length);
    expect(observer.requests).toContain('entra POST 200'); // the token, and the $batch
    expect(observer.requests.filter((r) => r === 'entra GET 429')).toHaveLength(1);
    expect(observer.retries).toEqual(['entra']);
    expect(observer.waitedMs('entra')).toBeGreaterThanOrEqual(300);
  });

  it('backoff after a 5xx is a retry but not rate-limit wait', async () => {
    fx = await startFixture({ users: 3 });
    fx.emu.http.faults.add({ route: 'appRoleAssignedTo', action: graphServerError(500) });
    const observer = new CountingObserver();
    await fx.source({ observer }).read();
    expect(observer.requests.filter((r) => r === 'entra GET 500')).toHaveLength(1);
    expect(observer.retries).toEqual(['entra']);
    expect(observer.waits).toEqual([]);
  });

  it('a $batch item throttled inside a 200 is a retry, and its Retry-After a rate-limit wait', async () => {
    fx = await startFixture({ users: 3 });
    fx.emu.batchFaults.add({ url: `/users/${fx.dir.user(PEOPLE.bob).id}`, action: batchItemThrottled(0.3) });
    const observer = new CountingObserver();
    await fx.source({ observer }).read();
    expect(observer.requests.filter((r) => r === 'entra POST 200').length).toBeGreaterThanOrEqual(3); // token, batch, batch again
    expect(observer.requests.some((r) => r.endsWith(' 429'))).toBe(false); // no HTTP exchange was refused
    expect(observer.retries).toEqual(['entra']);
    expect(observer.waitedMs('entra')).toBeGreaterThanOrEqual(300);
  });

  it('the token endpoint\'s 429 and its retry by the credential are reported', async () => {
    fx = await startFixture({ users: 3 });
    fx.emu.http.faults.add({ route: 'token', action: tokenError(429, 'temporarily_unavailable', 50196, 'The server is busy.', { 'retry-after': '0.3' }) });
    const observer = new CountingObserver();
    await fx.source({ observer }).read();
    // The sign-in's metadata GET, then the token POSTs; the $batch POST comes last.
    expect(observer.requests.filter((r) => r.startsWith('entra POST')).slice(0, 2)).toEqual(['entra POST 429', 'entra POST 200']);
    expect(observer.requests).toHaveLength(fx.emu.http.requests.length);
    expect(observer.retries).toEqual(['entra']);
    expect(observer.waitedMs('entra')).toBeGreaterThanOrEqual(300);
  });
});

describe('the Entra reader reports listing progress', () => {
  it('assignments and members: increasing counts after each page, ending at the listing size, no total', async () => {
    fx = await startFixture({ users: 10, emulator: { pageSize: 5 } });
    for (let i = 0; i < 7; i++) fx.dir.addMember('Docker Users', `user${i}@example.com`);
    const observer = new CountingObserver();
    await fx.source({ observer }).read();
    // 15 directly assigned users and 3 assigned groups, 5 a page.
    expect(observer.counts('entra', 'assignments')).toEqual([
      [5, null],
      [10, null],
      [15, null],
      [18, null],
    ]);
    // acme:backend: alice, dave and the nested acme:platform; acme:data: dave; Docker Users: carol
    // and 7 more (two pages). The groups are listed at once, so pages arrive in any order.
    const members = observer.counts('entra', 'members');
    expect(members).toHaveLength(4);
    expect(members.every(([n], i) => i === 0 || n > (members[i - 1] as [number, null])[0])).toBe(true);
    expect(members.at(-1)).toEqual([12, null]);
  });
});
