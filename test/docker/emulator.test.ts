import { afterEach, describe, expect, it } from 'vitest';
import { DockerScimEmulator, type DockerScimEmulatorOptions } from '../../src/sandbox/docker/emulator.ts';
import { raw } from './fixture.ts';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const EXT = 'urn:ietf:params:scim:schemas:extension:docker:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const running: DockerScimEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

async function start(opts: DockerScimEmulatorOptions = {}) {
  const emu = new DockerScimEmulator(opts);
  running.push(emu);
  await emu.start();
  return emu;
}

describe('Docker SCIM emulator', () => {
  it('serves under /v2/scim/2.0 with the documented discovery documents', async () => {
    const emu = await start();
    expect(emu.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\/scim\/2\.0$/);
    const spc = await raw(emu, 'GET', '/ServiceProviderConfig');
    expect(spc.body).toMatchObject({ bulk: { supported: false }, filter: { supported: true }, authenticationSchemes: { type: 'oauthbearertoken' } });
    const rt = await raw(emu, 'GET', '/ResourceTypes');
    expect(rt.body?.resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
    expect((await raw(emu, 'GET', '/ResourceTypes/User')).body?.endpoint).toBe('/Users');
    const schemas = await raw(emu, 'GET', '/Schemas');
    expect(schemas.body?.resources.map((s: { id: string }) => s.id)).toEqual([CORE, EXT]);
    expect((await raw(emu, 'GET', `/Schemas/${CORE}`)).status).toBe(200);
    expect((await raw(emu, 'GET', '/Nope')).status).toBe(404);
  });

  it('pages with startIndex and count: 1 ≤ count ≤ 200, itemsPerPage = returned', async () => {
    const emu = await start();
    for (let i = 0; i < 25; i++) emu.seedUser({ userName: `u${i}@example.com` });
    const page = await raw(emu, 'GET', '/Users?startIndex=21&count=10');
    expect(page.body).toMatchObject({ totalResults: 25, startIndex: 21, itemsPerPage: 5 });
    expect(page.body?.resources).toHaveLength(5);
    expect(page.body).not.toHaveProperty('Resources');
    expect((await raw(emu, 'GET', '/Users')).body?.itemsPerPage).toBe(10);
    for (const q of ['count=201', 'count=0', 'startIndex=0', 'count=abc']) {
      const bad = await raw(emu, 'GET', `/Users?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    }
    const none = await raw(emu, 'GET', `/Users?filter=${encodeURIComponent('userName eq "nobody@example.com"')}`);
    expect(none.body).toMatchObject({ totalResults: 0, itemsPerPage: 0, resources: [] });
  });

  it('sorts when asked', async () => {
    const emu = await start();
    for (const n of ['carol', 'alice', 'bob']) emu.seedUser({ userName: `${n}@example.com` });
    const asc = await raw(emu, 'GET', '/Users?sortBy=userName');
    expect(asc.body?.resources.map((u: { userName: string }) => u.userName)).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com']);
    const desc = await raw(emu, 'GET', '/Users?sortBy=userName&sortOrder=descending');
    expect(desc.body?.resources[0].userName).toBe('carol@example.com');
  });

  it('reports the page number of a listing for page faults', async () => {
    const emu = await start();
    for (let i = 0; i < 5; i++) emu.seedUser({ userName: `u${i}@example.com` });
    emu.http.faults.add({ route: 'listUsers', page: 3, action: { type: 'status', status: 500 } });
    expect((await raw(emu, 'GET', '/Users?startIndex=1&count=2')).status).toBe(200);
    expect((await raw(emu, 'GET', '/Users?startIndex=3&count=2')).status).toBe(200);
    expect((await raw(emu, 'GET', '/Users?startIndex=5&count=2')).status).toBe(500);
  });

  it('creates users with a generated id and Docker ID, ignoring a sent displayName', async () => {
    const emu = await start();
    const res = await raw(emu, 'POST', '/Users', { schemas: [CORE], userName: 'jon.snow@example.com', displayName: 'kingofthenorth', name: { givenName: 'Jon', familyName: 'Snow' } });
    expect(res.status).toBe(201);
    expect(res.body?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.body?.displayName).toMatch(/^jonsnow\d+$/);
    expect(res.headers.get('location')).toBe(`${emu.baseUrl}/Users/${res.body?.id}`);
    expect(res.body?.meta).toMatchObject({ resourceType: 'User', location: `${emu.baseUrl}/Users/${res.body?.id}` });
    const dup = await raw(emu, 'POST', '/Users', { schemas: [CORE], userName: 'JON.SNOW@example.com' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' });
  });

  it('validates what it is sent', async () => {
    const emu = await start();
    const cases: Array<[unknown, number, string]> = [
      [{ userName: 'a@example.com' }, 400, 'invalidSyntax'],
      [{ schemas: [CORE] }, 400, 'invalidValue'],
      [{ schemas: [CORE], userName: 'not-an-email' }, 400, 'invalidValue'],
      [{ schemas: [CORE], userName: 'a@example.com', [EXT]: { dockerRole: 'superuser' } }, 400, 'invalidValue'],
      [{ schemas: [CORE], userName: 'a@example.com', [EXT]: { dockerRole: 'Owner' } }, 400, 'invalidValue'],
      [{ schemas: [CORE], userName: 'a@example.com', [EXT]: { dockerOrg: 'elsewhere' } }, 400, 'invalidValue'],
      [{ schemas: [CORE], userName: 'a@example.com', active: 'yes' }, 400, 'invalidValue'],
    ];
    for (const [body, status, scimType] of cases) {
      const res = await raw(emu, 'POST', '/Users', body);
      expect({ body, status: res.status, scimType: res.body?.scimType }).toEqual({ body, status, scimType });
    }
    const notJson = await fetch(`${emu.baseUrl}/Users`, { method: 'POST', headers: { authorization: `Bearer ${emu.token}` }, body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(emu.allUsers()).toHaveLength(0);
  });

  it('a rejected PUT leaves the user as it was', async () => {
    const emu = await start();
    const u = emu.seedUser({ userName: 'a@example.com', givenName: 'A', role: 'editor' });
    const res = await raw(emu, 'PUT', `/Users/${u.id}`, { schemas: [CORE], userName: 'a@example.com', active: false, name: { givenName: 'B' }, [EXT]: { dockerOrg: 'nowhere' } });
    expect(res.status).toBe(400);
    expect(emu.user(u.id)).toEqual(u);
  });

  it('a PUT without the extension keeps role, org and team', async () => {
    const emu = await start();
    const u = emu.seedUser({ userName: 'a@example.com', role: 'owner', org: 'acmelabs', team: 'core' });
    const res = await raw(emu, 'PUT', `/Users/${u.id}`, { schemas: [CORE], active: true });
    expect(res.status).toBe(200);
    expect(emu.user(u.id)).toMatchObject({ role: 'owner', org: 'acmelabs', team: 'core', active: true });
  });

  it('PATCH on a user changes active, name and the extension', async () => {
    const emu = await start();
    const u = emu.seedUser({ userName: 'a@example.com', givenName: 'A', familyName: 'Z' });
    const off = await raw(emu, 'PATCH', `/Users/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: false }] });
    expect(off.status).toBe(200);
    expect(off.body?.active).toBe(false);
    expect(emu.teamMembers('acme:everyone')).toEqual([]);
    const on = await raw(emu, 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', value: { active: true, 'name.givenName': 'Anna' } },
        { op: 'add', path: `${EXT}:dockerTeam`, value: 'ops' },
        { op: 'replace', path: `${EXT}:dockerRole`, value: 'editor' },
      ],
    });
    expect(on.status).toBe(200);
    expect(emu.user(u.id)).toMatchObject({ active: true, givenName: 'Anna', familyName: 'Z', role: 'editor', org: 'acme', team: 'ops' });
    expect(emu.teamMembers('acme:ops')).toEqual(['a@example.com']);
    const clear = await raw(emu, 'PATCH', `/Users/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'name.givenName' }] });
    expect(clear.status).toBe(400);
  });

  it('refuses DELETE with 405 and records it', async () => {
    const emu = await start();
    const u = emu.seedUser({ userName: 'a@example.com' });
    const res = await raw(emu, 'DELETE', `/Users/${u.id}`);
    expect(res.status).toBe(405);
    expect(emu.http.count({ method: 'DELETE', route: 'deleteUser' })).toBe(1);
    expect(emu.user(u.id)?.active).toBe(true);
  });

  it('seat limits count active users of the org only', async () => {
    const emu = await start({ orgs: [{ name: 'acme', seatLimit: 1 }, { name: 'acmelabs', seatLimit: 1 }] });
    const first = await raw(emu, 'POST', '/Users', { schemas: [CORE], userName: 'a@example.com' });
    expect(first.status).toBe(201);
    const inactive = await raw(emu, 'POST', '/Users', { schemas: [CORE], userName: 'b@example.com', active: false });
    expect(inactive.status).toBe(201);
    const full = await raw(emu, 'POST', '/Users', { schemas: [CORE], userName: 'c@example.com' });
    expect(full.status).toBe(403);
    expect(full.body?.detail).toBe("Not enough seats in organization 'acme'. Add more seats or contact your administrator.");
    const other = await raw(emu, 'POST', '/Users', { schemas: [CORE], userName: 'c@example.com', [EXT]: { dockerOrg: 'acmelabs' } });
    expect(other.status).toBe(201);
    // Deactivating frees the seat (a gap in Docker's docs; the emulator frees it at once).
    await raw(emu, 'PUT', `/Users/${first.body?.id}`, { schemas: [CORE], active: false });
    expect((await raw(emu, 'PUT', `/Users/${inactive.body?.id}`, { schemas: [CORE], active: true })).status).toBe(200);
  });

  it('drift helpers change state behind the tool\'s back', async () => {
    const emu = await start();
    const u = emu.seedUser({ userName: 'a@example.com' });
    emu.editUser(u.id, { role: 'owner', team: 'drifted' });
    expect(emu.user(u.id)).toMatchObject({ role: 'owner', team: 'drifted' });
    expect(emu.teamMembers('acme:drifted')).toEqual(['a@example.com']);
    emu.editUser(u.id, { active: false });
    expect(emu.teamMembers('acme:drifted')).toEqual([]);
    expect(emu.groupNames()).toEqual(['acme:drifted', 'acme:everyone']);
  });

  it('extension echo can be turned off', async () => {
    const emu = await start({ echoExtension: false });
    const u = emu.seedUser({ userName: 'a@example.com' });
    const res = await raw(emu, 'GET', `/Users/${u.id}`);
    expect(res.body?.schemas).toEqual([CORE]);
    expect(res.body).not.toHaveProperty(EXT);
  });
});

describe('emulator: emails and verified domains', () => {
  const body = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [CORE, EXT], userName, active: true, ...extra });

  it('keeps the primary address a write sends and echoes it; without one, emails is the userName', async () => {
    const emu = await start();
    const made = await raw(emu, 'POST', '/Users', body('ada@example.com', { emails: [{ value: 'ada.l@mail.example.com', primary: true }] }));
    expect(made.body?.emails).toEqual([{ value: 'ada.l@mail.example.com', display: 'ada.l@mail.example.com', primary: true }]);
    const id = made.body?.id as string;
    // Entra's mapping path, as its PATCH sends it.
    await raw(emu, 'PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'ada.k@mail.example.com' }] });
    expect(emu.user(id)?.email).toBe('ada.k@mail.example.com');
    // A PUT without emails keeps the address (a gap); one with the userName makes it the userName.
    await raw(emu, 'PUT', `/Users/${id}`, body('ada@example.com'));
    expect(emu.user(id)?.email).toBe('ada.k@mail.example.com');
    await raw(emu, 'PUT', `/Users/${id}`, body('ada@example.com', { emails: [{ value: 'ADA@example.com', primary: true }] }));
    expect((await raw(emu, 'GET', `/Users/${id}`)).body?.emails[0].value).toBe('ada@example.com');
    expect((await raw(emu, 'POST', '/Users', body('bob@example.com', { emails: [{ value: 'not an address' }] }))).status).toBe(400);
  });

  it('refuses writes for accounts outside the verified domains with a "Domain not verified" detail, changing nothing', async () => {
    const emu = await start({ verifiedDomains: ['example.com', '*.acme.test'] });
    expect((await raw(emu, 'POST', '/Users', body('ada@example.com'))).status).toBe(201);
    expect((await raw(emu, 'POST', '/Users', body('eu@lab.acme.test'))).status).toBe(201);
    for (const userName of ['mallory@notexample.com', 'root@acme.test']) {
      const refused = await raw(emu, 'POST', '/Users', body(userName));
      expect(refused.status, userName).toBe(403);
      expect(refused.body?.detail).toMatch(/^Domain not verified: /);
    }
    const ada = emu.user('ada@example.com')?.id as string;
    expect((await raw(emu, 'PUT', `/Users/${ada}`, body('ada@elsewhere.org'))).status).toBe(403);
    expect((await raw(emu, 'PATCH', `/Users/${ada}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'userName', value: 'ada@elsewhere.org' }] })).status).toBe(403);
    expect(emu.user(ada)?.userName).toBe('ada@example.com');
    expect(emu.allUsers().map((u) => u.userName).sort()).toEqual(['ada@example.com', 'eu@lab.acme.test']);
    const other = await start({ verifiedDomains: ['example.com'], domainErrorStatus: 400 });
    expect((await raw(other, 'POST', '/Users', body('x@other.org'))).status).toBe(400);
  });
});
