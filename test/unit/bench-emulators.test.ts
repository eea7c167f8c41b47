import { afterEach, describe, expect, it } from 'vitest';
import { Directory } from '../../src/sandbox/directory.ts';
import { DockerScimEmulator } from '../../src/sandbox/docker/emulator.ts';
import { GroupText } from '../../src/sandbox/docker/group-text.ts';
import { groupJson, type StoredGroup, type StoredUser } from '../../src/sandbox/docker/wire.ts';
import { GraphEmulator } from '../../src/sandbox/entra/emulator.ts';
import { WindowLimiter } from '../../src/sandbox/http/rate-limit.ts';
import { OktaEmulator } from '../../src/sandbox/okta/emulator.ts';
import { httpsCall, type CallOptions, type RawAnswer } from '../support/https-call.ts';

/**
 * What the benchmark needs of the emulators beyond what the product's tests use: limits that can be
 * switched on after an unlimited setup run, Okta's per-endpoint buckets, windows aligned on the
 * clock (so a shortened window ends where its whole-second reset header says), Graph's resource
 * units in its log and a fractional Retry-After, and lookups that stay fast and correct at 100,000
 * users (a cached listing, a team PATCH that does not copy the team, an email index).
 */

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('a fixed-window limiter', () => {
  it('holds each bucket to its own limit where one is given', () => {
    const l = new WindowLimiter(5, 60_000, () => 1_000, { perBucket: { apps: 2 } });
    expect([1, 2, 3].map(() => l.hit('apps').limited)).toEqual([false, false, true]);
    expect(l.hit('apps').limit).toBe(2);
    expect([1, 2, 3, 4, 5, 6].map(() => l.hit('groups').limited)).toEqual([false, false, false, false, false, true]);
  });

  it('aligned, starts windows on the clock, so the whole-second reset is exact', () => {
    let now = 12_345;
    const aligned = new WindowLimiter(1, 6_000, () => now, { align: true });
    expect(aligned.hit('x').resetAt).toBe(18);
    now = 17_999;
    expect(aligned.hit('x')).toMatchObject({ limited: true, resetAt: 18 });
    now = 18_000;
    expect(aligned.hit('x')).toMatchObject({ limited: false, resetAt: 24 });
    // Not aligned: the window runs from the first request, and its reset is rounded up.
    now = 12_345;
    expect(new WindowLimiter(1, 6_000, () => now).hit('x').resetAt).toBe(19);
  });
});

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

