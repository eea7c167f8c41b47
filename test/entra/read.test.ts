import { afterEach, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { GUEST_UPN, HEIDI_UPN, PEOPLE, byId, byName, rejectionOf, startFixture, type Fixture } from './setup.ts';

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

describe('reading the Docker app from Entra', () => {
  it('reads directly assigned users and users assigned only through a group, with roles, attributes, status and groups', async () => {
    fx = await startFixture({ users: 5 });
    const snap = await fx.source().read();

    expect(snap.source).toBe('entra');
    // 5 plain + alice, bob, frank, grace, heidi (direct) + carol, dave (through groups); erin is nested only.
    expect(snap.users).toHaveLength(12);
    expect(new Set(snap.users.map((u) => u.idpId)).size).toBe(12);
    expect(snap.users.map((u) => u.idpId)).toEqual([...snap.users.map((u) => u.idpId)].sort());

    expect(byName(snap, PEOPLE.alice)).toEqual({
      idpId: fx.dir.user(PEOPLE.alice).id,
      userName: PEOPLE.alice,
      givenName: 'Alice',
      familyName: 'Anders',
      active: true,
      dockerRole: ['owner'],
      dockerOrg: ['acme'],
      dockerTeam: ['backend', 'data'],
      groups: ['acme:backend'],
      note: 'entra: assigned directly and through acme:backend',
      provenance: { direct: true, viaGroups: [fx.dir.group('acme:backend').id], attributes: expect.objectContaining({ dockerRole: expect.stringContaining('app role') }), active: 'accountEnabled is true (Entra user)' },
    });
    // Assigned only through a group: read, with the role the group assignment grants.
    expect(byName(snap, PEOPLE.carol)).toMatchObject({ active: true, dockerRole: ['member'], groups: ['Docker Users'], note: 'entra: assigned through Docker Users' });
    // Two groups: default access adds nothing, acme:data's assignment grants editor.
    expect(byName(snap, PEOPLE.dave)).toMatchObject({ dockerRole: ['editor'], dockerTeam: ['platform'], groups: ['acme:backend', 'acme:data'] });
    expect(byName(snap, 'user3@example.com')).toMatchObject({ givenName: 'Given3', familyName: 'Family3', dockerRole: [], dockerOrg: [], dockerTeam: [], groups: [] });

    // Every assigned group, with the users read from it; unassigned groups are not read.
    expect(Object.fromEntries(snap.groups.map((g) => [g.name, g.memberCount]))).toEqual({ 'acme:backend': 2, 'acme:data': 1, 'Docker Users': 1 });
    expect(snap.stats.requests).toBe(fx.emu.http.requests.filter((r) => r.route !== 'discovery' && r.route !== 'token').length);
    expect(fx.emu.http.writes().filter((w) => w.route !== 'token' && w.route !== 'batch')).toEqual([]);
  });

  it('leaves a nested group\'s members out by default, with a note, and includes them with transitive membership', async () => {
    fx = await startFixture({ users: 0 });
    const direct = await fx.source().read();
    expect(direct.users.map((u) => u.userName)).not.toContain(PEOPLE.erin);
    expect(direct.notes).toContainEqual(expect.objectContaining({ code: 'ENTRA_NESTED_GROUP', subject: 'acme:platform', message: expect.stringContaining('ENTRA_GROUP_MEMBERSHIP=transitive') }));
    expect(fx.emu.http.count({ route: 'groupMembers' })).toBe(3);

    const transitive = await fx.source({ groupMembership: 'transitive' }).read();
    expect(byName(transitive, PEOPLE.erin)).toMatchObject({ groups: ['acme:backend'], dockerRole: [], note: 'entra: assigned through acme:backend' });
    expect(transitive.notes.filter((n) => n.code === 'ENTRA_NESTED_GROUP')).toEqual([]);

    // Once the nested group is assigned itself, its members are in through it and there is nothing to note.
    fx.dir.setGroupAssigned('acme:platform', true);
    const both = await fx.source().read();
    expect(byName(both, PEOPLE.erin).groups).toEqual(['acme:platform']);
    expect(both.notes.filter((n) => n.code === 'ENTRA_NESTED_GROUP')).toEqual([]);
    expect(fx.emu.http.count({ route: 'groupTransitiveMembers' })).toBe(3);
    expect(Object.fromEntries(transitive.groups.map((g) => [g.name, g.memberCount]))).toEqual({ 'acme:backend': 3, 'acme:data': 1, 'Docker Users': 1 });
  });

  it('gives a guest without a usable email no userName and a note, and reads on', async () => {
    fx = await startFixture({ users: 2 });
    const snap = await fx.source().read();
    const frank = byId(snap, fx.dir.user(PEOPLE.frank).id);
    expect(frank).toMatchObject({ userName: null, givenName: 'Frank', active: true, note: 'entra: assigned directly; guest; no usable email' });
    expect(snap.notes).toContainEqual({
      code: 'ENTRA_USER_WITHOUT_EMAIL',
      subject: GUEST_UPN.frank,
      message: expect.stringContaining('is a guest: its userPrincipalName'),
    });
    // A guest with a mail address uses it; the read went on past frank.
    expect(byId(snap, fx.dir.user(PEOPLE.grace).id)).toMatchObject({ userName: PEOPLE.grace, note: 'entra: assigned directly; guest' });
    expect(snap.users).toHaveLength(9);
  });

  it('reads a disabled account as inactive, and enabled again as active', async () => {
    fx = await startFixture({ users: 0 });
    const source = fx.source();
    expect(byName(await source.read(), PEOPLE.bob)).toMatchObject({ active: false, dockerRole: ['member'], note: 'entra: assigned directly; account disabled' });
    fx.dir.updateUser(PEOPLE.bob, { enabled: true });
    expect(byName(await source.read(), PEOPLE.bob)).toMatchObject({ active: true });
  });

  it('takes userName from mail when asked, and gives a user without mail no userName and a note', async () => {
    fx = await startFixture({ users: 0 });
    const upn = await fx.source().read();
    expect(byId(upn, fx.dir.user(PEOPLE.heidi).id).userName).toBe(HEIDI_UPN);

    const snap = await fx.source({ userNameSource: 'mail' }).read();
    expect(byId(snap, fx.dir.user(PEOPLE.heidi).id).userName).toBe(PEOPLE.heidi);
    expect(byId(snap, fx.dir.user(PEOPLE.frank).id).userName).toBeNull();
    expect(snap.notes).toContainEqual(expect.objectContaining({ code: 'ENTRA_USER_WITHOUT_EMAIL', message: expect.stringContaining('ENTRA_USERNAME_SOURCE=mail') }));
  });

  it('sees a change on the second read', async () => {
    fx = await startFixture({ users: 2 });
    const source = fx.source();
    expect(byName(await source.read(), PEOPLE.alice).givenName).toBe('Alice');
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alicia' });
    fx.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    fx.dir.removeMember('acme:backend', PEOPLE.dave);
    const second = await source.read();
    expect(byName(second, PEOPLE.alice)).toMatchObject({ givenName: 'Alicia', dockerRole: ['editor'] });
    expect(byName(second, PEOPLE.dave).groups).toEqual(['acme:data']);
    // One credential for the source's life: the token is reused (MSAL's cache), not fetched per read.
    expect(fx.emu.auth.tokensIssued).toBe(1);
  });

  it('reads an app with nobody assigned', async () => {
    fx = await startFixture({ users: 0 });
    for (const u of fx.dir.users.values()) u.assigned = false;
    for (const g of fx.dir.groups.values()) g.assigned = false;
    const snap = await fx.source().read();
    expect(snap).toMatchObject({ users: [], groups: [], notes: [] });
    expect(fx.emu.http.count({ route: 'batch' })).toBe(0);
  });

  it('logs the read without the secret', async () => {
    fx = await startFixture({ users: 3 });
    await fx.source().read();
    expect(fx.logs.lines.some((l) => l.msg === 'entra read complete')).toBe(true);
    expect(fx.logs.text()).not.toContain(fx.emu.clientSecret);
  });
});

describe('attributes from each kind of source', () => {
  it('reads the role from app roles (direct and through groups), org and teams from directory extensions, absent ones as empty', async () => {
    fx = await startFixture({ users: 1 });
    // Alice also gets editor through acme:data: two different values, both passed on for the rules to judge.
    fx.dir.addMember('acme:data', PEOPLE.alice);
    // A value outside Docker's roles is a real app role in Entra, and reaches the reader as it is.
    fx.dir.setAttribute(PEOPLE.heidi, 'dockerRole', 'superuser');
    const snap = await fx.source().read();
    expect(byName(snap, PEOPLE.alice)).toMatchObject({ dockerRole: ['editor', 'owner'], dockerOrg: ['acme'], dockerTeam: ['backend', 'data'], groups: ['acme:backend', 'acme:data'] });
    expect(byName(snap, PEOPLE.carol)).toMatchObject({ dockerRole: ['member'], dockerOrg: [], dockerTeam: [] });
    expect(byName(snap, HEIDI_UPN).dockerRole).toEqual(['superuser']);
    expect(byName(snap, 'user0@example.com')).toMatchObject({ dockerRole: [], dockerOrg: [], dockerTeam: [] });
  });

  it('reads onPremisesExtensionAttributes (the first value of a list), and nothing from a source set to none', async () => {
    fx = await startFixture({ users: 0, emulator: { attributes: { dockerRole: { extensionAttribute: 1 }, dockerOrg: { extensionAttribute: 2 }, dockerTeam: { extensionAttribute: 3 } } } });
    const snap = await fx.source({
      attributes: { dockerRole: { kind: 'extensionAttribute', index: 1 }, dockerOrg: { kind: 'extensionAttribute', index: 2 }, dockerTeam: { kind: 'none' } },
    }).read();
    expect(byName(snap, PEOPLE.alice)).toMatchObject({ dockerRole: ['owner'], dockerOrg: ['acme'], dockerTeam: [] });
    expect(byName(snap, PEOPLE.bob)).toMatchObject({ dockerRole: ['member'], dockerOrg: [] });
    // With roles in extension attributes, every assignment is default access: no role comes from groups.
    expect(byName(snap, PEOPLE.carol).dockerRole).toEqual([]);

    const teams = await fx.source({ attributes: { dockerRole: { kind: 'none' }, dockerOrg: { kind: 'none' }, dockerTeam: { kind: 'extensionAttribute', index: 3 } } }).read();
    expect(byName(teams, PEOPLE.alice)).toMatchObject({ dockerRole: [], dockerOrg: [], dockerTeam: ['backend'] });
  });

  it('reads directory extensions owned by another app when told their full names', async () => {
    const owner = '1234abcd-0000-4000-8000-00000000beef';
    fx = await startFixture({ users: 0, emulator: { extensionAppId: owner } });
    expect(fx.emu.extensionProperty('dockerTeam')).toBe('extension_1234abcd000040008000' + '00000000beef_dockerTeam');
    const snap = await fx.source().read();
    expect(byName(snap, PEOPLE.alice).dockerTeam).toEqual(['backend', 'data']);
  });

  it('a source naming an extension the tenant does not have fails the read with a hint about the source settings', async () => {
    fx = await startFixture({ users: 0 });
    const err = (await rejectionOf(fx.source({ attributes: { dockerRole: { kind: 'appRole' }, dockerOrg: { kind: 'none' }, dockerTeam: { kind: 'extension', property: 'extension_0000_dockerTeam' } } }).read())) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err).toMatchObject({ status: 400, remoteCode: 'Request_BadRequest', remoteMessage: expect.stringContaining('extension_0000_dockerTeam') });
    expect(err.hint).toContain('ENTRA_TEAM_SOURCE');
  });
});
