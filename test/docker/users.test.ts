import { describe, expect, it } from 'vitest';
import { DockerScimClient } from '../../src/docker/client.ts';
import { DockerApiError } from '../../src/docker/errors.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { UserAttributes } from '../../src/model/docker.ts';
import { readUser } from '../../src/docker/wire.ts';
import { dockerServerError } from '../../src/sandbox/docker/emulator.ts';
import { attrs, setup } from './fixture.ts';

const EXT = 'urn:ietf:params:scim:schemas:extension:docker:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe('paging', () => {
  it('reads 450 users in 3 pages of at most 200', async () => {
    const { emu, client } = await setup();
    for (let i = 0; i < 450; i++) emu.seedUser({ userName: `user${i}@example.com` });
    const users = await collect(client.users());
    expect(users).toHaveLength(450);
    expect(new Set(users.map((u) => u.id)).size).toBe(450);
    const pages = emu.http.requests.filter((r) => r.route === 'listUsers');
    expect(pages).toHaveLength(3);
    for (const p of pages) {
      const q = new URLSearchParams(p.query);
      expect(Number(q.get('count'))).toBeLessThanOrEqual(200);
    }
    expect(pages.map((p) => new URLSearchParams(p.query).get('startIndex'))).toEqual(['1', '201', '401']);
  });

  it('reads the RFC casing "Resources" too', async () => {
    const { emu, client } = await setup({ resourcesKey: 'Resources' });
    for (let i = 0; i < 250; i++) emu.seedUser({ userName: `user${i}@example.com` });
    expect(await collect(client.users())).toHaveLength(250);
    const snap = await client.snapshot();
    expect(snap.users).toHaveLength(250);
    expect(snap.groups.map((g) => g.displayName)).toEqual(['acme:everyone']);
    expect(snap.groups[0]?.members).toHaveLength(250);
  });

  it('never asks for more than 200 even when configured to', async () => {
    const { emu, client } = await setup({}, { pageSize: 1000 });
    for (let i = 0; i < 5; i++) emu.seedUser({ userName: `user${i}@example.com` });
    await collect(client.users());
    expect(new URLSearchParams(emu.http.requests[0]?.query).get('count')).toBe('200');
  });

  it('an error on page 2 makes users() throw, not return a partial list', async () => {
    const { emu, client } = await setup({}, { maxRetries: 1 });
    for (let i = 0; i < 450; i++) emu.seedUser({ userName: `user${i}@example.com` });
    emu.http.faults.add({ route: 'listUsers', page: 2, times: Infinity, action: dockerServerError(500) });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const u of client.users()) seen.push(u.id);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect((err as DockerApiError).code).toBe('DOCKER_HTTP_500');
    expect((err as DockerApiError).message).toContain('page 2');
    expect(seen).toHaveLength(200);
  });

  it('an empty page before totalResults is reached is an error, not the end', async () => {
    const { emu, client } = await setup({}, { pageSize: 2 });
    for (let i = 0; i < 5; i++) emu.seedUser({ userName: `user${i}@example.com` });
    emu.http.faults.add({ route: 'listUsers', page: 2, action: { type: 'status', status: 200, body: { totalResults: 5, resources: [] } } });
    await expect(collect(client.users())).rejects.toMatchObject({ code: 'DOCKER_BAD_RESPONSE' });
  });

  it('a server that ignores startIndex is caught, not looped on', async () => {
    const { emu, client } = await setup({}, { pageSize: 2 });
    for (let i = 0; i < 5; i++) emu.seedUser({ userName: `user${i}@example.com` });
    const first = (await (await fetch(`${emu.baseUrl}/Users?count=2`, { headers: { authorization: `Bearer ${emu.token}` } })).json()) as Record<string, unknown>;
    emu.http.resetLog();
    emu.http.faults.add({ route: 'listUsers', page: 2, action: { type: 'status', status: 200, body: first } });
    const err = (await collect(client.users()).catch((e: unknown) => e)) as DockerApiError;
    expect(err).toMatchObject({ code: 'DOCKER_BAD_RESPONSE' });
    expect(err.message).toContain('startIndex');
    // Page 1, the repeating page 2, and at most the page read ahead after it: never a loop.
    expect(emu.http.count({ route: 'listUsers' })).toBeLessThanOrEqual(3);
  });

  it('once the first page gives the total, the next pages are requested at once, and taken in order', async () => {
    const { emu, client } = await setup({ latencyMs: 20 }, { concurrency: 4 });
    for (let i = 0; i < 2000; i++) emu.seedUser({ userName: `user${i}@example.com` });
    const users = await collect(client.users());
    expect(users.map((u) => u.userName)).toEqual(Array.from({ length: 2000 }, (_, i) => `user${i}@example.com`));
    const starts = emu.http.requests.filter((r) => r.route === 'listUsers').map((p) => Number(new URLSearchParams(p.query).get('startIndex')));
    expect(starts.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 1 + 200 * i));
    // One round trip after another would never overlap.
    expect(emu.load.maxInFlight).toBeGreaterThan(1);
  });

  it('a page shorter than the first one: the pages asked for ahead at other offsets are dropped, nothing is skipped or read twice', async () => {
    const { emu, client } = await setup({}, { pageSize: 2 });
    for (let i = 0; i < 7; i++) emu.seedUser({ userName: `user${i}@example.com` });
    const short = (await (await fetch(`${emu.baseUrl}/Users?startIndex=3&count=1`, { headers: { authorization: `Bearer ${emu.token}` } })).json()) as Record<string, unknown>;
    expect(short.totalResults).toBe(7);
    emu.http.resetLog();
    emu.http.faults.add({ route: 'listUsers', page: 2, action: { type: 'status', status: 200, body: short } });
    const users = await collect(client.users());
    expect(users.map((u) => u.userName)).toEqual(Array.from({ length: 7 }, (_, i) => `user${i}@example.com`));
  });

  it('an error on page 2 makes snapshot() throw', async () => {
    const { emu, client } = await setup({}, { maxRetries: 0 });
    for (let i = 0; i < 250; i++) emu.seedUser({ userName: `user${i}@example.com` });
    emu.http.faults.add({ route: 'listUsers', page: 2, times: Infinity, action: { type: 'status', status: 400, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'nope' } } });
    await expect(client.snapshot()).rejects.toMatchObject({ code: 'DOCKER_HTTP_400', detail: 'nope' });
  });
});

