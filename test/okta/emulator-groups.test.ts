import { afterEach, describe, expect, it } from 'vitest';
import { Directory } from '../../src/sandbox/directory.ts';
import { nextLink, rawGet as get, type Raw } from './raw-http.ts';
import { startFixture, type Fixture } from './setup.ts';

/**
 * The emulator's groups listing (search and q), single groups, the Group Push mappings and the
 * group events of its System Log, checked on the wire without the SDK: the reader's tests lean on
 * them, so they must behave as Okta documents.
 */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

function groupsDirectory(n: number): Directory {
  const dir = new Directory();
  dir.addGroup('Docker Users');
  dir.addGroup('acme:dev', { assigned: false });
  dir.addGroup('acmelabs:x', { assigned: false });
  for (let i = 0; i < n; i++) dir.addGroup(`team-${i}`, { assigned: false });
  return dir;
}

const names = (r: Raw) => (r.body as Array<{ profile: { name: string } }>).map((g) => g.profile.name);

describe('GET /api/v1/groups', () => {
  it('search: sw, co and eq on profile.name (ignoring case), id eq, type eq, and/or with parentheses; co elsewhere is refused', async () => {
    fx = await startFixture({ dir: groupsDirectory(0) });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const search = async (expr: string) => get(`${fx?.base}/api/v1/groups?search=${encodeURIComponent(expr)}`, ssws);
    expect(names(await search('profile.name sw "ACME:"'))).toEqual(['acme:dev']);
    expect(names(await search('profile.name co ":"'))).toEqual(['acme:dev', 'acmelabs:x']);
    expect(names(await search('profile.name eq "docker users"'))).toEqual(['Docker Users']);
    const dev = fx.dir.group('acme:dev').id;
    expect(names(await search(`id eq "${dev}" or (type eq "OKTA_GROUP" and profile.name sw "acmelabs")`))).toEqual(['acme:dev', 'acmelabs:x']);
    const refused = await search(`id co "${dev.slice(0, 4)}"`);
    expect(refused).toMatchObject({ status: 400, body: { errorCode: 'E0000031' } });
    expect((await search('profile.name sw')).status).toBe(400);
  });

  it('search pages like every listing; q answers once, without a next link, cut at 300 by default', async () => {
    fx = await startFixture({ dir: groupsDirectory(450) });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const first = await get(`${fx.base}/api/v1/groups?search=${encodeURIComponent('profile.name sw "team-"')}&limit=200`, ssws);
    expect(first.body).toHaveLength(200);
    const second = await get(nextLink(first) as string, ssws);
    const third = await get(nextLink(second) as string, ssws);
    expect(third.body).toHaveLength(50);
    expect(nextLink(third)).toBeNull();

    const q = await get(`${fx.base}/api/v1/groups?q=team-`, ssws);
    expect(q.body).toHaveLength(300);
    expect(nextLink(q)).toBeNull();
    expect((await get(`${fx.base}/api/v1/groups?q=team-&limit=10`, ssws)).body).toHaveLength(10);
  });

  it('GET /api/v1/groups/{id} answers the group, or 404 E0000007; it counts in a bucket of its own', async () => {
    fx = await startFixture({ dir: groupsDirectory(0), emulator: { rateLimit: { perMinute: 2 } } });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const dev = fx.dir.group('acme:dev');
    const one = await get(`${fx.base}/api/v1/groups/${dev.id}`, ssws);
    expect(one).toMatchObject({ status: 200, body: { id: dev.id, type: 'OKTA_GROUP', profile: { name: 'acme:dev' } } });
    expect((await get(`${fx.base}/api/v1/groups/00gnobody`, ssws)).body).toMatchObject({ errorCode: 'E0000007' });
    // Two listings still fit the groups bucket's window of two: the single reads went elsewhere.
    for (let i = 0; i < 2; i++) expect((await get(`${fx.base}/api/v1/groups?search=${encodeURIComponent('profile.name sw "a"')}`, ssws)).status).toBe(200);
    expect((await get(`${fx.base}/api/v1/groups/${dev.id}`, ssws)).status).toBe(429);
  });
});

