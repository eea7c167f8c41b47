import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_DELTA_TTL_MS } from '../../src/sandbox/entra/delta.ts';
import { graphDeltaExpired, graphServerError, graphThrottled } from '../../src/sandbox/entra/faults.ts';
import { httpsCall, type RawAnswer } from '../support/https-call.ts';
import { GRAPH_SCOPE, PEOPLE, startFixture, type Fixture } from './setup.ts';

/**
 * The emulator's `users/delta`, `groups/delta` and a user's `memberOf`, on the wire without any SDK
 * (entra-graph.md §1.5, §8.6): what a change-feed reader depends on. One emulator for the file; each
 * test starts from the delta's present end, so what it changes is all its token call sees.
 */

let fx: Fixture;
let bearer = '';
let clock = Date.now();

beforeAll(async () => {
  fx = await startFixture({ users: 3, emulator: { pageSize: 4 } });
  fx.dir.now = () => clock;
  const t = await httpsCall(fx.emu.certificate.caPem, 'POST', `${fx.origin}/${fx.emu.tenantId}/oauth2/v2.0/token`, {
    form: { grant_type: 'client_credentials', client_id: fx.emu.clientId, client_secret: fx.emu.clientSecret, scope: GRAPH_SCOPE },
  });
  bearer = t.body.access_token as string;
});
afterAll(() => fx.stop());
beforeEach(() => {
  fx.emu.http.faults.clear();
  fx.emu.delta.faults.expire = null;
  fx.emu.delta.faults.replay = null;
  fx.emu.delta.faults.emptyPages = 0;
  fx.emu.delta.ttlMs = DEFAULT_DELTA_TTL_MS;
  fx.emu.pageSize = 4;
  fx.emu.setThrottle(false);
});

const get = (pathOrUrl: string): Promise<RawAnswer> => httpsCall(fx.emu.certificate.caPem, 'GET', pathOrUrl.startsWith('https:') ? pathOrUrl : `${fx.origin}/v1.0${pathOrUrl}`, { bearer });
const USER_SELECT = 'id,accountEnabled,userPrincipalName,givenName';

/** Every page of a delta round: the entries, the pages, and the deltaLink it ends with. */
async function round(first: string): Promise<{ entries: any[]; pages: RawAnswer[]; deltaLink: string }> {
  const pages: RawAnswer[] = [];
  let next: string | undefined = first;
  while (next) {
    const page = await get(next);
    expect(page.status).toBe(200);
    pages.push(page);
    next = page.body['@odata.nextLink'];
    if (!next) return { entries: pages.flatMap((p) => p.body.value), pages, deltaLink: page.body['@odata.deltaLink'] };
  }
  throw new Error('unreachable');
}

const latest = async (resource: 'users' | 'groups', query: string): Promise<string> => {
  const r = await get(`/${resource}/delta?$deltatoken=latest&${query}`);
  expect(r.status).toBe(200);
  expect(r.body.value).toEqual([]);
  expect(r.body['@odata.nextLink']).toBeUndefined();
  return r.body['@odata.deltaLink'] as string;
};

