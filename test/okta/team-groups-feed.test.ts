import { afterEach, describe, expect, it } from 'vitest';
import { FeedExpiredError, SourceReadError } from '../../src/model/errors.ts';
import type { ChangeFeed, FeedContext } from '../../src/model/idp.ts';
import { Directory } from '../../src/sandbox/directory.ts';
import type { OktaSourceOptions } from '../../src/sources/okta/index.ts';
import { rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * The change feed under OKTA_TEAM_GROUPS=rule and push, through the real SDK and the emulator:
 * membership of a team group found by rule or push is followed like an assigned group's; a group
 * that becomes a team under the rule, or a changed Group Push mapping, makes the run read
 * everything; a feed that cannot tell is an error, never a quiet "nothing changed".
 */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

const EVERYONE: FeedContext = { isManaged: () => true, maxUsers: 100 };
const RULE: Partial<OktaSourceOptions> = { teamGroups: ['rule'], groupRule: { op: 'startsWith', value: 'acme:' } };
const PUSH: Partial<OktaSourceOptions> = { teamGroups: ['push'] };

/** As Docker's guide sets Okta up: "Docker Users" gives the app; acme:dev is a team group, unassigned and pushed. */
function guide(): Directory {
  const dir = new Directory();
  const staff = dir.addGroup('Docker Users');
  for (const email of ['ada@example.com', 'grace@example.com']) staff.members.add(dir.addUser({ email, assigned: false }).id);
  dir.addUser({ email: 'mallory@example.com', assigned: false });
  const dev = dir.addGroup('acme:dev', { assigned: false, pushed: 'ACTIVE' });
  // Pushed long before the cursor: its mapping is not a change the feed should see.
  dev.pushUpdated = Date.now() - 86_400_000;
  dev.members.add(dir.user('ada@example.com').id);
  return dir;
}

async function quiet(options: Partial<OktaSourceOptions>): Promise<{ f: Fixture; feed: ChangeFeed; cursor: string }> {
  fx = await startFixture({ dir: guide() });
  fx.emu.systemLog.prune();
  const feed = fx.source(options).feed as ChangeFeed;
  const cursor = await feed.start();
  return { f: fx, feed, cursor };
}

function routes(f: Fixture, from = 0): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of f.emu.http.requests.slice(from)) out[r.route] = (out[r.route] ?? 0) + 1;
  return out;
}