describe('users on the wire', () => {
  it('maps name, active, Docker ID, the primary email and the extension', async () => {
    const { emu, client } = await setup();
    const seeded = emu.seedUser({ userName: 'jon.snow@example.com', givenName: 'Jon', familyName: 'Snow', role: 'editor', org: 'acmelabs', team: 'nightswatch' });
    const u = await client.getUser(seeded.id);
    expect(u).toEqual({ id: seeded.id, userName: 'jon.snow@example.com', givenName: 'Jon', familyName: 'Snow', active: true, role: 'editor', org: 'acmelabs', team: 'nightswatch', email: 'jon.snow@example.com', displayName: seeded.displayName });
  });

  it("sends the user's own address in emails, and reads back what Docker holds", async () => {
    const { emu, client } = await setup();
    const { user } = await client.createUser(attrs('ada@example.com', { email: 'ada.lovelace@mail.example.com' }));
    expect((emu.http.requests[0]?.body as { emails: unknown }).emails).toEqual([{ value: 'ada.lovelace@mail.example.com', primary: true }]);
    expect(user.email).toBe('ada.lovelace@mail.example.com');
    // Without an address of its own, emails is the userName again.
    const back = await client.replaceUser(user.id, attrs('ada@example.com'));
    expect(back.email).toBe('ada@example.com');
  });

  it('reads an extension without dockerTeam as team null', async () => {
    const { emu, client } = await setup();
    const seeded = emu.seedUser({ userName: 'org.only@example.com', org: 'acmelabs' });
    const u = await client.getUser(seeded.id);
    expect(u).toMatchObject({ role: 'member', org: 'acmelabs', team: null, givenName: null, familyName: null });
  });

  it('an echoed extension without dockerRole or dockerOrg leaves those unknown, not null', () => {
    const u = readUser({ id: 'x', userName: 'a@example.com', active: true, [EXT]: { dockerTeam: 'web' } });
    expect('role' in u).toBe(false);
    expect('org' in u).toBe(false);
    expect(u.team).toBe('web');
    expect(readUser({ id: 'x', userName: 'a@example.com', active: true, [EXT]: { dockerRole: null, dockerOrg: 'acme' } })).toMatchObject({ role: null, org: 'acme', team: null });
  });

  it('with the extension not echoed, role/org/team are undefined', async () => {
    const { emu, client } = await setup({ echoExtension: false });
    const created = await client.createUser(attrs('ada@example.com', { role: 'owner', team: 'core' }));
    expect(created.user.role).toBeUndefined();
    expect(created.user.org).toBeUndefined();
    expect(created.user.team).toBeUndefined();
    expect('role' in created.user).toBe(false);
    const got = await client.getUser(created.user.id);
    expect(got?.role).toBeUndefined();
    expect(got?.team).toBeUndefined();
    const [listed] = await collect(client.users());
    expect(listed?.org).toBeUndefined();
    // Docker still applied it.
    expect(emu.user(created.user.id)).toMatchObject({ role: 'owner', org: 'acme', team: 'core' });
  });

  it('getUser answers null on 404', async () => {
    const { emu, client } = await setup();
    const seeded = emu.seedUser({ userName: 'gone@example.com' });
    emu.deleteUser(seeded.id);
    expect(await client.getUser(seeded.id)).toBeNull();
    expect(emu.http.count({ route: 'getUser', status: 404 })).toBe(1);
  });

  it('sends application/scim+json and a bearer token', async () => {
    const { emu, client } = await setup();
    await client.createUser(attrs('ada@example.com'));
    expect(emu.mediaTypes).toEqual({ 'application/scim+json': 1 });
    expect(await client.serviceProviderConfig()).toMatchObject({ filter: { supported: true } });
  });

  it('tolerates a trailing slash on the base URL', async () => {
    const { emu } = await setup();
    const client = new DockerScimClient({ baseUrl: `${emu.baseUrl}/`, token: emu.token, logger: silentLogger() });
    await client.createUser(attrs('ada@example.com'));
    expect(emu.http.requests[0]?.path).toBe('/v2/scim/2.0/Users');
  });
});