describe('users/delta', () => {
  it('a first call pages through every user with $skiptoken nextLinks on its own origin, and ends with a deltaLink', async () => {
    const r = await round(`/users/delta?$select=${USER_SELECT}`);
    expect(r.entries.map((u) => u.id)).toEqual([...fx.dir.users.keys()].sort());
    expect(r.pages.length).toBe(Math.ceil(fx.dir.users.size / 4));
    for (const p of r.pages.slice(0, -1)) expect(p.body['@odata.nextLink']).toMatch(new RegExp(`^${fx.origin}/v1\\.0/users/delta\\?\\$skiptoken=`));
    expect(r.deltaLink).toMatch(new RegExp(`^${fx.origin}/v1\\.0/users/delta\\?\\$deltatoken=`));
    // $select honoured: what was asked (accountEnabled is no default property), and id.
    expect(Object.keys(r.entries[0]).sort()).toEqual(['accountEnabled', 'givenName', 'id', 'userPrincipalName']);
    // Nothing changed since: the deltaLink answers nothing.
    expect((await round(r.deltaLink)).entries).toEqual([]);
  });

  it('a token call answers changed users with the selected properties, deleted ones as @removed, and nothing for unselected properties or assignments', async () => {
    const link = await latest('users', `$select=${USER_SELECT}`);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alicia' });
    fx.dir.updateUser(PEOPLE.bob, { enabled: true });
    // Not tracked: surname is not selected; an assignment is no user property (§1.1).
    fx.dir.updateUser(PEOPLE.heidi, { familyName: 'Hill' });
    fx.dir.updateUser('user0@example.com', { assigned: false });
    const gone = fx.dir.addUser({ email: 'temp@example.com' });
    fx.dir.removeUser(gone.id);
    const r = await round(link);
    expect(r.entries).toEqual([
      { id: fx.dir.user(PEOPLE.alice).id, accountEnabled: true, userPrincipalName: PEOPLE.alice, givenName: 'Alicia' },
      { id: fx.dir.user(PEOPLE.bob).id, accountEnabled: true, userPrincipalName: PEOPLE.bob, givenName: 'Bob' },
      { id: gone.id, '@removed': { reason: 'deleted' } },
    ]);
    // The new deltaLink starts after these.
    expect((await round(r.deltaLink)).entries).toEqual([]);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alice' });
    fx.dir.updateUser(PEOPLE.bob, { enabled: false });
  });

  it('loses no change after a gap in the log (a bulk load bumps the version without a record)', async () => {
    fx.dir.version += 1;
    const link = await latest('users', '$select=id,givenName');
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'After the gap' });
    expect((await round(link)).entries).toEqual([{ id: fx.dir.user(PEOPLE.alice).id, givenName: 'After the gap' }]);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alice' });
  });

  it('tracks directory extensions when $select names them', async () => {
    const ext = fx.emu.extensionProperty('dockerTeam');
    const link = await latest('users', `$select=id,${ext}`);
    fx.dir.setAttribute(PEOPLE.alice, 'dockerTeam', ['backend']);
    const r = await round(link);
    expect(r.entries).toEqual([{ id: fx.dir.user(PEOPLE.alice).id, [ext]: ['backend'] }]);
    fx.dir.setAttribute(PEOPLE.alice, 'dockerTeam', ['backend', 'data']);
  });

  it("$filter=id eq '…' or … narrows to those users, at most 50; $top, $expand and $orderby are refused", async () => {
    const alice = fx.dir.user(PEOPLE.alice).id;
    const bob = fx.dir.user(PEOPLE.bob).id;
    const link = await latest('users', `$select=id,givenName&$filter=id eq '${alice}' or id eq '${bob}'`);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'A' });
    fx.dir.updateUser(PEOPLE.heidi, { givenName: 'H' });
    expect((await round(link)).entries).toEqual([{ id: alice, givenName: 'A' }]);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alice' });
    fx.dir.updateUser(PEOPLE.heidi, { givenName: 'Heidi' });

    const ids = Array.from({ length: 51 }, (_, i) => `id eq '00000000-0000-4000-8000-${String(i).padStart(12, '0')}'`).join(' or ');
    expect(await get(`/users/delta?$filter=${ids}`)).toMatchObject({ status: 400, body: { error: { code: 'Request_UnsupportedQuery' } } });
    expect(await get(`/users/delta?$filter=startswith(mail,'a')`)).toMatchObject({ status: 400, body: { error: { code: 'Request_UnsupportedQuery' } } });
    for (const q of ['$top=5', '$expand=manager', '$orderby=id']) expect((await get(`/users/delta?${q}`)).status).toBe(400);
  });

  it('a token older than its lifetime answers 410 Gone with a Location to start over', async () => {
    const link = await latest('users', '$select=id');
    clock += DEFAULT_DELTA_TTL_MS + 1;
    const r = await get(link);
    expect(r).toMatchObject({ status: 410, body: { error: { code: 'resyncRequired' } } });
    expect(r.headers.location).toBe(`${fx.origin}/v1.0/users/delta?$deltatoken=`);
    // A fresh link works again; an unknown token is syncStateNotFound.
    expect((await get(await latest('users', '$select=id'))).status).toBe(200);
    expect(await get('/users/delta?$deltatoken=bm90LWEtdG9rZW4')).toMatchObject({ status: 400, body: { error: { code: 'syncStateNotFound' } } });
  });

  it.each([
    ['gone', 410, 'resyncRequired'],
    ['syncStateNotFound', 400, 'syncStateNotFound'],
    ['resyncRequired', 400, 'resyncRequired'],
  ] as const)('a fault expires the next token call: %s', async (how, status, code) => {
    const link = await latest('users', '$select=id');
    fx.emu.delta.faults.expireNext(how);
    expect(await get(link)).toMatchObject({ status, body: { error: { code } } });
    expect((await get(link)).status).toBe(200);
    expect(fx.emu.delta.faults.fired).toContain(`expire users ${how}`);
  });

  it('the route fault graphDeltaExpired answers as an expired link does', async () => {
    fx.emu.http.faults.add({ route: 'usersDelta', action: graphDeltaExpired() });
    const r = await get('/users/delta?$deltatoken=latest');
    expect(r).toMatchObject({ status: 410, body: { error: { code: 'resyncRequired' } } });
    expect(r.headers.location).toBe('/v1.0/users/delta?$deltatoken=');
    fx.emu.http.faults.add({ route: 'groupsDelta', action: graphDeltaExpired('syncStateNotFound') });
    expect(await get('/groups/delta?$deltatoken=latest')).toMatchObject({ status: 400, body: { error: { code: 'syncStateNotFound' } } });
  });

  it('faults replay changes already delivered, and put empty pages with nextLinks first', async () => {
    const first = await latest('users', '$select=id,givenName');
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'A1' });
    const second = (await round(first)).deltaLink;
    fx.dir.updateUser(PEOPLE.heidi, { givenName: 'H1' });
    fx.emu.delta.faults.replay = { changes: 1 };
    fx.emu.delta.faults.emptyPages = 2;
    const r = await round(second);
    expect(r.pages.slice(0, 2).map((p) => p.body.value)).toEqual([[], []]);
    // heidi's change, then alice's again (late and repeated), as alice is now.
    expect(r.entries).toEqual([
      { id: fx.dir.user(PEOPLE.heidi).id, givenName: 'H1' },
      { id: fx.dir.user(PEOPLE.alice).id, givenName: 'A1' },
    ]);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alice' });
    fx.dir.updateUser(PEOPLE.heidi, { givenName: 'Heidi' });
  });

  it('throttles like every Graph route (429, Retry-After, throttle headers), and page faults hit page N', async () => {
    fx.emu.setThrottle({ ruPerWindow: 1, windowMs: 60_000 });
    expect((await get('/users/delta?$deltatoken=latest')).status).toBe(200);
    const limited = await get('/users/delta?$deltatoken=latest');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.headers['x-ms-throttle-information']).toBe('ResourceUnitLimitExceeded');
    fx.emu.setThrottle(false);

    fx.emu.http.faults.add({ route: 'usersDelta', page: 2, action: graphServerError(503) });
    const page1 = await get('/users/delta?$select=id');
    expect((await get(page1.body['@odata.nextLink'])).status).toBe(503);
    fx.emu.http.faults.add({ route: 'groupsDelta', action: graphThrottled(3) });
    expect(await get('/groups/delta?$deltatoken=latest')).toMatchObject({ status: 429, headers: { 'retry-after': '3' } });
  });
});