describe('GET /api/v1/apps/{appId}/group-push/mappings', () => {
  it('lists a mapping per pushed group, by status, source group and lastUpdated, paged', async () => {
    const dir = groupsDirectory(0);
    dir.setGroupPush('acme:dev', 'ACTIVE');
    dir.setGroupPush('acmelabs:x', 'INACTIVE');
    const old = dir.addGroup('acme:old', { assigned: false, pushed: 'ERROR' });
    old.pushUpdated = Date.parse('2020-01-01T00:00:00Z');
    fx = await startFixture({ dir });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const base = `${fx.base}/api/v1/apps/${fx.emu.appId}/group-push/mappings`;
    const all = await get(base, ssws);
    const bySource = (r: Raw) => Object.fromEntries((r.body as Array<{ sourceGroupId: string; status: string }>).map((m) => [dir.groups.get(m.sourceGroupId)?.name, m.status]));
    expect(bySource(all)).toEqual({ 'acme:dev': 'ACTIVE', 'acmelabs:x': 'INACTIVE', 'acme:old': 'ERROR' });
    expect((all.body as Array<Record<string, unknown>>).find((m) => m.status === 'ERROR')).toMatchObject({ errorSummary: expect.any(String), id: expect.stringMatching(/^gPm/) });
    expect(bySource(await get(`${base}?status=ERROR`, ssws))).toEqual({ 'acme:old': 'ERROR' });
    expect(bySource(await get(`${base}?sourceGroupId=${dir.group('acme:dev').id}`, ssws))).toEqual({ 'acme:dev': 'ACTIVE' });
    expect(Object.keys(bySource(await get(`${base}?lastUpdated=2024-01-01T00:00:00Z`, ssws))).sort()).toEqual(['acme:dev', 'acmelabs:x']);
    expect((await get(`${base}?lastUpdated=yesterday`, ssws)).status).toBe(400);
    const page = await get(`${base}?limit=2`, ssws);
    expect(page.body).toHaveLength(2);
    expect((await get(nextLink(page) as string, ssws)).body).toHaveLength(1);
  });

  it('can be absent (404) or forbidden (403), as in an org without the API or for credentials that may not read it', async () => {
    fx = await startFixture({ dir: groupsDirectory(0), emulator: { pushApi: 'absent' } });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const url = `${fx.base}/api/v1/apps/${fx.emu.appId}/group-push/mappings`;
    expect(await get(url, ssws)).toMatchObject({ status: 404, body: { errorCode: 'E0000007' } });
    fx.emu.pushApi = 'forbidden';
    expect(await get(url, ssws)).toMatchObject({ status: 403, body: { errorCode: 'E0000006' } });
  });
});

describe('the System Log records groups created and renamed', () => {
  it('group.lifecycle.create and group.profile.update, with the UserGroup target', async () => {
    fx = await startFixture({ dir: groupsDirectory(0) });
    fx.emu.systemLog.prune();
    const g = fx.dir.addGroup('platform', { assigned: false });
    fx.dir.renameGroup(g.id, 'acme:platform');
    const filter = encodeURIComponent('eventType sw "group."');
    const r = await get(`${fx.base}/api/v1/logs?since=${new Date(Date.now() - 60_000).toISOString()}&filter=${filter}`, `SSWS ${fx.emu.apiToken}`);
    const events = r.body as Array<{ eventType: string; target: Array<{ id: string; type: string; displayName: string }> }>;
    expect(events.map((e) => e.eventType)).toEqual(['group.lifecycle.create', 'group.profile.update']);
    for (const e of events) expect(e.target).toEqual([expect.objectContaining({ id: g.id, type: 'UserGroup', displayName: 'acme:platform' })]);
  });
});