describe('Okta emulator limits', () => {
  async function okta(): Promise<{ emu: OktaEmulator; dir: Directory; url: (p: string) => string; auth: Record<string, string> }> {
    const dir = new Directory();
    const emu = new OktaEmulator({ directory: dir, rateLimit: false });
    const base = await emu.start();
    stops.push(() => emu.stop());
    return { emu, dir, url: (p) => `${base}/api/v1${p}`, auth: { authorization: `SSWS ${emu.apiToken}` } };
  }

  it("limits /apps/* by its own bucket (okta.md §3.1), switched on and off at run time", async () => {
    const { emu, dir, url, auth } = await okta();
    const g = dir.addGroup('acme:backend');
    expect((await get(url(`/apps/${emu.appId}/users`), auth)).status).toBe(200);
    emu.setRateLimit({ perMinute: 100, buckets: { apps: 2 } });
    const apps = [];
    for (let i = 0; i < 3; i++) apps.push(await get(url(`/apps/${emu.appId}/users`), auth));
    expect(apps.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(apps[0]?.headers.get('x-rate-limit-limit')).toBe('2');
    const groups = await get(url(`/groups/${g.id}/users`), auth);
    expect(groups.status).toBe(200);
    expect(groups.headers.get('x-rate-limit-limit')).toBe('100');
    emu.setRateLimit(false);
    expect((await get(url(`/apps/${emu.appId}/users`), auth)).status).toBe(200);
  });

  it('answers one app user without listing them all, as the listing would', async () => {
    const { emu, dir, url, auth } = await okta();
    const direct = dir.addUser({ email: 'direct@example.com' });
    const viaGroup = dir.addUser({ email: 'via.group@example.com', assigned: false });
    const pending = dir.addUser({ email: 'pending@example.com', assigned: false });
    const outside = dir.addUser({ email: 'outside@example.com', assigned: false });
    dir.addGroup('Docker Users').members.add(viaGroup.id);
    dir.group('Docker Users').members.add(pending.id);
    dir.addGroup('not assigned', { assigned: false }).members.add(outside.id);
    emu.notYetAssigned.add(pending.id);
    const status = async (id: string) => (await get(url(`/apps/${emu.appId}/users/${id}`), auth)).status;
    expect(await status(direct.id)).toBe(200);
    expect(await status(viaGroup.id)).toBe(200);
    expect(await status(pending.id)).toBe(404);
    expect(await status(outside.id)).toBe(404);
    expect(await status('00000000-0000-4000-8000-00000000ffff')).toBe(404);
    const listed = (await get(url(`/apps/${emu.appId}/users`), auth)).body.map((u: { id: string }) => u.id);
    expect(listed.sort()).toEqual([direct.id, viaGroup.id].sort());
  });
});

describe('Docker emulator limits', () => {
  async function docker(): Promise<{ emu: DockerScimEmulator; base: string; auth: Record<string, string> }> {
    const emu = new DockerScimEmulator();
    const base = await emu.start();
    stops.push(() => emu.stop());
    return { emu, base, auth: { authorization: `Bearer ${emu.token}` } };
  }

  it('switches its limit on and off, aligned windows resetting on a whole minute', async () => {
    const { emu, base, auth } = await docker();
    expect((await get(`${base}/Users`, auth)).headers.get('x-ratelimit-limit')).toBeNull();
    emu.setRateLimit({ perMinute: 2, windowMs: 60_000, align: true });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await get(`${base}/Users`, auth));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(Number(answers[0]?.headers.get('x-ratelimit-reset')) % 60).toBe(0);
    emu.setRateLimit(false);
    const after = await get(`${base}/Users`, auth);
    expect(after.status).toBe(200);
    expect(after.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('lists users created or deleted since the last listing (the listing is cached between writes)', async () => {
    const { emu, base, auth } = await docker();
    emu.seedUser({ userName: 'a@example.com' });
    expect((await get(`${base}/Users?count=200`, auth)).body.totalResults).toBe(1);
    const b = emu.seedUser({ userName: 'b@example.com' });
    const res = await fetch(`${base}/Users`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'c@example.com' }),
    });
    expect(res.status).toBe(201);
    const listed = await get(`${base}/Users?count=200`, auth);
    expect(listed.body.resources.map((u: { userName: string }) => u.userName)).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    emu.deleteUser(b.id);
    expect((await get(`${base}/Users?count=200`, auth)).body.resources.map((u: { userName: string }) => u.userName)).toEqual(['a@example.com', 'c@example.com']);
  });
});