describe('groups/delta', () => {
  it('reports members who joined and left as members@delta, nesting as a group member, and nothing for an assignment', async () => {
    const backend = fx.dir.group('acme:backend');
    const data = fx.dir.group('acme:data');
    const link = await latest('groups', `$select=displayName,members&$filter=id eq '${backend.id}' or id eq '${data.id}'`);
    fx.dir.addMember('acme:backend', PEOPLE.erin);
    fx.dir.removeMember('acme:backend', PEOPLE.dave);
    fx.dir.setGroupAssigned('acme:data', false);
    fx.dir.addMember('Docker Users', PEOPLE.bob); // not in the filter
    const r = await round(link);
    expect(r.entries).toEqual([
      {
        id: backend.id,
        displayName: 'acme:backend',
        'members@delta': [
          { '@odata.type': '#microsoft.graph.user', id: fx.dir.user(PEOPLE.erin).id },
          { '@odata.type': '#microsoft.graph.user', id: fx.dir.user(PEOPLE.dave).id, '@removed': { reason: 'deleted' } },
        ],
      },
    ]);
    const extra = fx.dir.addGroup('acme:extra', { assigned: false });
    fx.dir.nestGroup('acme:backend', extra.id);
    const nested = await round(r.deltaLink);
    expect(nested.entries[0]['members@delta']).toContainEqual({ '@odata.type': '#microsoft.graph.group', id: extra.id });

    fx.dir.removeMember('acme:backend', PEOPLE.erin);
    fx.dir.addMember('acme:backend', PEOPLE.dave);
    fx.dir.setGroupAssigned('acme:data', true);
    fx.dir.removeMember('Docker Users', PEOPLE.bob);
  });

  it('a first call lists every group with all its members', async () => {
    const r = await round(`/groups/delta?$select=displayName,members&$filter=id eq '${fx.dir.group('acme:data').id}'`);
    expect(r.entries).toEqual([{ id: fx.dir.group('acme:data').id, displayName: 'acme:data', 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: fx.dir.user(PEOPLE.dave).id }] }]);
  });
});

describe("a user's groups", () => {
  it('memberOf lists direct groups, transitiveMemberOf also the groups they are nested in, on the wire and inside $batch', async () => {
    const erin = fx.dir.user(PEOPLE.erin).id;
    const direct = await get(`/users/${erin}/memberOf?$select=id,displayName`);
    expect(direct.body.value).toEqual([{ '@odata.type': '#microsoft.graph.group', id: fx.dir.group('acme:platform').id, displayName: 'acme:platform' }]);
    const transitive = await get(`/users/${erin}/transitiveMemberOf?$select=id,displayName`);
    expect(transitive.body.value.map((g: { displayName: string }) => g.displayName).sort()).toEqual(['acme:backend', 'acme:platform']);
    expect((await get('/users/00000000-0000-4000-8000-0000000fffff/memberOf')).status).toBe(404);

    const batch = await httpsCall(fx.emu.certificate.caPem, 'POST', `${fx.origin}/v1.0/$batch`, {
      bearer,
      body: { requests: [{ id: '1', method: 'GET', url: `/users/${fx.dir.user(PEOPLE.dave).id}/memberOf?$select=id,displayName&$top=999` }] },
    });
    expect(batch.body.responses[0].body.value.map((g: { displayName: string }) => g.displayName)).toEqual(['acme:backend', 'acme:data'].sort());
  });
});