describe('create', () => {
  it('POST answers 201 with a new id and a server-made Docker ID', async () => {
    const { emu, client } = await setup();
    const { user, existed } = await client.createUser(attrs('ada@example.com'));
    expect(existed).toBe(false);
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(user.displayName).toMatch(/^ada\d+$/);
    expect(emu.http.count({ route: 'createUser', status: 201 })).toBe(1);
    const body = emu.http.requests[0]?.body as Record<string, unknown>;
    expect(body).toEqual({
      schemas: [CORE, EXT],
      userName: 'ada@example.com',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ value: 'ada@example.com', primary: true }],
      active: true,
      [EXT]: { dockerRole: 'member', dockerOrg: 'acme', dockerTeam: 'everyone' },
    });
    expect(body).not.toHaveProperty('enabled');
  });

  it('a 409 on a duplicate returns the existing account with existed: true', async () => {
    const { emu, client } = await setup();
    const manual = emu.seedUser({ userName: 'Ada@Example.com' });
    const { user, existed } = await client.createUser(attrs('ada@example.com'));
    expect(existed).toBe(true);
    expect(user.id).toBe(manual.id);
    expect(emu.http.count({ route: 'createUser', status: 409 })).toBe(1);
    expect(emu.allUsers()).toHaveLength(1);
  });

  it('a 409 after a lost answer to our own POST is taken as created', async () => {
    const { emu, client } = await setup();
    // The write happens, its answer is replaced by a 502: the retry then meets the account it made.
    emu.http.faults.add({ route: 'createUser', when: 'after', action: dockerServerError(502) });
    const { user, existed } = await client.createUser(attrs('ada@example.com'));
    expect(existed).toBe(false);
    expect(user.id).toBe(emu.user('ada@example.com')?.id);
    expect(emu.allUsers()).toHaveLength(1);
    expect(emu.http.summary()).toMatchObject({ 'POST createUser 502': 1, 'POST createUser 409': 1 });
  });

  it('no free seat → DOCKER_SEATS with Docker\'s detail and a hint', async () => {
    const { client } = await setup({ orgs: [{ name: 'acme', seatLimit: 2 }, { name: 'acmelabs' }] });
    await client.createUser(attrs('a@example.com'));
    await client.createUser(attrs('b@example.com'));
    const err = (await client.createUser(attrs('c@example.com')).catch((e: unknown) => e)) as DockerApiError;
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err.code).toBe('DOCKER_SEATS');
    expect(err.status).toBe(403);
    expect(err.detail).toBe("Not enough seats in organization 'acme'. Add more seats or contact your administrator.");
    expect(err.message).toContain('POST /Users');
    expect(err.message).toContain('Not enough seats');
    expect(err.hint).toMatch(/seats/);
    expect(err.hint).toMatch(/pending invitations/);
    expect(err.transient).toBe(false);
    // Another org still has room.
    await expect(client.createUser(attrs('d@example.com', { org: 'acmelabs', team: null }))).resolves.toMatchObject({ existed: false });
  });

  it('recognises the seat error by its text whatever the status', async () => {
    const { emu, client } = await setup({ orgs: [{ name: 'acme', seatLimit: 1 }], seatErrorStatus: 400 });
    emu.seedUser({ userName: 'first@example.com' });
    await expect(client.createUser(attrs('b@example.com'))).rejects.toMatchObject({ code: 'DOCKER_SEATS', status: 400 });
  });

  it('reactivating into a full org is refused the same way', async () => {
    const { emu, client } = await setup({ orgs: [{ name: 'acme', seatLimit: 1 }] });
    const off = emu.seedUser({ userName: 'off@example.com', active: false });
    emu.seedUser({ userName: 'on@example.com' });
    await expect(client.replaceUser(off.id, attrs('off@example.com'))).rejects.toMatchObject({ code: 'DOCKER_SEATS' });
    expect(emu.user(off.id)?.active).toBe(false);
  });

  it('an unknown role or org is a 400 invalidValue with a hint', async () => {
    const { client } = await setup();
    const err = (await client.createUser(attrs('a@example.com', { org: 'nosuchorg' })).catch((e: unknown) => e)) as DockerApiError;
    expect(err).toMatchObject({ code: 'DOCKER_HTTP_400', scimType: 'invalidValue', status: 400 });
    expect(err.hint).toMatch(/dockerOrg/);
  });
});