describe('under a name rule', () => {
  it('a user added to a rule group (not assigned to the app) is named, and read with that team', async () => {
    const { f, feed, cursor } = await quiet(RULE);
    f.dir.addMember('acme:dev', 'grace@example.com');
    const cs = await feed.changesSince(cursor, EVERYONE);
    const grace = f.dir.user('grace@example.com').id;
    expect(cs.fullReadNeeded).toBeUndefined();
    expect(cs.userIds).toEqual([grace]);
    const before = f.emu.http.requests.length;
    const read = await feed.readUsers(cs.userIds);
    expect(read.users.map((u) => [u.userName, u.groups])).toEqual([['grace@example.com', ['acme:dev']]]);
    // The listing changesSince made is reused: no second search.
    expect(routes(f, before)).toEqual({ getAppUser: 1, listUserGroups: 1 });
  });

  it('readUsers on its own finds the team groups as the full read does', async () => {
    const { f, feed } = await quiet(RULE);
    const ada = f.dir.user('ada@example.com').id;
    const read = await feed.readUsers([ada]);
    expect(read.users.map((u) => u.groups)).toEqual([['acme:dev']]);
    expect(routes(f).listGroups).toBe(1);
    expect(routes(f).listAppGroups).toBeUndefined();
  });

  it('a member of a rule group who is not an app user is one counted note, and unassigned', async () => {
    const { f, feed, cursor } = await quiet(RULE);
    f.dir.addMember('acme:dev', 'mallory@example.com');
    const cs = await feed.changesSince(cursor, EVERYONE);
    const read = await feed.readUsers(cs.userIds);
    expect(read.users).toEqual([]);
    expect(read.unassigned).toEqual([f.dir.user('mallory@example.com').id]);
    expect(read.notes).toEqual([
      expect.objectContaining({ code: 'GROUP_MEMBERS_NOT_ASSIGNED', subject: 'acme:dev', message: expect.stringMatching(/^1 member of Okta group acme:dev read by this incremental run is not assigned/) }),
    ]);
  });

  it('a membership change of a group neither assigned nor matching the rule is not followed', async () => {
    const { f, feed, cursor } = await quiet(RULE);
    f.dir.addGroup('sales:emea', { assigned: false });
    f.dir.addMember('sales:emea', 'grace@example.com');
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs).toMatchObject({ userIds: [] });
    expect(cs.fullReadNeeded).toBeUndefined();
  });

  it('a new group matching the rule makes the run read everything', async () => {
    const { f, feed, cursor } = await quiet(RULE);
    f.dir.addGroup('acme:new', { assigned: false });
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs.fullReadNeeded).toMatch(/Okta group "acme:new" was created and matches OKTA_GROUP_RULE/);
  });

  it('a group renamed into the rule makes the run read everything, even when the event and the search still show the old name', async () => {
    const { f, feed, cursor } = await quiet(RULE);
    const g = f.dir.addGroup('platform', { assigned: false });
    const after = await feed.changesSince(cursor, EVERYONE);
    expect(after.fullReadNeeded).toBeUndefined();
    g.name = 'acme:platform';
    // Okta's search is eventually consistent, and the event may carry the name from before.
    f.emu.systemLog.inject({ eventType: 'group.profile.update', group: { id: g.id, name: 'platform' } });
    f.emu.http.faults.add({ route: 'listGroups', action: { type: 'status', status: 200, body: [], headers: { 'content-type': 'application/json' } } });
    const before = f.emu.http.requests.length;
    const cs = await feed.changesSince(after.next, EVERYONE);
    expect(cs.fullReadNeeded).toMatch(/"acme:platform" was renamed or changed and matches OKTA_GROUP_RULE/);
    expect(routes(f, before).getGroup).toBe(1);
  });

  it('a group renamed to a name the rule does not match, that was no team, changes nothing', async () => {
    const { f, feed, cursor } = await quiet(RULE);
    f.dir.addGroup('platform', { assigned: false });
    const after = await feed.changesSince(cursor, EVERYONE);
    f.dir.renameGroup('platform', 'platform-eu');
    const cs = await feed.changesSince(after.next, EVERYONE);
    expect(cs.fullReadNeeded).toBeUndefined();
  });

  it('a team group renamed makes the run read everything', async () => {
    const { f, feed, cursor } = await quiet(RULE);
    f.dir.renameGroup('acme:dev', 'acme:developers');
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs.fullReadNeeded).toMatch(/"acme:developers", a team group \(found by rule\), was changed/);
  });

  it('a cursor taken while team groups came from elsewhere is expired: only a full read knows the new teams', async () => {
    fx = await startFixture({ dir: guide() });
    fx.emu.systemLog.prune();
    const before = await (fx.source().feed as ChangeFeed).start();
    expect(JSON.parse(before)).not.toHaveProperty('groups');
    const err = await rejectionOf((fx.source(RULE).feed as ChangeFeed).changesSince(before, EVERYONE));
    expect(err).toBeInstanceOf(FeedExpiredError);
    expect((err as Error).message).toMatch(/found by assigned.*now say rule:startsWith:acme:/);
  });
});

describe('under Group Push', () => {
  it('asks the mappings API, once a run, for mappings updated since the cursor; none: the feed goes on', async () => {
    const { f, feed, cursor } = await quiet(PUSH);
    const before = f.emu.http.requests.length;
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs.fullReadNeeded).toBeUndefined();
    const asked = f.emu.http.requests.slice(before).filter((r) => r.route === 'listGroupPushMappings').map((r) => new URLSearchParams(r.query));
    expect(asked).toHaveLength(1);
    expect(asked[0]?.get('limit')).toBe('1');
    expect(asked[0]?.get('lastUpdated')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // The next cursor carries the time the next run asks from.
    expect(JSON.parse(cs.next)).toMatchObject({ groups: 'push', at: expect.any(String) });
  });

  it.each([
    ['a group pushed', (d: Directory) => d.setGroupPush('Docker Users', 'ACTIVE')],
    ['a push switched off', (d: Directory) => d.setGroupPush('acme:dev', 'INACTIVE')],
  ])('%s since the cursor makes the run read everything', async (_label, change) => {
    const { f, feed, cursor } = await quiet(PUSH);
    change(f.dir);
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs.fullReadNeeded).toMatch(/Group Push mapping .* changed since the last run/);
  });

  it('a user added to a pushed group is named', async () => {
    const { f, feed, cursor } = await quiet(PUSH);
    f.dir.addMember('acme:dev', 'grace@example.com');
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs.userIds).toEqual([f.dir.user('grace@example.com').id]);
  });

  it('a mappings API that is gone fails the incremental run too, never "nothing changed"', async () => {
    const { f, feed, cursor } = await quiet(PUSH);
    f.emu.pushApi = 'absent';
    const err = await rejectionOf(feed.changesSince(cursor, EVERYONE));
    expect(err).toBeInstanceOf(SourceReadError);
    expect((err as SourceReadError).hint).toContain('OKTA_TEAM_GROUPS=rule');
  });
});
