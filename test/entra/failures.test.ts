import { afterEach, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import {
  batchItemError,
  batchItemThrottled,
  graphError,
  graphServerError,
  graphServiceUnavailable,
  graphThrottled,
  htmlInsteadOfJson,
  tokenError,
} from '../../src/sandbox/entra/faults.ts';
import { PEOPLE, byName, rejectionOf, startFixture, type Fixture } from './setup.ts';
import { errorText } from '../support/logs.ts';

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

async function failure(p: Promise<unknown>): Promise<SourceReadError> {
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(SourceReadError);
  expect((err as SourceReadError).system).toBe('entra');
  return err as SourceReadError;
}

describe('a read that cannot complete throws and returns nothing', () => {
  it('an error on page 2 of the assignments (after retries) throws, and nothing after it is read', async () => {
    fx = await startFixture({ users: 10, emulator: { pageSize: 5 } });
    fx.emu.http.faults.add({ route: 'appRoleAssignedTo', page: 2, times: Infinity, action: graphServerError(500) });
    const err = await failure(fx.source().read());

    expect(err).toMatchObject({ status: 500, remoteCode: 'generalException', remoteMessage: 'An unexpected error occurred.', transient: true });
    expect(err.operation).toBe(`GET /servicePrincipals/${fx.emu.servicePrincipalId}/appRoleAssignedTo (page 2)`);
    expect(err.message).toContain('3 attempts');
    expect(err.message).toMatch(/request-id [0-9a-f-]{36}/);
    expect(err.hint).toMatch(/transient/);
    expect(fx.emu.http.count({ route: 'appRoleAssignedTo', status: 200 })).toBe(1);
    expect(fx.emu.http.count({ route: 'appRoleAssignedTo', status: 500 })).toBe(3);
    expect(fx.emu.http.count({ route: 'groupMembers' })).toBe(0);
    expect(fx.emu.http.count({ route: 'batch' })).toBe(0);
  });

  it('an error on a page of a group\'s members throws, naming the group', async () => {
    fx = await startFixture({ users: 10, emulator: { pageSize: 4 } });
    for (let i = 0; i < 10; i++) fx.dir.addMember('Docker Users', `user${i}@example.com`);
    const staff = fx.dir.group('Docker Users');
    fx.emu.http.faults.add({ route: 'groupMembers', page: 2, times: Infinity, action: graphServiceUnavailable(0) });
    const err = await failure(fx.source().read());
    expect(err.operation).toBe(`GET /groups/${staff.id}/members (page 2)`);
    expect(err).toMatchObject({ status: 503, remoteCode: 'serviceNotAvailable', transient: true });
  });

  it('a batch item still throttled after its retries fails the read', async () => {
    fx = await startFixture({ users: 2 });
    const bob = fx.dir.user(PEOPLE.bob).id;
    fx.emu.batchFaults.add({ url: `/users/${bob}`, times: Infinity, action: batchItemThrottled(0) });
    const err = await failure(fx.source().read());
    expect(err).toMatchObject({ status: 429, remoteCode: 'TooManyRequests', transient: true, operation: `GET /users/${bob} (in $batch)` });
    expect(err.message).toContain('3 attempts');
    expect(err.hint).toMatch(/throttling/);
    expect(fx.emu.batchFaults.fired).toHaveLength(3);
  });

  it('a batch item refused outright fails at once, with the item named', async () => {
    fx = await startFixture({ users: 2 });
    const group = fx.dir.group('acme:data').id;
    fx.emu.batchFaults.add({ url: `/groups/${group}`, action: batchItemError(404, 'Request_ResourceNotFound', `Resource '${group}' does not exist or one of its queried reference-property objects are not present.`) });
    const err = await failure(fx.source().read());
    expect(err).toMatchObject({ status: 404, remoteCode: 'Request_ResourceNotFound', operation: `GET /groups/${group} (in $batch)`, transient: false });
    expect(err.hint).toMatch(/disappeared while it was being read/);
    expect(fx.emu.http.count({ route: 'batch' })).toBe(1);
  });

  it('a truncated body throws', async () => {
    fx = await startFixture({ users: 10, emulator: { pageSize: 5 } });
    fx.emu.http.faults.add({ route: 'appRoleAssignedTo', page: 2, action: { type: 'truncate' } });
    const err = await failure(fx.source().read());
    expect(err.operation).toContain('(page 2)');
    expect(err.message).toContain('could not be read');
    expect(err.hint).toMatch(/proxy/);
    // A complete 200 that does not parse is not retried: it is not a transport hiccup.
    expect(fx.emu.http.count({ route: 'appRoleAssignedTo' })).toBe(2);
  });

  it('a 200 that is not JSON throws', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'servicePrincipalByAppId', action: htmlInsteadOfJson() });
    const err = await failure(fx.source().read());
    expect(err.operation).toBe(`GET /servicePrincipals(appId='${fx.emu.appId}')`);
    expect(err.message).toContain('not a JSON object');
  });

  it('a truncated $batch answer throws', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'batch', action: { type: 'truncate' } });
    const err = await failure(fx.source().read());
    expect(err.operation).toMatch(/^POST \/\$batch \(\d+ items, first GET \/groups\//);
    expect(err.message).toContain('could not be read');
  });

  it('a 503 storm past the retries throws, after waiting as Retry-After asked', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'servicePrincipalByAppId', times: Infinity, action: graphServiceUnavailable(0) });
    const err = await failure(fx.source({ maxRetries: 3 }).read());
    expect(err).toMatchObject({ status: 503, remoteCode: 'serviceNotAvailable', transient: true });
    expect(err.message).toContain('4 attempts');
    expect(fx.emu.http.count({ route: 'servicePrincipalByAppId', status: 503 })).toBe(4);
    expect(fx.logs.lines.filter((l) => l.msg === 'graph server error; retrying' && l.status === 503)).toHaveLength(3);
  });

  it('a token endpoint that keeps failing throws with the sign-in hint', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'token', times: Infinity, action: tokenError(500, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.') });
    const err = await failure(fx.source().read());
    expect(err).toMatchObject({ remoteCode: 'AADSTS90033', transient: true });
    expect(err.message).toBe('entra: signing in to Microsoft Entra ID failed: AADSTS90033: A transient error has occurred. Please try again.');
    expect(err.hint).toMatch(/temporarily unavailable/);
    expect(err.operation).toBe(`POST ${fx.origin}/${fx.emu.tenantId}/oauth2/v2.0/token`);
    // The credential retried (its pipeline, with our bounds); no Graph request went out without a token.
    expect(fx.emu.http.count({ route: 'token' })).toBe(3);
    expect(fx.emu.log).toEqual([]);
  });

  it('a token endpoint that does not answer is bounded too (MSAL itself would wait)', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'token', times: Infinity, action: { type: 'delay', ms: 3_000 } });
    const started = Date.now();
    const err = await failure(fx.source({ timeoutMs: 200, maxRetries: 1 }).read());
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(err.message).toContain('no answer from the sign-in service within 400 ms');
    expect(err).toMatchObject({ transient: true });
    expect(err.hint).toMatch(/did not answer in time/);
  });

  it('a 403 Authorization_RequestDenied throws with the least-privileged permissions and consent', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.permissions.delete('Application.Read.All');
    const err = await failure(fx.source().read());
    expect(err).toMatchObject({ status: 403, remoteCode: 'Authorization_RequestDenied', remoteMessage: 'Insufficient privileges to complete the operation.', transient: false });
    expect(err.hint).toContain('Application.Read.All, User.Read.All and GroupMember.Read.All');
    expect(err.hint).toContain('admin consent');
    expect(err.hint).toContain(fx.emu.clientId);
    // Not retried: it will not get better.
    expect(fx.emu.http.count({ route: 'servicePrincipalByAppId' })).toBe(1);
  });

  it('members listed without their properties (no User.Read.All) are not trusted: the read by id fails with the permission hint', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.permissions.delete('User.Read.All');
    const err = await failure(fx.source().read());
    expect(err).toMatchObject({ status: 403, remoteCode: 'Authorization_RequestDenied' });
    expect(err.operation).toMatch(/^GET \/users\/[0-9a-f-]+ \(in \$batch\)$/);
    expect(err.hint).toContain('User.Read.All');
  });

  it('a service principal that does not exist → 404 with a hint about ENTRA_APP_ID', async () => {
    fx = await startFixture({ users: 1 });
    const typo = '11111111-2222-3333-4444-555555555555';
    const err = await failure(fx.source({ appId: typo }).read());
    expect(err).toMatchObject({ status: 404, remoteCode: 'Request_ResourceNotFound', operation: `GET /servicePrincipals(appId='${typo}')` });
    expect(err.hint).toContain('ENTRA_APP_ID');
    expect(err.hint).toContain(typo);
    expect(err.hint).toContain('not its Object ID');
  });

  it('a dropped connection is retried, and after the retries it throws with a network hint', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'appRoleAssignedTo', action: { type: 'drop' } });
    expect((await fx.source().read()).users.length).toBeGreaterThan(0);
    expect(fx.logs.lines.some((l) => l.msg === 'graph request failed; retrying' && l.route === 'GET /servicePrincipals/{id}/appRoleAssignedTo')).toBe(true);

    fx.emu.http.resetLog();
    fx.emu.http.faults.add({ route: 'appRoleAssignedTo', times: Infinity, action: { type: 'drop' } });
    const err = await failure(fx.source().read());
    expect(err.message).toMatch(/cannot reach Microsoft Graph.*\(3 attempts\)/);
    expect(err.hint).toContain('GRAPH_BASE_URL');
    expect(err.transient).toBe(true);
    expect(fx.emu.http.count({ route: 'appRoleAssignedTo' })).toBe(3);
  });

  it('an answer slower than timeoutMs times out, is retried, then throws', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'group', times: Infinity, action: { type: 'delay', ms: 2_000 } });
    fx.emu.http.faults.add({ route: 'batch', times: Infinity, action: { type: 'delay', ms: 2_000 } });
    const started = Date.now();
    const err = await failure(fx.source({ timeoutMs: 150, maxRetries: 1 }).read());
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(err.message).toMatch(/timed out after 150 ms \(2 attempts\)/);
  });

  it('a cancelled read throws instead of returning what it had', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'groupMembers', times: Infinity, action: { type: 'delay', ms: 1_000 } });
    const controller = new AbortController();
    const read = fx.source().read(controller.signal);
    setTimeout(() => controller.abort(), 150);
    const err = await failure(read);
    expect(err.message).toContain('cancelled');
  });
});

