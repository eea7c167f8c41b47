import { Client } from '@okta/okta-sdk-nodejs';
import { afterEach, describe, expect, it } from 'vitest';
import type { IdpSnapshot, IdpUser } from '../../src/model/idp.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createSdkClient } from '../../src/sources/okta/client.ts';
import { OktaRequestExecutor } from '../../src/sources/okta/executor.ts';
import { FAST, PEOPLE, startFixture, type Fixture } from './setup.ts';

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

function byName(snap: IdpSnapshot, userName: string): IdpUser {
  const u = snap.users.find((x) => x.userName === userName);
  if (!u) throw new Error(`${userName} not in snapshot`);
  return u;
}

describe('reading the Docker app from Okta', () => {
  it('reads every assigned user across several pages, with attributes, names, status and groups', async () => {
    fx = await startFixture({ users: 1_100 });
    fx.emu.notYetAssigned.add(fx.dir.user(PEOPLE.erin).id);
    const snap = await fx.source().read();

    // 1,100 + alice, bob, carol, dave; erin's group assignment is not applied yet.
    expect(snap.source).toBe('okta');
    expect(snap.users).toHaveLength(1_104);
    expect(new Set(snap.users.map((u) => u.idpId)).size).toBe(1_104);
    expect(fx.emu.http.count({ route: 'listAppUsers' })).toBe(3);
    expect(fx.emu.http.requests.filter((r) => r.route === 'listAppUsers').map((r) => new URLSearchParams(r.query).get('limit'))).toEqual(['500', '500', '500']);

    const alice = byName(snap, PEOPLE.alice);
    expect(alice).toMatchObject({
      idpId: fx.dir.user(PEOPLE.alice).id,
      givenName: 'Alice',
      familyName: 'Anders',
      active: true,
      dockerRole: ['owner'],
      dockerOrg: ['acme', 'acmelabs'],
      dockerTeam: [],
      groups: ['acme:backend'],
      note: 'okta app user PROVISIONED (USER)',
    });
    expect(byName(snap, PEOPLE.dave)).toMatchObject({ dockerTeam: ['backend'], groups: ['acme:backend', 'acme:data'] });
    expect(byName(snap, PEOPLE.carol)).toMatchObject({ active: true, groups: [], note: 'okta app user PROVISIONED (GROUP)' });
    expect(byName(snap, 'user7@example.com')).toMatchObject({ givenName: 'Given7', familyName: 'Family7', dockerRole: [], groups: [] });

    // A disabled user comes back, inactive.
    expect(byName(snap, PEOPLE.bob)).toMatchObject({ active: false, dockerRole: ['member'], note: 'okta app user INACTIVE (USER), okta user DEPROVISIONED' });

    // Groups: org:team groups are read for members; "Docker Users" only grants the app.
    const groups = Object.fromEntries(snap.groups.map((g) => [g.name, g.memberCount]));
    expect(groups).toEqual({ 'acme:backend': 3, 'acme:data': 1, 'Docker Users': null });
    const staffId = fx.dir.group('Docker Users').id;
    expect(fx.emu.http.requests.filter((r) => r.route === 'listGroupUsers').map((r) => r.path)).not.toContain(`/api/v1/groups/${staffId}/users`);
    expect(fx.emu.http.count({ route: 'listGroupUsers' })).toBe(2);

    // A member of an org:team group who is not an app user is a note, not an error.
    expect(snap.notes).toEqual([
      expect.objectContaining({ code: 'GROUP_MEMBER_NOT_ASSIGNED', subject: PEOPLE.erin, message: expect.stringContaining('acme:backend') }),
    ]);
    expect(snap.users.map((u) => u.userName)).not.toContain(PEOPLE.erin);

    expect(snap.stats.pages).toBe(3 + 1 + 2);
    expect(snap.stats.requests).toBe(fx.emu.http.requests.length);
    expect(snap.stats.durationMs).toBeGreaterThanOrEqual(0);
    // Nothing but GETs: a read never writes.
    expect(fx.emu.http.writes()).toEqual([]);
  });

  it('serves the app profile attributes exactly as stored: string, array, null or absent', async () => {
    fx = await startFixture({ users: 0 });
    fx.dir.setAttribute(PEOPLE.dave, 'dockerRole', 'editor');
    fx.dir.setAttribute(PEOPLE.dave, 'dockerOrg', null);
    const snap = await fx.source().read();
    expect(byName(snap, PEOPLE.dave)).toMatchObject({ dockerRole: ['editor'], dockerOrg: [], dockerTeam: ['backend'] });
    expect(byName(snap, PEOPLE.carol)).toMatchObject({ dockerRole: [], dockerOrg: [], dockerTeam: [] });
  });

  it('sees a change on the second read (the SDK cache is off)', async () => {
    fx = await startFixture({ users: 3 });
    const source = fx.source();
    const first = await source.read();
    expect(byName(first, PEOPLE.alice).givenName).toBe('Alice');
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alicia' });
    fx.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    const second = await source.read();
    expect(byName(second, PEOPLE.alice)).toMatchObject({ givenName: 'Alicia', dockerRole: ['editor'] });
  });

  it('builds an SDK client whose cache is off, where the default one would serve a stale user', async () => {
    fx = await startFixture({ users: 1 });
    const userId = fx.dir.user(PEOPLE.alice).id;
    const ours = createSdkClient(fx.base, { kind: 'token', token: fx.emu.apiToken }, new OktaRequestExecutor({ origin: new URL(fx.base).origin, logger: silentLogger(), ...FAST }));
    expect((await ours.userApi.getUser({ userId })).profile?.firstName).toBe('Alice');
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alicia' });
    expect((await ours.userApi.getUser({ userId })).profile?.firstName).toBe('Alicia');
    expect(fx.emu.http.count({ route: 'getUser' })).toBe(2);

    // The emulator's `_links.self` makes the default cache bite, as on real Okta (okta.md §8.7).
    const defaults = new Client({ orgUrl: fx.base, token: fx.emu.apiToken });
    expect((await defaults.userApi.getUser({ userId })).profile?.firstName).toBe('Alicia');
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Ally' });
    expect((await defaults.userApi.getUser({ userId })).profile?.firstName).toBe('Alicia');
    expect(fx.emu.http.count({ route: 'getUser' })).toBe(3);
  });

  it('works with an org URL that ends in a slash', async () => {
    fx = await startFixture({ users: 2 });
    const snap = await fx.source({ orgUrl: `${fx.base}/` }).read();
    expect(snap.users).toHaveLength(7);
    expect(fx.emu.http.count({ route: 'unmatched' })).toBe(0);
  });

  it('neither stops at nor duplicates across an empty page that still has a next link', async () => {
    fx = await startFixture({ users: 1_100 });
    fx.emu.emptyPageWithNext = true;
    const snap = await fx.source().read();
    expect(snap.users).toHaveLength(1_105);
    expect(new Set(snap.users.map((u) => u.idpId)).size).toBe(1_105);
    // Three real pages, each followed by an empty one that still links on.
    expect(fx.emu.http.count({ route: 'listAppUsers' })).toBe(6);
    expect(byName(snap, PEOPLE.dave).groups).toEqual(['acme:backend', 'acme:data']);
  });

  it('reads an app with no users and no groups', async () => {
    fx = await startFixture({ users: 0 });
    for (const u of [...fx.dir.users.values()]) fx.dir.removeUser(u.id);
    for (const g of fx.dir.groups.values()) g.assigned = false;
    const snap = await fx.source().read();
    expect(snap).toMatchObject({ users: [], groups: [], notes: [] });
    expect(snap.stats.pages).toBe(2);
  });

  it('logs the read without the token', async () => {
    fx = await startFixture({ users: 3 });
    await fx.source().read();
    expect(fx.logs.lines.some((l) => l.msg === 'okta read complete')).toBe(true);
    expect(fx.logs.text()).not.toContain(fx.emu.apiToken);
  });
});