describe('the request log', () => {
  it('keeps write bodies unless told not to (100,000 create bodies are nothing the bench needs)', async () => {
    const emu = new DockerScimEmulator();
    const base = await emu.start();
    stops.push(() => emu.stop());
    const create = (userName: string) =>
      fetch(`${base}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName }),
      });
    await create('kept@example.com');
    emu.http.recordBodies = false;
    await create('dropped@example.com');
    expect(emu.http.requests.map((r) => [r.route, r.status, r.body !== undefined])).toEqual([
      ['createUser', 201, true],
      ['createUser', 201, false],
    ]);
  });
});

describe("a group's JSON from kept member texts", () => {
  const user = (id: string, userName: string): StoredUser =>
    ({ id, userName, givenName: null, familyName: null, displayName: id, active: true, role: 'member', org: 'acme', team: null, created: 't', lastModified: 't' }) as StoredUser;

  it('is byte for byte what the group rendered afresh is, through renames, removals and a new base URL', () => {
    const users = new Map([['u1', user('u1', 'a@example.com')], ['u2', user('u2', 'b"quote@example.com')]]);
    const g: StoredGroup = { id: 'g1', displayName: 'acme:backend', externalId: 'ext "1"', members: new Set(['u1', 'u2', 'gone']), created: 'c', lastModified: 'm' };
    const text = new GroupText();
    const o = { baseUrl: 'http://127.0.0.1:1/v2/scim/2.0', echoExtension: true };
    const same = () => expect(text.render(g, o, users)).toBe(JSON.stringify(groupJson(g, o, users)));
    same();
    (users.get('u1') as StoredUser).userName = 'renamed@example.com';
    same();
    g.members.delete('u2');
    g.members.add('u3');
    users.set('u3', user('u3', 'c@example.com'));
    same();
    g.externalId = null;
    same();
    const moved = { ...o, baseUrl: 'http://127.0.0.1:2/v2/scim/2.0' };
    expect(text.render(g, moved, users)).toBe(JSON.stringify(groupJson(g, moved, users)));
  });
});

describe('a team PATCH on the Docker emulator', () => {
  const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

  async function team(): Promise<{ emu: DockerScimEmulator; ids: Record<string, string>; patch: (ops: unknown[]) => Promise<number>; members: () => string[] }> {
    const emu = new DockerScimEmulator();
    const base = await emu.start();
    stops.push(() => emu.stop());
    const ids: Record<string, string> = {};
    for (const n of ['x', 'y', 'a', 'b']) ids[n] = emu.seedUser({ userName: `${n}@example.com`, team: null }).id;
    ids.off = emu.seedUser({ userName: 'off@example.com', active: false, team: null }).id;
    const auth = { authorization: `Bearer ${emu.token}`, 'content-type': 'application/scim+json' };
    const created = await fetch(`${base}/Groups`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'acme:backend', members: [{ value: ids.x }, { value: ids.y }] }),
    });
    const gid = ((await created.json()) as { id: string }).id;
    const patch = async (ops: unknown[]) => (await fetch(`${base}/Groups/${gid}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ schemas: [PATCH], Operations: ops }) })).status;
    // In the team's own order, not sorted: order is what a copy-free PATCH could get wrong.
    const members = () => (emu.group('acme:backend')?.members ?? []).map((id) => Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id);
    return { emu, ids, patch, members };
  }

  it('adds after the present members and keeps a present member where it is', async () => {
    const t = await team();
    expect(await t.patch([{ op: 'add', path: 'members', value: [{ value: t.ids.a }, { value: t.ids.x }] }])).toBe(200);
    expect(t.members()).toEqual(['x', 'y', 'a']);
  });

  it('puts a member removed and added again in one PATCH last, as the set it replaces did', async () => {
    const t = await team();
    expect(await t.patch([{ op: 'remove', path: 'members', value: [{ value: t.ids.x }] }, { op: 'add', path: 'members', value: [{ value: t.ids.x }] }])).toBe(200);
    expect(t.members()).toEqual(['y', 'x']);
  });

  it('removes by value filter, replaces, and clears', async () => {
    const t = await team();
    expect(await t.patch([{ op: 'remove', path: `members[value eq "${t.ids.x}"]` }])).toBe(200);
    expect(t.members()).toEqual(['y']);
    expect(await t.patch([{ op: 'replace', path: 'members', value: [{ value: t.ids.b }, { value: t.ids.a }] }])).toBe(200);
    expect(t.members()).toEqual(['b', 'a']);
    expect(await t.patch([{ op: 'remove', path: 'members' }, { op: 'add', path: 'members', value: [{ value: t.ids.y }] }])).toBe(200);
    expect(t.members()).toEqual(['y']);
  });

  it('changes nothing when a later operation is refused', async () => {
    const t = await team();
    const ops = [
      { op: 'add', path: 'members', value: [{ value: t.ids.a }] },
      { op: 'remove', path: 'members', value: [{ value: t.ids.x }] },
      { op: 'add', path: 'members', value: [{ value: t.ids.off }] },
    ];
    expect(await t.patch(ops)).toBe(400);
    expect(t.members()).toEqual(['x', 'y']);
  });
});