describe('transient trouble is waited out', () => {
  it('a 429 with Retry-After is waited out, logged, and the request retried', async () => {
    fx = await startFixture({ users: 3, emulator: { pageSize: 4 } });
    fx.emu.http.faults.add({ route: 'appRoleAssignedTo', page: 2, action: graphThrottled(1) });
    const snap = await fx.source().read();
    expect(snap.users).toHaveLength(10);
    const log = fx.emu.http.requests.filter((r) => r.route === 'appRoleAssignedTo');
    expect(log.map((r) => r.status)).toEqual([200, 429, 200, 200]);
    expect((log[2]?.at ?? 0) - (log[1]?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect(fx.logs.lines.find((l) => l.status === 429)).toMatchObject({ level: 'warn', route: 'GET /servicePrincipals/{id}/appRoleAssignedTo', attempt: 1, waitMs: 1_000 });
  });

  it('500 and 502 are retried too (the SDK\'s own handler would not)', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'servicePrincipalByAppId', action: graphServerError(500) });
    fx.emu.http.faults.add({ route: 'groupMembers', action: graphServerError(502) });
    fx.emu.http.faults.add({ route: 'batch', action: graphError(504, 'UnknownError', 'Gateway timeout.') });
    const snap = await fx.source().read();
    expect(byName(snap, PEOPLE.carol).groups).toEqual(['Docker Users']);
    expect(fx.emu.http.faults.pending()).toBe(0);
    expect(fx.logs.lines.filter((l) => l.level === 'warn').map((l) => l.status).sort()).toEqual([500, 502, 504]);
  });

  it('resource-unit throttling is waited out and the read completes', async () => {
    // About 20 resource units for the whole read, 10 a second: the read must wait for a window at least once.
    fx = await startFixture({ users: 5, emulator: { throttle: { ruPerWindow: 10, windowMs: 1_000 } } });
    const snap = await fx.source({ maxRetries: 6 }).read();
    expect(snap.users).toHaveLength(12);
    expect(fx.emu.log.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(fx.logs.lines.some((l) => l.level === 'warn' && l.status === 429)).toBe(true);
  });
});

describe('errors never carry the secret', () => {
  it('a Graph error after a token was used carries no secret or token', async () => {
    fx = await startFixture({ users: 1 });
    fx.emu.http.faults.add({ route: 'servicePrincipalByAppId', times: Infinity, action: graphServerError(500) });
    const err = await failure(fx.source().read());
    expect(errorText(err)).not.toContain(fx.emu.clientSecret);
    expect(errorText(err)).not.toMatch(/Bearer /);
    expect(fx.logs.text()).not.toContain(fx.emu.clientSecret);
  });
});
