import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { oktaRateLimited, oktaServerError } from '../../src/sandbox/okta/faults.ts';
import { CountingObserver } from '../docker/observer-counter.ts';
import { startFixture, type Fixture } from './setup.ts';

/** What the Okta reader tells a TransportObserver: every exchange (token requests too), retries, rate-limit waits, listing progress. */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

describe('the Okta reader reports each exchange, retry and rate-limit wait', () => {
  it('a 429 then success: both answers by status, one retry, the wait for the window reset', async () => {
    fx = await startFixture({ users: 3 });
    fx.emu.http.faults.add({ route: 'listAppUsers', action: oktaRateLimited(1) });
    const observer = new CountingObserver();
    await fx.source({ observer }).read();
    expect(observer.requests.slice(0, 2)).toEqual(['okta GET 429', 'okta GET 200']);
    // One answer per request the emulator saw, nothing more.
    expect(observer.requests).toHaveLength(fx.emu.http.requests.length);
    expect(observer.requests.filter((r) => r.endsWith(' 429'))).toHaveLength(1);
    expect(observer.retries).toEqual(['okta']);
    // X-Rate-Limit-Reset is a whole second at least one second after the 429.
    expect(observer.waitedMs('okta')).toBeGreaterThanOrEqual(1_000);
  });

  it('backoff after a 5xx is a retry but not rate-limit wait', async () => {
    fx = await startFixture({ users: 3 });
    fx.emu.http.faults.add({ route: 'listAppGroups', action: oktaServerError(503) });
    const observer = new CountingObserver();
    await fx.source({ observer }).read();
    expect(observer.requests.filter((r) => r === 'okta GET 503')).toHaveLength(1);
    expect(observer.retries).toEqual(['okta']);
    expect(observer.waits).toEqual([]);
  });

  it('a request without an answer is reported as a timeout', async () => {
    fx = await startFixture({ users: 3 });
    fx.emu.http.faults.add({ route: 'listAppUsers', action: { type: 'delay', ms: 1_000 } });
    const observer = new CountingObserver();
    await fx.source({ observer, timeoutMs: 200 }).read();
    expect(observer.requests.slice(0, 2)).toEqual(['okta GET timeout', 'okta GET 200']);
    expect(observer.retries).toEqual(['okta']);
  });

  it('token requests are exchanges too', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    fx = await startFixture({ users: 3, emulator: { oauth: { clientId: '0oaservice0docker', publicKeyPem: publicKey } } });
    const observer = new CountingObserver();
    await fx.source({ observer, auth: { kind: 'privateKey', clientId: '0oaservice0docker', keyId: 'kid-1', privateKey } }).read();
    expect(observer.requests[0]).toBe('okta POST 200');
    expect(observer.requests).toHaveLength(fx.emu.http.requests.length);
  });
});

describe('the Okta reader reports listing progress', () => {
  it('users, groups and members: increasing counts after each page, ending at the listing size, no total', async () => {
    fx = await startFixture({ users: 510 });
    // 250 more members make acme:backend's member listing two pages (200 a page).
    for (let i = 0; i < 250; i++) fx.dir.addMember('acme:backend', `user${i}@example.com`);
    const observer = new CountingObserver();
    const snap = await fx.source({ observer }).read();

    const users = observer.counts('okta', 'users');
    expect(users).toEqual([
      [500, null],
      [snap.users.length, null],
    ]);
    expect(observer.counts('okta', 'groups')).toEqual([[snap.groups.length, null]]);

    const members = observer.counts('okta', 'members').map(([n]) => n);
    const total = snap.groups.reduce((n, g) => n + (g.memberCount ?? 0), 0);
    expect(total).toBeGreaterThan(250);
    // Two pages of acme:backend and one of acme:data, in whichever order they finish.
    expect(members).toHaveLength(3);
    expect(members.every((n, i) => i === 0 || n > (members[i - 1] as number))).toBe(true);
    expect(members.at(-1)).toBe(total);
  });
});
