import { afterEach, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { htmlInsteadOfJson, oktaError, oktaForbidden, oktaRateLimited, oktaServerError } from '../../src/sandbox/okta/faults.ts';
import { rejectionOf, startFixture, type Fixture } from './setup.ts';
import { errorText } from '../support/logs.ts';

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

describe('a read that cannot complete throws and returns nothing', () => {
  it('an error on page 3 of the app users (after retries) throws SourceReadError', async () => {
    fx = await startFixture({ users: 1_100 });
    fx.emu.http.faults.add({ route: 'listAppUsers', page: 3, times: Infinity, action: oktaServerError(500) });
    const err = await rejectionOf(fx.source().read());

    expect(err).toBeInstanceOf(SourceReadError);
    const e = err as SourceReadError;
    expect(e).toMatchObject({ system: 'okta', status: 500, remoteCode: 'E0000009', remoteMessage: 'Internal Server Error', transient: true });
    expect(e.operation).toBe(`GET /api/v1/apps/${fx.emu.appId}/users (page 3)`);
    expect(e.message).toContain('3 attempts');
    expect(e.hint).toMatch(/transient/);
    // Pages 1 and 2 once, page 3 once plus two retries; nothing after it.
    expect(fx.emu.http.count({ route: 'listAppUsers', status: 200 })).toBe(2);
    expect(fx.emu.http.count({ route: 'listAppUsers', status: 500 })).toBe(3);
    expect(fx.emu.http.count({ route: 'listAppGroups' })).toBe(0);
  });

  it('an error on a page of a group-members read throws SourceReadError naming the group', async () => {
    fx = await startFixture({ users: 300 });
    for (let i = 0; i < 250; i++) fx.dir.addMember('acme:backend', `user${i}@example.com`);
    const backend = fx.dir.group('acme:backend');
    fx.emu.http.faults.add({ route: 'listGroupUsers', page: 2, times: Infinity, action: oktaServerError(503) });
    const err = (await rejectionOf(fx.source().read())) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toBe(`GET /api/v1/groups/${backend.id}/users (page 2, group "acme:backend")`);
    expect(err.status).toBe(503);
  });

  it('a truncated body throws SourceReadError', async () => {
    fx = await startFixture({ users: 1_100 });
    fx.emu.http.faults.add({ route: 'listAppUsers', page: 2, action: { type: 'truncate' } });
    const err = (await rejectionOf(fx.source().read())) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toContain('(page 2)');
    expect(err.message).toContain('could not be read');
    expect(err.hint).toMatch(/proxy/);
  });

  it('a 200 that is not JSON throws SourceReadError', async () => {
    fx = await startFixture({ users: 5 });
    fx.emu.http.faults.add({ route: 'listAppGroups', action: htmlInsteadOfJson() });
    const err = (await rejectionOf(fx.source().read())) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toBe(`GET /api/v1/apps/${fx.emu.appId}/groups (page 1)`);
  });

  it('a dropped connection is retried, and after the retries it throws with a network hint', async () => {
    fx = await startFixture({ users: 5 });
    fx.emu.http.faults.add({ route: 'listAppUsers', action: { type: 'drop' } });
    const snap = await fx.source().read();
    expect(snap.users).toHaveLength(10);

    fx.emu.http.resetLog();
    fx.emu.http.faults.add({ route: 'listAppUsers', times: Infinity, action: { type: 'drop' } });
    const err = (await rejectionOf(fx.source().read())) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toMatch(/cannot reach Okta \(ECONNRESET\) \(3 attempts\)/);
    expect(err.hint).toContain('OKTA_ORG_URL');
    expect(err.transient).toBe(true);
    expect(fx.emu.http.count({ route: 'listAppUsers' })).toBe(3);
  });

  it('an answer slower than timeoutMs times out, is retried, then throws', async () => {
    fx = await startFixture({ users: 5 });
    fx.emu.http.faults.add({ route: 'listAppUsers', times: Infinity, action: { type: 'delay', ms: 2_000 } });
    const err = (await rejectionOf(fx.source({ timeoutMs: 150, maxRetries: 1 }).read())) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    // Two attempts, each given up after 150 ms rather than waiting out the 2 s answer. On a loaded
    // machine an attempt can time out before the emulator even sees it, so the count of delays
    // the emulator served is not asserted.
    expect(err.message).toMatch(/timed out after 150 ms \(2 attempts\)/);
    expect(fx.emu.http.faults.fired.filter((f) => f.action === 'delay').length).toBeGreaterThanOrEqual(1);
  });

  it('a cancelled read throws instead of returning what it had', async () => {
    fx = await startFixture({ users: 5 });
    fx.emu.http.faults.add({ route: 'listAppGroups', action: { type: 'delay', ms: 1_000 } });
    const controller = new AbortController();
    const read = fx.source().read(controller.signal);
    setTimeout(() => controller.abort(), 100);
    const err = (await rejectionOf(read)) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain('cancelled');
  });
});

describe('transient trouble is waited out', () => {
  it('a 429 with reset headers is waited out and the request retried', async () => {
    fx = await startFixture({ users: 1_100 });
    fx.emu.http.faults.add({ route: 'listAppUsers', page: 2, action: oktaRateLimited(1) });
    const snap = await fx.source().read();
    expect(snap.users).toHaveLength(1_105);

    const log = fx.emu.http.requests.filter((r) => r.route === 'listAppUsers');
    expect(log.map((r) => r.status)).toEqual([200, 429, 200, 200]);
    const [, limited, retried] = log as [unknown, { at: number }, { at: number }];
    // Reset is one second after the 429 (rounded up to a whole second): the retry waited for it.
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(1_000);
    const wait = fx.logs.lines.find((l) => l.status === 429);
    expect(wait).toMatchObject({ level: 'warn', route: 'GET /api/v1/apps/{appId}/users', attempt: 1 });
    expect(wait?.waitMs as number).toBeGreaterThanOrEqual(1_000);
  });

  it('a 429 that outlasts the retries says so, with the rate-limit hint', async () => {
    fx = await startFixture({ users: 5 });
    fx.emu.http.faults.add({ route: 'listAppUsers', times: Infinity, action: oktaRateLimited(0) });
    const err = (await rejectionOf(fx.source({ maxRetries: 1 }).read())) as SourceReadError;
    expect(err).toMatchObject({ status: 429, remoteCode: 'E0000047', transient: true });
    expect(err.hint).toMatch(/rate-limit bucket/);
    expect(fx.emu.http.count({ route: 'listAppUsers', status: 429 })).toBe(2);
  });

  it('a 429 without reset headers (a concurrency limit at a proxy) falls back to backoff', async () => {
    fx = await startFixture({ users: 5 });
    fx.emu.http.faults.add({ route: 'listAppUsers', action: oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.') });
    const snap = await fx.source().read();
    expect(snap.users).toHaveLength(10);
    expect(fx.emu.http.requests.filter((r) => r.route === 'listAppUsers').map((r) => r.status)).toEqual([429, 200]);
  });

  it('a burst of 5xx is retried and the read succeeds', async () => {
    fx = await startFixture({ users: 1_100 });
    fx.emu.http.faults.add({ route: 'listAppUsers', page: 2, times: 2, action: oktaServerError(502) });
    fx.emu.http.faults.add({ route: 'listGroupUsers', times: 1, action: oktaServerError(500) });
    const snap = await fx.source({ maxRetries: 4 }).read();
    expect(snap.users).toHaveLength(1_105);
    expect(fx.emu.http.count({ route: 'listAppUsers', status: 502 })).toBe(2);
    expect(fx.emu.http.faults.pending()).toBe(0);
    expect(fx.logs.lines.filter((l) => l.msg === 'okta server error; retrying')).toHaveLength(3);
  });
});

describe('credentials and settings the admin must fix', () => {
  it('a bad API token → 401 with a hint about OKTA_API_TOKEN, and the token appears nowhere', async () => {
    fx = await startFixture({ users: 5 });
    const token = '00wrong-Token-Value_1234567890abcdef';
    const err = await rejectionOf(fx.source({ auth: { kind: 'token', token } }).read());
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err).toMatchObject({ status: 401, remoteCode: 'E0000011', remoteMessage: 'Invalid token provided' });
    expect((err as SourceReadError).hint).toContain('OKTA_API_TOKEN');
    expect(errorText(err)).not.toContain(token);
    expect(fx.logs.text()).not.toContain(token);
    // A 401 is not retried: it will not get better.
    expect(fx.emu.http.count({ route: 'listAppUsers' })).toBe(1);
  });

  it('a token without permission → 403 with a hint about roles', async () => {
    fx = await startFixture({ users: 5 });
    fx.emu.http.faults.add({ route: 'listAppUsers', action: oktaForbidden() });
    const err = (await rejectionOf(fx.source().read())) as SourceReadError;
    expect(err).toMatchObject({ status: 403, remoteCode: 'E0000006' });
    expect(err.hint).toMatch(/admin role/);
  });

  it('a wrong app id → 404 with a hint about OKTA_APP_ID', async () => {
    fx = await startFixture({ users: 5 });
    const err = (await rejectionOf(fx.source({ appId: '0oaTypo' }).read())) as SourceReadError;
    expect(err).toMatchObject({ status: 404, remoteCode: 'E0000007', operation: 'GET /api/v1/apps/0oaTypo/users (page 1)' });
    expect(err.hint).toContain('OKTA_APP_ID');
    expect(err.hint).toContain('0oaTypo');
  });

  it('an org URL where nothing listens → a network hint, after the retries', async () => {
    fx = await startFixture({ users: 1 });
    const base = fx.base;
    await fx.stop();
    fx = null;
    const { createOktaSource } = await import('../../src/sources/okta/index.ts');
    const { silentLogger } = await import('../../src/logging/logger.ts');
    const source = createOktaSource({ orgUrl: base, appId: '0oa1', auth: { kind: 'token', token: 'x'.repeat(20) }, logger: silentLogger(), maxRetries: 1, backoff: { baseMs: 1, capMs: 5 } });
    const err = (await rejectionOf(source.read())) as SourceReadError;
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.hint).toContain(base);
  });

  it('a group deleted mid-read fails the read rather than dropping its members', async () => {
    fx = await startFixture({ users: 5 });
    const dir = fx.dir;
    const data = dir.group('acme:data');
    // Deleted right after the assignment list named it (the hook runs before the answer is sent).
    fx.emu.http.onRequest = (rec) => {
      if (rec.route === 'listAppGroups') dir.groups.delete(data.id);
    };
    const err = (await rejectionOf(fx.source().read())) as SourceReadError;
    expect(err).toMatchObject({ status: 404, remoteCode: 'E0000007', operation: `GET /api/v1/groups/${data.id}/users (page 1, group "acme:data")` });
    expect(err.hint).toMatch(/disappeared/);
  });
});