describe('Graph emulator', () => {
  function call(emu: GraphEmulator, method: string, path: string, opts: CallOptions = {}): Promise<RawAnswer> {
    return httpsCall(emu.certificate.caPem, method, `${emu.origin}${path}`, opts);
  }

  async function graph(): Promise<{ emu: GraphEmulator; dir: Directory; token: string }> {
    const dir = new Directory();
    for (let i = 0; i < 3; i++) dir.addUser({ email: `user${i}@example.com` });
    const emu = new GraphEmulator({ directory: dir });
    await emu.start();
    stops.push(() => emu.stop());
    const t = await call(emu, 'POST', `/${emu.tenantId}/oauth2/v2.0/token`, {
      form: { grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: 'https://graph.microsoft.com/.default' },
    });
    return { emu, dir, token: t.body.access_token as string };
  }

  it('logs the resource units each call was charged, batch items included and the batch itself free', async () => {
    const { emu, dir, token } = await graph();
    const [u0, u1] = [...dir.users.values()];
    await call(emu, 'GET', '/v1.0/users?$top=999', { bearer: token });
    await call(emu, 'GET', `/v1.0/groups/nope/transitiveMembers`, { bearer: token });
    await call(emu, 'POST', '/v1.0/$batch', {
      bearer: token,
      body: { requests: [{ id: '1', method: 'GET', url: `/users/${u0?.id}?$select=id` }, { id: '2', method: 'GET', url: `/users/${u1?.id}` }] },
    });
    expect(emu.log.map((r) => [r.route, r.inBatch, r.ru])).toEqual([
      ['users', false, 2],
      ['groupTransitiveMembers', false, 5],
      ['user', true, 1],
      ['user', true, 1],
      ['batch', false, 0],
    ]);
  });

  it('charges nothing for a throttled call, and can say Retry-After to the millisecond from a window aligned on the clock', async () => {
    const { emu, dir, token } = await graph();
    const u = [...dir.users.values()][0];
    emu.setThrottle({ ruPerWindow: 1, windowMs: 60_000, align: true, fractionalRetryAfter: true });
    expect((await call(emu, 'GET', `/v1.0/users/${u?.id}`, { bearer: token })).status).toBe(200);
    const limited = await call(emu, 'GET', `/v1.0/users/${u?.id}`, { bearer: token });
    const expected = 60 - (Date.now() % 60_000) / 1000;
    expect(limited.status).toBe(429);
    const header = String(limited.headers['retry-after']);
    expect(Math.abs(Number(header) - expected)).toBeLessThan(0.5);
    // Milliseconds, not a whole second rounded up (unless the window really ends on a whole second).
    if (!header.includes('.')) expect(Math.abs(expected - Math.round(expected))).toBeLessThan(0.05);
    expect(emu.log.at(-1)).toMatchObject({ status: 429, ru: 0 });
    // Whole seconds, from the first request, unless asked otherwise (the product's tests rely on it).
    emu.setThrottle({ ruPerWindow: 1, windowMs: 60_000 });
    await call(emu, 'GET', `/v1.0/users/${u?.id}`, { bearer: token });
    expect((await call(emu, 'GET', `/v1.0/users/${u?.id}`, { bearer: token })).headers['retry-after']).toBe('60');
    emu.setThrottle(false);
    expect((await call(emu, 'GET', `/v1.0/users/${u?.id}`, { bearer: token })).status).toBe(200);
  });
});

describe('a directory lookup by email', () => {
  it('finds users case-insensitively, the first of two spellings, and new users after the index was built', () => {
    const dir = new Directory();
    const upper = dir.addUser({ email: 'Dup.Person@example.com' });
    dir.addUser({ email: 'dup.person@example.com' });
    expect(dir.user('DUP.PERSON@example.com')).toBe(upper);
    const later = dir.addUser({ email: 'later@example.com' });
    expect(dir.user('Later@Example.com')).toBe(later);
  });

  it('follows an email changed through updateUser or by assignment, and forgets a removed user', () => {
    const dir = new Directory();
    const u = dir.addUser({ email: 'old@example.com' });
    expect(dir.user('old@example.com')).toBe(u);
    dir.updateUser(u.id, { email: 'new@example.com' });
    // The stale entry first: a lookup of the new address would rebuild the index and hide it.
    expect(() => dir.user('old@example.com')).toThrow(/no directory user/);
    expect(dir.user('new@example.com')).toBe(u);
    u.email = 'direct@example.com';
    expect(() => dir.user('new@example.com')).toThrow(/no directory user/);
    expect(dir.user('direct@example.com')).toBe(u);
    dir.removeUser(u.id);
    expect(() => dir.user('direct@example.com')).toThrow(/no directory user/);
  });
});
