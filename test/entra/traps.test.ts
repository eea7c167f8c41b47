import { ClientSecretCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { batchItemThrottled } from '../../src/sandbox/entra/faults.ts';
import { customHostsFor, isMicrosoftAuthority } from '../../src/sources/entra/client.ts';
import { GRAPH_SCOPE, PEOPLE, byName, startFixture, type Fixture } from './setup.ts';

/**
 * One test per trap of entra-graph.md §0 that a client can fall into silently: each passes only
 * because the reader avoids the trap, and the emulator is strict enough to expose it.
 */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

/** The query of every logged Graph request to `route`, parsed. */
function queries(route: string): URLSearchParams[] {
  return (fx as Fixture).emu.log.filter((r) => r.route === route).map((r) => new URLSearchParams(r.query));
}

describe('gotcha 1: the bearer token is on every Graph request, followed nextLinks included', () => {
  it('sends a valid bearer on every request, first pages, next pages and the batch alike', async () => {
    fx = await startFixture({ users: 12, emulator: { pageSize: 4 } });
    for (let i = 0; i < 9; i++) fx.dir.addMember('acme:backend', `user${i}@example.com`);
    await fx.source().read();

    expect(fx.emu.auth.unauthenticated).toBe(0);
    expect(fx.emu.log.length).toBeGreaterThan(10);
    expect(fx.emu.log.filter((r) => r.bearer !== 'valid')).toEqual([]);
    // The follow-up pages really were fetched through their nextLinks (they carry $skiptoken).
    expect(queries('appRoleAssignedTo').filter((q) => q.has('$skiptoken')).length).toBeGreaterThanOrEqual(3);
    expect(queries('groupMembers').filter((q) => q.has('$skiptoken')).length).toBeGreaterThanOrEqual(2);
    // Nothing else reached the server unauthenticated either (the base's log knows every request).
    expect(fx.emu.http.count({ status: 401 })).toBe(0);
  });

  it('names the Graph host without its port in customHosts, which is what the SDK matches', () => {
    expect([...customHostsFor('https://127.0.0.1:8443')]).toEqual(['127.0.0.1']);
    expect([...customHostsFor('https://graph-proxy.corp.example:443/')]).toEqual(['graph-proxy.corp.example']);
    // Microsoft's Graph hosts are in the SDK's own list.
    expect([...customHostsFor('https://graph.microsoft.com')]).toEqual([]);
    expect([...customHostsFor('https://graph.microsoft.us')]).toEqual([]);
  });

  it('(control) the emulator catches a client that falls into the trap: host:port in customHosts sends no token', async () => {
    fx = await startFixture({ users: 1 });
    const credential = new ClientSecretCredential(fx.emu.tenantId, fx.emu.clientId, fx.emu.clientSecret, { authorityHost: fx.origin, disableInstanceDiscovery: true });
    const naive = Client.initWithMiddleware({
      authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] }),
      baseUrl: `${fx.origin}/`,
      customHosts: new Set([new URL(fx.origin).host]),
    });
    await expect(naive.api(`/servicePrincipals(appId='${fx.emu.appId}')`).get()).rejects.toMatchObject({ statusCode: 401, code: 'InvalidAuthenticationToken' });
    expect(fx.emu.auth.unauthenticated).toBe(1);
    expect(fx.emu.log.at(-1)?.bearer).toBe('missing');
  });
});

describe('gotcha 3: offline authorities skip instance discovery', () => {
  it('turns instance discovery off for the emulator and keeps it for Microsoft\'s authorities', async () => {
    expect(isMicrosoftAuthority('https://login.microsoftonline.com')).toBe(true);
    expect(isMicrosoftAuthority('https://login.microsoftonline.us')).toBe(true);
    expect(isMicrosoftAuthority('https://127.0.0.1:8443')).toBe(false);
    fx = await startFixture({ users: 1 });
    await fx.source().read();
    // Discovery of the tenant's own metadata on the emulator, and no other host asked (the read would hang or fail).
    expect(fx.emu.http.count({ route: 'discovery' })).toBe(1);
    expect(fx.emu.http.count({ route: 'token' })).toBe(1);
  });
});

describe('gotcha 10: properties outside the default set need $select', () => {
  it('names accountEnabled and the extension properties in $select of member listings and batch reads', async () => {
    fx = await startFixture({ users: 3 });
    const snap = await fx.source().read();
    const org = fx.emu.extensionProperty('dockerOrg');
    const team = fx.emu.extensionProperty('dockerTeam');

    for (const q of [...queries('groupMembers'), ...queries('user')]) {
      const select = (q.get('$select') ?? '').split(',');
      expect(select).toEqual(expect.arrayContaining(['id', 'userPrincipalName', 'mail', 'givenName', 'surname', 'accountEnabled', org, team]));
      // Nothing is read that is not used.
      expect(select).not.toContain('onPremisesExtensionAttributes');
    }
    expect(queries('user').length).toBeGreaterThan(0);
    // And the emulator serves only what was named, so these values prove the $select worked.
    expect(byName(snap, PEOPLE.alice)).toMatchObject({ active: true, dockerOrg: ['acme'], dockerTeam: ['backend', 'data'] });
    expect(byName(snap, PEOPLE.bob).active).toBe(false);
  });

  it('selects onPremisesExtensionAttributes only when an attribute is read from it', async () => {
    fx = await startFixture({ users: 1, emulator: { attributes: { dockerRole: 'appRole', dockerOrg: { extensionAttribute: 7 }, dockerTeam: 'none' } } });
    const snap = await fx.source({ attributes: { dockerRole: { kind: 'appRole' }, dockerOrg: { kind: 'extensionAttribute', index: 7 }, dockerTeam: { kind: 'none' } } }).read();
    for (const q of queries('user')) expect(q.get('$select')?.split(',')).toContain('onPremisesExtensionAttributes');
    expect(byName(snap, PEOPLE.alice).dockerOrg).toEqual(['acme']);
  });
});