describe('PUT', () => {
  it('every PUT the client sends carries active and the extension', async () => {
    const { emu, client } = await setup();
    const { user } = await client.createUser(attrs('ada@example.com'));
    const ada = (over: Partial<UserAttributes>) => attrs('ada@example.com', { givenName: 'Augusta', ...over });
    await client.replaceUser(user.id, ada({}));
    await client.replaceUser(user.id, ada({ role: 'editor', team: null, org: 'acmelabs' }));
    const off = await client.replaceUser(user.id, ada({ active: false }));
    expect(off.active).toBe(false);
    await client.replaceUser(user.id, ada({ givenName: null, familyName: null }));
    const puts = emu.http.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(4);
    for (const p of puts) {
      const body = p.body as Record<string, unknown>;
      expect(typeof body.active).toBe('boolean');
      expect(body.schemas).toEqual([CORE, EXT]);
      expect(body.userName).toBe('ada@example.com');
      expect(body).toHaveProperty('name');
      expect(body[EXT]).toMatchObject({ dockerRole: expect.any(String), dockerOrg: expect.any(String) });
      expect(body).not.toHaveProperty('enabled');
    }
    expect((puts[1]?.body as Record<string, Record<string, unknown>>)[EXT]).toEqual({ dockerRole: 'editor', dockerOrg: 'acmelabs' });
    expect(emu.quirks.putWithoutActive).toBe(0);
    // Docker never clears a name: a PUT without the parts leaves them.
    expect(emu.user(user.id)).toMatchObject({ givenName: 'Augusta', familyName: 'Lovelace', active: true, role: 'member', org: 'acme', team: 'everyone' });
  });

  it('a PUT without active deactivates the user (Docker quirk) and is counted', async () => {
    const { emu } = await setup();
    const u = emu.seedUser({ userName: 'ada@example.com', givenName: 'Ada' });
    expect(emu.teamMembers('acme:everyone')).toEqual(['ada@example.com']);
    const res = await fetch(`${emu.baseUrl}/Users/${u.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: [CORE], name: { givenName: 'Ada', familyName: 'Lovelace' } }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { active: boolean }).active).toBe(false);
    expect(emu.user(u.id)?.active).toBe(false);
    expect(emu.quirks.putWithoutActive).toBe(1);
    expect(emu.teamMembers('acme:everyone')).toEqual([]);
  });

  it('the documented `enabled` works too', async () => {
    const { emu } = await setup();
    const u = emu.seedUser({ userName: 'ada@example.com', active: false });
    const res = await fetch(`${emu.baseUrl}/Users/${u.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: [CORE], enabled: true }),
    });
    expect(res.status).toBe(200);
    expect(emu.user(u.id)?.active).toBe(true);
    expect(emu.quirks.putWithoutActive).toBe(0);
  });

  it('a PUT may change userName, and 409 when it is taken', async () => {
    const { emu, client } = await setup();
    const a = emu.seedUser({ userName: 'a@example.com' });
    emu.seedUser({ userName: 'b@example.com' });
    const moved = await client.replaceUser(a.id, attrs('a.new@example.com'));
    expect(moved.userName).toBe('a.new@example.com');
    await expect(client.replaceUser(a.id, attrs('B@example.com'))).rejects.toMatchObject({ code: 'DOCKER_CONFLICT', status: 409 });
  });

  it('a PUT to a user that vanished is DOCKER_NOT_FOUND', async () => {
    const { emu, client } = await setup();
    const a = emu.seedUser({ userName: 'a@example.com' });
    emu.deleteUser(a.id);
    await expect(client.replaceUser(a.id, attrs('a@example.com'))).rejects.toMatchObject({ code: 'DOCKER_NOT_FOUND', status: 404 });
  });

  it('the client never sends DELETE', async () => {
    const { emu, client } = await setup();
    const { user } = await client.createUser(attrs('a@example.com'));
    await client.replaceUser(user.id, attrs('a@example.com', { active: false }));
    expect(emu.http.count({ method: 'DELETE' })).toBe(0);
    expect(emu.user(user.id)?.active).toBe(false);
  });
});
