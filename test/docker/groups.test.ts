import { describe, expect, it } from 'vitest';
import { DockerApiError } from '../../src/docker/errors.ts';
import { attrs, raw, setup } from './fixture.ts';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

describe('groups', () => {
  it('creates a team and answers a 409 with the existing one', async () => {
    const { emu, client } = await setup();
    const first = await client.createGroup('acme:backend');
    expect(first.existed).toBe(false);
    expect(first.group).toMatchObject({ displayName: 'acme:backend', members: [] });
    expect(emu.http.requests[0]?.body).toEqual({ schemas: [GROUP], displayName: 'acme:backend', members: [] });
    const again = await client.createGroup('acme:backend');
    expect(again).toEqual({ group: first.group, existed: true });
    expect(emu.http.count({ route: 'createGroup', status: 409 })).toBe(1);
    expect(await client.findGroupByName('ACME:Backend')).toEqual(first.group);
    expect(await client.findGroupByName('acme:frontend')).toBeNull();
  });

  it('refuses a name that is not org:team of a known org', async () => {
    const { client } = await setup();
    for (const name of ['backend', 'other:backend', 'acme:platform:extra', 'acme: spaced']) {
      const err = (await client.createGroup(name).catch((e: unknown) => e)) as DockerApiError;
      expect(err).toBeInstanceOf(DockerApiError);
      expect(err).toMatchObject({ code: 'DOCKER_HTTP_400', scimType: 'invalidValue' });
    }
  });

  it('adds and removes members', async () => {
    const { emu, client } = await setup();
    const a = emu.seedUser({ userName: 'a@example.com' });
    const b = emu.seedUser({ userName: 'b@example.com' });
    const { group } = await client.createGroup('acme:backend');
    expect(await client.addMembers(group.id, [a.id, b.id])).toBe(1);
    expect(emu.teamMembers('acme:backend')).toEqual(['a@example.com', 'b@example.com']);
    // Adding an existing member is a no-op, not an error.
    expect(await client.addMembers(group.id, [a.id])).toBe(1);
    expect(await client.removeMembers(group.id, [a.id])).toBe(1);
    expect(emu.teamMembers('acme:backend')).toEqual(['b@example.com']);
    const patches = emu.http.requests.filter((r) => r.route === 'patchGroup').map((r) => r.body);
    expect(patches[0]).toEqual({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: a.id }, { value: b.id }] }] });
    expect(patches[2]).toEqual({ schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members', value: [{ value: a.id }] }] });
    expect(await client.addMembers(group.id, [])).toBe(0);
    const groups = [];
    for await (const g of client.groups()) groups.push(g);
    expect(groups.find((g) => g.id === group.id)?.members).toEqual([b.id]);
  });

  it('chunks 250 member changes into 3 PATCH requests of at most 100', async () => {
    const { emu, client } = await setup({}, { membersPerPatch: 100 });
    const ids = Array.from({ length: 250 }, (_, i) => emu.seedUser({ userName: `u${i}@example.com`, team: null }).id);
    const { group } = await client.createGroup('acmelabs:big');
    expect(await client.addMembers(group.id, ids)).toBe(3);
    const adds = emu.http.requests.filter((r) => r.route === 'patchGroup');
    expect(adds.map((r) => ((r.body as { Operations: Array<{ value: unknown[] }> }).Operations[0]?.value.length))).toEqual([100, 100, 50]);
    expect(emu.teamMembers('acmelabs:big')).toHaveLength(250);
    expect(await client.removeMembers(group.id, ids)).toBe(3);
    expect(emu.teamMembers('acmelabs:big')).toHaveLength(0);
    expect(emu.http.count({ route: 'patchGroup', status: 200 })).toBe(6);
  });

  it('an unknown member id is a 400', async () => {
    const { client } = await setup();
    const { group } = await client.createGroup('acme:backend');
    await expect(client.addMembers(group.id, ['00000000-0000-4000-8000-000000000000'])).rejects.toMatchObject({ code: 'DOCKER_HTTP_400', scimType: 'invalidValue' });
  });

  it('a team named by the extension is created and joined', async () => {
    const { emu, client } = await setup();
    const { user } = await client.createUser(attrs('ada@example.com', { team: 'mobile' }));
    expect(emu.groupNames()).toEqual(['acme:mobile']);
    expect(emu.teamMembers('acme:mobile')).toEqual(['ada@example.com']);
    const found = await client.findGroupByName('acme:mobile');
    expect(found?.members).toEqual([user.id]);
    // Docker does not take the user out of the old team when the extension changes: group sync does.
    await client.replaceUser(user.id, attrs('ada@example.com', { org: 'acmelabs', team: 'data' }));
    expect(emu.groupNames()).toEqual(['acme:mobile', 'acmelabs:data']);
    expect(emu.teamMembers('acme:mobile')).toEqual(['ada@example.com']);
    expect(emu.teamMembers('acmelabs:data')).toEqual(['ada@example.com']);
  });

  it('the default org and team apply when the extension names neither; dockerOrg alone means no team', async () => {
    const { emu } = await setup();
    const res = await raw(emu, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'plain@example.com' });
    expect(res.status).toBe(201);
    expect(emu.user('plain@example.com')).toMatchObject({ role: 'member', org: 'acme', team: 'everyone', active: true });
    const orgOnly = await raw(emu, 'POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'org.only@example.com',
      'urn:ietf:params:scim:schemas:extension:docker:2.0:User': { dockerOrg: 'acmelabs', dockerRole: 'editor' },
    });
    expect(orgOnly.status).toBe(201);
    expect(emu.user('org.only@example.com')).toMatchObject({ role: 'editor', org: 'acmelabs', team: null });
    expect(emu.groupNames()).toEqual(['acme:everyone']);
  });

  it('deactivation removes the user from every team; reactivation rejoins the extension team', async () => {
    const { emu, client } = await setup();
    const { user } = await client.createUser(attrs('ada@example.com', { team: 'mobile' }));
    const { group } = await client.createGroup('acme:backend');
    await client.addMembers(group.id, [user.id]);
    await client.replaceUser(user.id, attrs('ada@example.com', { team: 'mobile', active: false }));
    expect(emu.teamMembers('acme:mobile')).toEqual([]);
    expect(emu.teamMembers('acme:backend')).toEqual([]);
    // A deactivated user is outside the org: adding them to a team is refused, not silently dropped.
    await expect(client.addMembers(group.id, [user.id])).rejects.toMatchObject({ code: 'DOCKER_HTTP_400' });
    await client.replaceUser(user.id, attrs('ada@example.com', { team: 'mobile', active: true }));
    expect(emu.teamMembers('acme:mobile')).toEqual(['ada@example.com']);
    expect(emu.teamMembers('acme:backend')).toEqual([]);
  });

  it('accepts the RFC remove forms Entra and Okta send', async () => {
    const { emu } = await setup();
    const ids = ['a', 'b', 'c', 'd'].map((n) => emu.seedUser({ userName: `${n}@example.com`, team: null }).id);
    const created = await raw(emu, 'POST', '/Groups', { schemas: [GROUP], displayName: 'acme:ops', members: ids.map((value) => ({ value })) });
    expect(created.status).toBe(201);
    const gid = String(created.body?.id);
    const byFilter = await raw(emu, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: `members[value eq "${ids[0]}"]` }] });
    expect(byFilter.status).toBe(200);
    expect(emu.teamMembers('acme:ops')).toEqual(['b@example.com', 'c@example.com', 'd@example.com']);
    const byValue = await raw(emu, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members', value: [{ value: ids[1] }, { value: ids[0] }] }] });
    expect(byValue.status).toBe(200);
    expect(emu.teamMembers('acme:ops')).toEqual(['c@example.com', 'd@example.com']);
    const noPath = await raw(emu, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', value: { members: [{ value: ids[0] }] } }] });
    expect(noPath.status).toBe(200);
    expect(emu.teamMembers('acme:ops')).toHaveLength(3);
    const badFilter = await raw(emu, 'PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members[value gt "x"]' }] });
    expect(badFilter.status).toBe(400);
    expect(badFilter.body?.scimType).toBe('invalidFilter');
    const noSchema = await raw(emu, 'PATCH', `/Groups/${gid}`, { Operations: [{ op: 'remove', path: 'members' }] });
    expect(noSchema.status).toBe(400);
    expect(emu.teamMembers('acme:ops')).toHaveLength(3);
    const get = await raw(emu, 'GET', `/Groups/${gid}`);
    expect((get.body?.members as unknown[]).length).toBe(3);
  });

  it('fetches a group whose listing left members out', async () => {
    const { emu, client } = await setup();
    const a = emu.seedUser({ userName: 'a@example.com', team: null });
    const { group } = await client.createGroup('acme:quiet');
    await client.addMembers(group.id, [a.id]);
    emu.http.faults.add({
      route: 'listGroups',
      page: 1,
      action: { type: 'status', status: 200, body: { totalResults: 1, resources: [{ id: group.id, displayName: 'acme:quiet' }] } },
    });
    const snap = await client.snapshot();
    expect(snap.groups).toEqual([{ id: group.id, displayName: 'acme:quiet', members: [a.id] }]);
    expect(emu.http.count({ route: 'getGroup' })).toBe(1);
  });

  it('lists groups filtered by displayName', async () => {
    const { emu } = await setup();
    await raw(emu, 'POST', '/Groups', { schemas: [GROUP], displayName: 'acme:one' });
    await raw(emu, 'POST', '/Groups', { schemas: [GROUP], displayName: 'acme:two' });
    const res = await raw(emu, 'GET', `/Groups?filter=${encodeURIComponent('displayName eq "ACME:TWO"')}`);
    expect(res.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, resources: [{ displayName: 'acme:two' }] });
  });
});