describe('gotcha 8: a throttled $batch item comes inside a 200 and is retried after its own Retry-After', () => {
  it('retries only the throttled items, after the Retry-After they carry, and the read succeeds', async () => {
    fx = await startFixture({ users: 3 });
    const grace = fx.dir.user(PEOPLE.grace).id;
    fx.emu.batchFaults.add({ url: `/users/${grace}`, action: batchItemThrottled(1) });
    const snap = await fx.source().read();

    expect(byName(snap, PEOPLE.grace)).toMatchObject({ givenName: 'Grace' });
    expect(fx.emu.batchFaults.fired).toEqual([{ url: expect.stringContaining(`/users/${grace}?$select=`), status: 429 }]);
    // The group names' batch, the users' batch, and the retry of the users' one.
    const batches = fx.emu.http.requests.filter((r) => r.route === 'batch');
    expect(batches.map((b) => b.status)).toEqual([200, 200, 200]);
    // The retry carries only the item that was throttled, and waited for its Retry-After.
    expect((batches[2]?.body as { requests: Array<{ url: string }> }).requests.map((r) => r.url)).toEqual([expect.stringContaining(`/users/${grace}?`)]);
    expect((batches[1]?.body as { requests: Array<{ url: string }> }).requests.map((r) => r.url)).toContainEqual(expect.stringContaining(`/users/${grace}?`));
    expect((batches[2]?.at ?? 0) - (batches[1]?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
    const warn = fx.logs.lines.find((l) => l.route === 'POST /$batch' && l.status === 429);
    expect(warn).toMatchObject({ level: 'warn', items: 1, attempt: 1, waitMs: 1_000 });
  });

  it('builds batch items with URLs relative to the version, at most 20 a batch', async () => {
    // Pages of one user: the tenant listing finds fewer than a batch reads a request, so it stops
    // after three pages and the rest are read by id.
    fx = await startFixture({ users: 45, emulator: { pageSize: 1 } });
    await fx.source().read();
    expect(fx.emu.http.count({ route: 'users' })).toBe(3);
    const batches = fx.emu.http.requests.filter((r) => r.route === 'batch');
    // The 3 group names first, in a batch of their own (every user is converted as it is read, so
    // the names come before any user); then 45 plain + bob, frank, grace, heidi (alice came with
    // acme:backend's members) − 3 listed = 46 users.
    const sizes = batches.map((b) => (b.body as { requests: unknown[] }).requests.length);
    expect(sizes[0]).toBe(3);
    expect(sizes.slice(1).sort((a, b) => a - b)).toEqual([6, 20, 20]);
    for (const b of batches) for (const item of (b.body as { requests: Array<{ url: string; method: string }> }).requests) expect(item.url).toMatch(/^\/(users|groups)\/[^/]+\?\$select=/);
  });

  it('directly assigned users come from a listing of the tenant, a page of 999 for one request, not one $batch item each', async () => {
    fx = await startFixture({ users: 45 });
    const snap = await fx.source().read();
    expect(fx.emu.http.count({ route: 'users' })).toBe(1);
    const listing = fx.emu.http.requests.find((r) => r.route === 'users');
    expect(new URLSearchParams(listing?.query).get('$top')).toBe('999');
    expect(new URLSearchParams(listing?.query).get('$select')).toContain('accountEnabled');
    // Only the three group names are read by id.
    const items = fx.emu.http.requests.filter((r) => r.route === 'batch').flatMap((b) => (b.body as { requests: Array<{ url: string }> }).requests.map((i) => i.url));
    expect(items.map((u) => u.split('?')[0]?.split('/')[1])).toEqual(['groups', 'groups', 'groups']);
    expect(snap.users).toHaveLength(52);
    expect(byName(snap, 'user7@example.com')).toMatchObject({ active: true, groups: [] });
  });
});

describe('paging past the first page (gotcha 6: no PageIterator that stops after one item)', () => {
  it('follows nextLinks of assignments and group members to the end, asking $top=999', async () => {
    fx = await startFixture({ users: 20, emulator: { pageSize: 3 } });
    for (let i = 0; i < 10; i++) fx.dir.addMember('Docker Users', `user${i}@example.com`);
    for (let i = 0; i < 4; i++) fx.dir.addMember('Docker Users', fx.dir.addUser({ email: `member${i}@example.com`, assigned: false }).id);
    const snap = await fx.source().read();

    // 20 + 5 direct, carol and dave through groups, 4 members only of Docker Users.
    expect(snap.users).toHaveLength(31);
    expect(byName(snap, 'member3@example.com')).toMatchObject({ groups: ['Docker Users'], dockerRole: ['member'] });
    // 25 user assignments + 3 group assignments = 28 → 10 pages of 3.
    expect(fx.emu.http.count({ route: 'appRoleAssignedTo' })).toBe(10);
    expect(fx.emu.http.requests.filter((r) => r.route === 'groupMembers').length).toBe(1 + 1 + 5);
    for (const q of [...queries('appRoleAssignedTo'), ...queries('groupMembers')]) expect(q.get('$top')).toBe('999');
    expect(snap.stats.pages).toBe(10 + 7);
  });
});
