import { afterEach, describe, expect, it } from 'vitest';
import { FeedExpiredError, SourceReadError } from '../../src/model/errors.ts';
import type { ChangeFeed, FeedContext, IdpSnapshot, Source } from '../../src/model/idp.ts';
import type { Directory } from '../../src/sandbox/directory.ts';
import { graphDeltaExpired, graphServerError } from '../../src/sandbox/entra/faults.ts';
import type { EntraSourceOptions } from '../../src/sources/entra/index.ts';
import { ForwardingProxy, Recorder, editJson, type Exchange } from '../support/proxy.ts';
import { PEOPLE, rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * The Entra change feed through the real credential and Graph client, against the emulator's delta
 * routes: what it names for each kind of change in the directory, what it leaves alone, when it asks
 * for a full read, and how it fails (invariant 11: an error or a full read, never an unassignment).
 */

let fx: Fixture | null = null;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await fx?.stop();
  fx = null;
});

function feedOf(source: Source): ChangeFeed {
  if (!source.feed) throw new Error('the Entra source has no change feed');
  return source.feed;
}

/** A context that manages whoever the snapshot holds, as the state's links would after a full run. */
function managing(snap: IdpSnapshot, maxUsers = 100): FeedContext {
  const ids = new Set(snap.users.map((u) => u.idpId));
  return { isManaged: (id) => ids.has(id), maxUsers };
}

/** A source, its feed started, and a full read after it: the state an incremental run begins from. */
async function begin(f: Fixture, overrides: Partial<EntraSourceOptions> = {}) {
  const source = f.source(overrides);
  const feed = feedOf(source);
  const cursor = await feed.start();
  const snap = await source.read();
  return { source, feed, cursor, snap, ctx: managing(snap) };
}

const id = (dir: Directory, who: string) => dir.user(who).id;

describe('readUsers gives each user exactly what a full read gives', () => {
  it.each<[string, Parameters<typeof startFixture>[0], Partial<EntraSourceOptions>]>([
    ['roles from app roles, org and teams from directory extensions, direct group membership', { users: 25 }, {}],
    [
      'onPremisesExtensionAttributes, userName from mail, transitive group membership',
      { users: 3, emulator: { attributes: { dockerRole: { extensionAttribute: 1 }, dockerOrg: { extensionAttribute: 2 }, dockerTeam: { extensionAttribute: 3 } } } },
      {
        attributes: { dockerRole: { kind: 'extensionAttribute', index: 1 }, dockerOrg: { kind: 'extensionAttribute', index: 2 }, dockerTeam: { kind: 'extensionAttribute', index: 3 } },
        userNameSource: 'mail',
        groupMembership: 'transitive',
      },
    ],
  ])('%s', async (_label, setup, overrides) => {
    fx = await startFixture(setup);
    const dir = fx.dir;
    // Unassigned people: one outside everything, one only in a group nobody assigned (bob's
    // acmelabs:unassigned holds him too, but he is assigned directly).
    const outsider = dir.addUser({ email: 'outsider@example.com', assigned: false });
    const loner = dir.addUser({ email: 'loner@example.com', assigned: false });
    dir.addMember('acmelabs:unassigned', loner.id);
    // Several app roles at once (direct owner, editor through acme:data), and a value outside Docker's.
    dir.addMember('acme:data', PEOPLE.alice);
    dir.setAttribute(PEOPLE.heidi, 'dockerRole', 'superuser');

    // Ill-typed values wherever the user object travels: member listings, the users listing, $batch.
    const tls = { key: fx.emu.certificate.key, cert: fx.emu.certificate.cert };
    const proxy = new ForwardingProxy({ target: fx.origin, tls, ca: fx.emu.certificate.caPem });
    await proxy.start();
    stops.push(() => proxy.stop());
    const alice = id(dir, PEOPLE.alice);
    const grace = id(dir, PEOPLE.grace);
    const dave = id(dir, PEOPLE.dave);
    proxy.rewrite = (answer, req) => (answer.status === 200 && req.method !== 'POST' ? editJson(answer, (b) => void spoil(b)) : req.url.endsWith('/$batch') ? editJson(answer, (b) => void spoil(b)) : answer);
    const spoil = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(spoil);
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.id === alice && 'accountEnabled' in o) o.accountEnabled = 'true';
      if (o.id === grace && 'mail' in o) o.mail = [PEOPLE.grace];
      if (o.id === dave && 'givenName' in o) o.givenName = 42;
      for (const v of Object.values(o)) spoil(v);
    };
    const source = fx.source({ authorityHost: proxy.origin, graphBaseUrl: proxy.origin, ...overrides });

    const full = await source.read();
    expect(full.users.filter((u) => u.illTyped).map((u) => u.idpId).sort()).toEqual([alice, dave, grace].sort());
    const deleted = '00000000-0000-4000-8000-00000000dead';
    const everyone = [...dir.users.keys(), deleted];
    const scoped = await feedOf(source).readUsers(everyone);

    const byId = new Map(scoped.users.map((u) => [u.idpId, u]));
    expect([...byId.keys()].sort()).toEqual(full.users.map((u) => u.idpId).sort());
    for (const u of full.users) expect(byId.get(u.idpId), u.userName ?? u.idpId).toEqual(u);
    expect([...scoped.unassigned].sort()).toEqual(everyone.filter((x) => !byId.has(x)).sort());
    expect(scoped.unassigned).toEqual(expect.arrayContaining([outsider.id, loner.id, deleted]));
    // Per-user notes are the same; the read-wide ones (nested groups, unknown roles) belong to a full read.
    const perUser = (notes: IdpSnapshot['notes']) => notes.filter((n) => n.code === 'ENTRA_USER_WITHOUT_EMAIL');
    expect(perUser(scoped.notes)).toEqual(perUser(full.notes));
    expect(perUser(scoped.notes).length).toBeGreaterThan(0);
  });

  it('reads a few users with one $batch request once the feed has listed the assignments', async () => {
    fx = await startFixture({ users: 2 });
    const { feed, cursor, ctx } = await begin(fx);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'Alicia' });
    fx.dir.updateUser(PEOPLE.heidi, { givenName: 'Heidi-Ann' });
    const set = await feed.changesSince(cursor, ctx);
    const before = fx.emu.http.requests.length;
    const read = await feed.readUsers(set.userIds);
    expect(read.users.map((u) => u.givenName).sort()).toEqual(['Alicia', 'Heidi-Ann']);
    // The listing changesSince made serves its readUsers: no second listing of ~100 pages at 100,000 users.
    expect(fx.emu.http.requests.slice(before).map((r) => r.route)).toEqual(['batch']);
    expect(read.stats.requests).toBe(1);
  });
});

describe('what the feed names', () => {
  it('start(), a change, changesSince names it; from the returned cursor, nothing new', async () => {
    fx = await startFixture({ users: 2 });
    const { feed, cursor, ctx } = await begin(fx);
    expect((await feed.changesSince(cursor, ctx)).userIds).toEqual([]);
    fx.dir.updateUser(PEOPLE.alice, { familyName: 'Andersen' });
    const first = await feed.changesSince(cursor, ctx);
    expect(first).toMatchObject({ userIds: [id(fx.dir, PEOPLE.alice)], entries: 1 });
    expect(first.fullReadNeeded).toBeUndefined();
    expect(first.stats.requests).toBeGreaterThan(0);
    const second = await feed.changesSince(first.next, ctx);
    expect(second.userIds).toEqual([]);
    // The old cursor still replays the change: events are hints, an overlap only costs a read.
    expect((await feed.changesSince(cursor, ctx)).userIds).toEqual([id(fx.dir, PEOPLE.alice)]);
  });

  it("the full read right after start() stands on start()'s assignment listing: listed once, not twice", async () => {
    fx = await startFixture({ users: 2 });
    const source = fx.source();
    const listings = () => fx?.emu.http.count({ route: 'appRoleAssignedTo' }) ?? 0;
    await feedOf(source).start();
    expect(listings()).toBe(1);
    const snap = await source.read();
    expect(listings()).toBe(1);
    expect(snap.users.length).toBeGreaterThan(0);
    // Once: a read that does not follow a start() lists them itself.
    await source.read();
    expect(listings()).toBe(2);
  });

  it('an assignment made between start() and the full read that used its listing is named by the first incremental run', async () => {
    fx = await startFixture({ users: 2 });
    const source = fx.source();
    const cursor = await feedOf(source).start();
    const added = fx.dir.addUser({ email: 'late@example.com', givenName: 'Late' });
    const snap = await source.read();
    expect(snap.users.map((u) => u.idpId)).not.toContain(added.id);
    expect((await feedOf(source).changesSince(cursor, managing(snap))).userIds).toEqual([added.id]);
  });

  it('a change made between start() and the full read is named by the first incremental run', async () => {
    fx = await startFixture({ users: 2 });
    const source = fx.source();
    const cursor = await feedOf(source).start();
    fx.dir.updateUser(PEOPLE.bob, { enabled: true });
    const snap = await source.read();
    expect((await feedOf(source).changesSince(cursor, managing(snap))).userIds).toEqual([id(fx.dir, PEOPLE.bob)]);
  });

  it.each<[string, (dir: Directory) => string, (read: Awaited<ReturnType<ChangeFeed['readUsers']>>, who: string) => void]>([
    ['a new user assigned to the app', (d) => d.addUser({ email: 'new@example.com', givenName: 'New' }).id, (r, who) => expect(r.users.map((u) => u.idpId)).toEqual([who])],
    ['an existing user assigned directly', (d) => (d.updateUser(PEOPLE.erin, { assigned: true }), id(d, PEOPLE.erin)), (r, who) => expect(r.users.map((u) => u.idpId)).toEqual([who])],
    ['a user unassigned', (d) => (d.updateUser('user1@example.com', { assigned: false }), id(d, 'user1@example.com')), (r, who) => expect(r.unassigned).toEqual([who])],
    ['an attribute in a directory extension', (d) => (d.setAttribute(PEOPLE.heidi, 'dockerOrg', 'acmelabs'), id(d, PEOPLE.heidi)), (r) => expect(r.users[0]?.dockerOrg).toEqual(['acmelabs'])],
    ['a role held as an app role (an assignment, not a user property)', (d) => (d.setAttribute(PEOPLE.heidi, 'dockerRole', 'editor'), id(d, PEOPLE.heidi)), (r) => expect(r.users[0]?.dockerRole).toEqual(['editor'])],
    ['a name', (d) => (d.updateUser(PEOPLE.grace, { givenName: 'Gracie' }), id(d, PEOPLE.grace)), (r) => expect(r.users[0]?.givenName).toBe('Gracie')],
    ['a name of someone assigned only through a group', (d) => (d.updateUser(PEOPLE.carol, { familyName: 'Cole' }), id(d, PEOPLE.carol)), (r) => expect(r.users[0]?.familyName).toBe('Cole')],
    ['an email', (d) => (d.updateUser(PEOPLE.alice, { email: 'alice.anders@example.com' }), id(d, 'alice.anders@example.com')), (r) => expect(r.users[0]?.userName).toBe('alice.anders@example.com')],
    ['an account disabled', (d) => (d.updateUser('user0@example.com', { enabled: false }), id(d, 'user0@example.com')), (r) => expect(r.users[0]?.active).toBe(false)],
    ['a team group joined', (d) => (d.addMember('acme:backend', PEOPLE.carol), id(d, PEOPLE.carol)), (r) => expect(r.users[0]?.groups).toEqual(['Docker Users', 'acme:backend'].sort())],
    ['a team group left', (d) => (d.removeMember('acme:data', PEOPLE.dave), id(d, PEOPLE.dave)), (r) => expect(r.users[0]?.groups).toEqual(['acme:backend'])],
    ['an assigned group joined by someone Docker does not have yet', (d) => (d.addMember('Docker Users', PEOPLE.erin), id(d, PEOPLE.erin)), (r) => expect(r.users[0]).toMatchObject({ groups: ['Docker Users'], dockerRole: ['member'] })],
    ['the only assigned group left', (d) => (d.removeMember('Docker Users', PEOPLE.carol), id(d, PEOPLE.carol)), (r, who) => expect(r.unassigned).toEqual([who])],
    ['a user deleted', (d) => ((who) => (d.removeUser(who), who))(id(d, PEOPLE.grace)), (r, who) => expect(r.unassigned).toEqual([who])],
  ])('%s: named, and read afresh as it now is', async (_label, change, check) => {
    fx = await startFixture({ users: 2 });
    const { feed, cursor, ctx } = await begin(fx);
    const who = change(fx.dir);
    const set = await feed.changesSince(cursor, ctx);
    expect(set.fullReadNeeded).toBeUndefined();
    expect(set.userIds).toEqual([who]);
    check(await feed.readUsers(set.userIds), who);
  });

  it('profile updates of users the tool does not manage are dropped without a request', async () => {
    fx = await startFixture({ users: 2 });
    const outsider = fx.dir.addUser({ email: 'outsider@example.com', assigned: false });
    const { feed, cursor, ctx } = await begin(fx);
    fx.dir.updateUser(outsider.id, { givenName: 'Olivia', enabled: false });
    // erin is in a group, but a nested one, not assigned (direct membership): not managed either.
    fx.dir.updateUser(PEOPLE.erin, { familyName: 'Ellis' });
    const before = fx.emu.http.requests.length;
    const set = await feed.changesSince(cursor, ctx);
    expect(set.userIds).toEqual([]);
    expect(set.entries).toBe(2);
    // The feed's own requests only (service principal, assignments, the two deltas): no user was read.
    expect(fx.emu.http.requests.slice(before).map((r) => r.route)).toEqual(['servicePrincipalByAppId', 'appRoleAssignedTo', 'usersDelta', 'groupsDelta']);
    expect(set.stats).toMatchObject({ requests: 4, pages: 3 });
  });

  it('late, repeated and out-of-order entries, and empty pages, only cost a read', async () => {
    fx = await startFixture({ users: 2 });
    const { feed, cursor, ctx } = await begin(fx);
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'A' });
    const first = await feed.changesSince(cursor, ctx);
    fx.dir.updateUser(PEOPLE.heidi, { givenName: 'H' });
    fx.emu.delta.faults.replay = { changes: 1, resource: 'users' };
    fx.emu.delta.faults.emptyPages = 3;
    const set = await feed.changesSince(first.next, ctx);
    expect(set.userIds).toEqual([id(fx.dir, PEOPLE.alice), id(fx.dir, PEOPLE.heidi)].sort());
    expect(fx.emu.delta.faults.fired).toEqual(['replay users', 'empty pages users']);
  });
});

describe('when the feed asks for a full read', () => {
  it.each<[string, (dir: Directory) => void, RegExp]>([
    ['a group assigned', (d) => d.setGroupAssigned('acmelabs:unassigned', true), /^group acmelabs:unassigned was assigned to the Docker app in Entra/],
    ['a group unassigned', (d) => d.setGroupAssigned('acme:data', false), /^group acme:data was removed from the Docker app in Entra/],
    ["a group assignment's app role changed", (d) => void (d.group('acme:backend').appRole = 'owner'), /^group acme:backend was given another app role/],
    // The Directory records no renames: a member joining makes the group show in groups/delta, with its new name.
    ['an assigned group renamed', (d) => void ((g) => ((g.name = 'acme:analytics'), d.addMember(g.id, PEOPLE.carol)))(d.group('acme:data')), /^group acme:data was renamed to acme:analytics/],
  ])('%s', async (_label, change, reason) => {
    fx = await startFixture({ users: 2 });
    const { feed, cursor, ctx } = await begin(fx);
    change(fx.dir);
    const set = await feed.changesSince(cursor, ctx);
    expect(set.fullReadNeeded).toMatch(reason);
    expect(set.userIds).toEqual([]);
    // The cursor handed in comes back: the full read starts its own, and if it fails nothing is lost.
    expect(set.next).toBe(cursor);
  });

  it('an app role given another value, or removed; a role added is followed user by user', async () => {
    fx = await startFixture({ users: 1 });
    const tls = { key: fx.emu.certificate.key, cert: fx.emu.certificate.cert };
    const proxy = new ForwardingProxy({ target: fx.origin, tls, ca: fx.emu.certificate.caPem });
    await proxy.start();
    stops.push(() => proxy.stop());
    const { feed, cursor, ctx } = await begin(fx, { authorityHost: proxy.origin, graphBaseUrl: proxy.origin });
    fx.dir.setAttribute(PEOPLE.heidi, 'dockerRole', 'superuser');
    const added = await feed.changesSince(cursor, ctx);
    expect(added).toMatchObject({ userIds: [id(fx.dir, PEOPLE.heidi)] });
    expect(added.fullReadNeeded).toBeUndefined();

    const roles = (edit: (r: Array<{ value: string }>) => unknown) => (proxy.rewrite = (answer, req) => (req.url.includes("/servicePrincipals(appId='") ? editJson(answer, (b) => void edit(b.appRoles as Array<{ value: string }>)) : answer));
    roles((r) => r.forEach((x) => x.value === 'editor' && (x.value = 'maintainer')));
    expect((await feed.changesSince(cursor, ctx)).fullReadNeeded).toBe('app role editor now has the value maintainer on the Docker app in Entra, which changes the role of everyone holding it');
    roles((r) => r.splice(r.findIndex((x) => x.value === 'owner'), 1));
    expect((await feed.changesSince(cursor, ctx)).fullReadNeeded).toBe('app role owner was removed from the Docker app in Entra, which changes the role of everyone holding it');
  });

  it('more users named than the run reads one by one, from profile updates (the delta stops paging once there are too many)', async () => {
    fx = await startFixture({ users: 4 });
    const { feed, cursor, snap } = await begin(fx);
    fx.emu.pageSize = 1;
    for (const i of [0, 1, 2, 3]) fx.dir.updateUser(`user${i}@example.com`, { givenName: `G${i}` });
    expect((await feed.changesSince(cursor, managing(snap, 4))).fullReadNeeded).toBeUndefined();
    const before = fx.emu.http.count({ route: 'usersDelta' });
    const set = await feed.changesSince(cursor, managing(snap, 2));
    expect(set.fullReadNeeded).toBe('3 users changed in Entra, more than the 2 an incremental run reads one by one');
    expect(fx.emu.http.count({ route: 'usersDelta' }) - before).toBe(3);
  });

  it('more users named than the run reads one by one, from group members', async () => {
    fx = await startFixture({ users: 3 });
    const { feed, cursor, snap } = await begin(fx);
    for (const i of [0, 1, 2]) fx.dir.addMember('acme:backend', `user${i}@example.com`);
    expect((await feed.changesSince(cursor, managing(snap, 3))).fullReadNeeded).toBeUndefined();
    expect((await feed.changesSince(cursor, managing(snap, 2))).fullReadNeeded).toBe('3 users changed in Entra, more than the 2 an incremental run reads one by one');
  });

  it('more users named than the run reads one by one, from assignments (no delta is read then)', async () => {
    fx = await startFixture({ users: 3 });
    const { feed, cursor, snap } = await begin(fx);
    for (const i of [0, 1, 2]) fx.dir.updateUser(`user${i}@example.com`, { assigned: false });
    expect((await feed.changesSince(cursor, managing(snap, 3))).fullReadNeeded).toBeUndefined();
    const before = fx.emu.http.requests.length;
    expect((await feed.changesSince(cursor, managing(snap, 2))).fullReadNeeded).toBe('3 users changed in Entra, more than the 2 an incremental run reads one by one');
    expect(fx.emu.http.requests.slice(before).map((r) => r.route)).toEqual(['servicePrincipalByAppId', 'appRoleAssignedTo']);
  });

  it('with transitive membership, a group nested into an assigned group', async () => {
    fx = await startFixture({ users: 0 });
    const { feed, cursor, ctx } = await begin(fx, { groupMembership: 'transitive' });
    // A member change in a group nested in an assigned one is followed user by user...
    fx.dir.addMember('acme:platform', PEOPLE.bob);
    const set = await feed.changesSince(cursor, ctx);
    expect(set.userIds).toEqual([id(fx.dir, PEOPLE.bob)]);
    expect((await feed.readUsers(set.userIds)).users[0]?.groups).toEqual(['acme:backend']);
    // ...a change of nesting is not.
    const extra = fx.dir.addGroup('acme:extra', { assigned: false });
    fx.dir.nestGroup('acme:platform', extra.id);
    expect((await feed.changesSince(set.next, ctx)).fullReadNeeded).toMatch(/^a group was nested into or taken out of group acme:platform/);
  });
});

describe("the assignment listing against the cursor's", () => {
  const isAssignments = (req: Exchange) => req.method === 'GET' && req.url.includes('/appRoleAssignedTo');
  async function viaProxy(f: Fixture) {
    const tls = { key: f.emu.certificate.key, cert: f.emu.certificate.cert };
    const proxy = new ForwardingProxy({ target: f.origin, tls, ca: f.emu.certificate.caPem });
    await proxy.start();
    stops.push(() => proxy.stop());
    return { proxy, ...(await begin(f, { authorityHost: proxy.origin, graphBaseUrl: proxy.origin })) };
  }
  const wire = (cursor: string) => JSON.parse(cursor) as { v: number; d?: string; au: unknown[] };

  it('a listing that comes back in another order names nobody: another digest, so it is compared entry by entry', async () => {
    fx = await startFixture({ users: 3 });
    const { proxy, feed, cursor, ctx } = await viaProxy(fx);
    proxy.rewrite = (answer, req) => (isAssignments(req) ? editJson(answer, (b) => void (b.value as unknown[]).reverse()) : answer);
    const set = await feed.changesSince(cursor, ctx);
    expect(set.userIds).toEqual([]);
    expect(wire(set.next).d).not.toBe(wire(cursor).d);
    fx.dir.updateUser('user1@example.com', { assigned: false });
    expect((await feed.changesSince(cursor, ctx)).userIds).toEqual([id(fx.dir, 'user1@example.com')]);
  });

  it("the cursor's digest stands for its listing: with the same digest the packed listing is not compared, and goes on as it is", async () => {
    fx = await startFixture({ users: 3 });
    const { feed, cursor, ctx } = await begin(fx);
    // A cursor whose packed users were lost, with the digest of the listing they came from: were
    // they unpacked and compared, every directly assigned user would be named.
    const altered = JSON.stringify({ ...wire(cursor), au: [] });
    const set = await feed.changesSince(altered, ctx);
    expect(set.userIds).toEqual([]);
    expect(wire(set.next).au).toEqual([]);
    expect((await feed.changesSince(cursor, ctx)).userIds).toEqual([]);
    // Another listing (someone unassigned): compared entry by entry, against what the cursor holds.
    fx.dir.updateUser('user1@example.com', { assigned: false });
    expect((await feed.changesSince(cursor, ctx)).userIds).toEqual([id(fx.dir, 'user1@example.com')]);
  });

  it('a cursor written before digests (version 1) is compared entry by entry, and the next one carries the digest', async () => {
    fx = await startFixture({ users: 3 });
    const { feed, cursor, ctx } = await begin(fx);
    const { d, ...rest } = wire(cursor);
    const v1 = JSON.stringify({ ...rest, v: 1 });
    const quiet = await feed.changesSince(v1, ctx);
    expect(quiet.userIds).toEqual([]);
    expect(wire(quiet.next)).toMatchObject({ v: 2, d });
    fx.dir.updateUser('user1@example.com', { assigned: false });
    expect((await feed.changesSince(v1, ctx)).userIds).toEqual([id(fx.dir, 'user1@example.com')]);
  });
});

describe('how the feed fails', () => {
  it('an expired users/delta link, answered by the route fault, is FeedExpiredError', async () => {
    fx = await startFixture({ users: 1 });
    const { feed, cursor, ctx } = await begin(fx);
    fx.emu.http.faults.add({ route: 'usersDelta', action: graphDeltaExpired() });
    const err = await rejectionOf(feed.changesSince(cursor, ctx));
    expect(err).toBeInstanceOf(FeedExpiredError);
    expect(err).toMatchObject({ system: 'entra', status: 410, remoteCode: 'resyncRequired', operation: 'GET /users/delta (page 1)' });
  });

  it.each(['gone', 'syncStateNotFound', 'resyncRequired'] as const)('a delta link Graph refuses (%s) is FeedExpiredError', async (how) => {
    fx = await startFixture({ users: 1 });
    const { feed, cursor, ctx } = await begin(fx);
    fx.emu.delta.faults.expireNext(how, 1, 'groups');
    const err = await rejectionOf(feed.changesSince(cursor, ctx));
    expect(err).toBeInstanceOf(FeedExpiredError);
    expect(err).not.toBeInstanceOf(SourceReadError);
    expect((err as FeedExpiredError).message).toMatch(/^entra: Graph no longer knows the delta link \(GET \/groups\/delta: HTTP 4\d\d/);
  });

  it('a delta link past its 7 days is FeedExpiredError; so is a cursor this version cannot read', async () => {
    fx = await startFixture({ users: 1 });
    let clock = Date.now();
    fx.dir.now = () => clock;
    const { feed, cursor, ctx } = await begin(fx);
    clock += 8 * 24 * 60 * 60 * 1000;
    const err = await rejectionOf(feed.changesSince(cursor, ctx));
    expect(err).toMatchObject({ status: 410, remoteCode: 'resyncRequired' });
    expect(err).toBeInstanceOf(FeedExpiredError);
    for (const bad of ['{"v":0}', 'not json']) {
      const e = await rejectionOf(feed.changesSince(bad, ctx));
      expect(e).toBeInstanceOf(FeedExpiredError);
      expect((e as FeedExpiredError).message).toContain('not one this version of docker-idp-sync wrote');
    }
  });

  it('a cursor made under other settings is FeedExpiredError: its links track other properties or groups', async () => {
    fx = await startFixture({ users: 1 });
    const { cursor, ctx } = await begin(fx);
    const err = await rejectionOf(feedOf(fx.source({ groupMembership: 'transitive' })).changesSince(cursor, ctx));
    expect(err).toBeInstanceOf(FeedExpiredError);
    expect((err as FeedExpiredError).hint).toContain('ENTRA_GROUP_MEMBERSHIP');
  });

  it('a delta page that fails after retries is a SourceReadError, and no ChangeSet', async () => {
    fx = await startFixture({ users: 2 });
    const { feed, cursor, ctx } = await begin(fx);
    fx.emu.pageSize = 1;
    fx.dir.updateUser(PEOPLE.alice, { givenName: 'A' });
    fx.dir.updateUser(PEOPLE.heidi, { givenName: 'H' });
    fx.emu.http.faults.add({ route: 'usersDelta', page: 2, times: Infinity, action: graphServerError(500) });
    const err = (await rejectionOf(feed.changesSince(cursor, ctx))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err).toMatchObject({ system: 'entra', operation: 'GET /users/delta (page 2)', status: 500, transient: true });
    expect(err.hint).toContain('transient');
  });

  it('a scoped read that fails is a SourceReadError, never "unassigned"', async () => {
    fx = await startFixture({ users: 2 });
    const { feed } = await begin(fx);
    fx.emu.batchFaults.add({ url: '/memberOf', times: Infinity, action: { status: 500, headers: { 'Content-Type': 'application/json' }, body: { error: { code: 'generalException', message: 'boom' } } } });
    const err = await rejectionOf(feed.readUsers([id(fx.dir, PEOPLE.carol)]));
    expect(err).toBeInstanceOf(SourceReadError);
    expect((err as SourceReadError).operation).toMatch(/^GET \/users\/[^/]+\/memberOf \(in \$batch\)$/);
    // The user is there but their groups answer 404 (deleted between the two items): an answer
    // that does not add up, not an unassignment.
    fx.emu.batchFaults.clear();
    fx.emu.batchFaults.add({ url: '/memberOf', action: { status: 404, headers: { 'Content-Type': 'application/json' }, body: { error: { code: 'Request_ResourceNotFound', message: 'gone' } } } });
    const raced = await rejectionOf(feed.readUsers([id(fx.dir, PEOPLE.carol)]));
    expect(raced).toBeInstanceOf(SourceReadError);
    expect((raced as SourceReadError).message).toContain('listing their groups answered 404');
  });

  it('a 404 for a user the assignment listing holds is an error (replicas disagreeing), never "unassigned"', async () => {
    fx = await startFixture({ users: 2 });
    const { feed } = await begin(fx);
    const alice = id(fx.dir, PEOPLE.alice);
    expect(fx.dir.user(alice).assigned).toBe(true);
    fx.emu.batchFaults.add({ url: `/users/${alice}?`, times: Infinity, action: { status: 404, headers: { 'Content-Type': 'application/json' }, body: { error: { code: 'Request_ResourceNotFound', message: 'gone' } } } });
    const err = await rejectionOf(feed.readUsers([alice]));
    expect(err).toBeInstanceOf(SourceReadError);
    expect((err as SourceReadError).message).toContain('directly assigned to the Docker app');
  });

  it('a delta nextLink off the configured origin is the error a full read gives, and nothing is sent there', async () => {
    fx = await startFixture({ users: 1 });
    const tls = { key: fx.emu.certificate.key, cert: fx.emu.certificate.cert };
    const proxy = new ForwardingProxy({ target: fx.origin, tls, ca: fx.emu.certificate.caPem });
    const elsewhere = new Recorder(tls);
    await Promise.all([proxy.start(), elsewhere.start()]);
    stops.push(() => proxy.stop(), () => elsewhere.stop());
    const { feed, cursor, ctx } = await begin(fx, { authorityHost: proxy.origin, graphBaseUrl: proxy.origin });
    const isUsersDelta = (req: Exchange) => req.url.includes('/users/delta');
    proxy.rewrite = (answer, req) => (isUsersDelta(req) ? editJson(answer, (b) => void (b['@odata.nextLink'] = `${elsewhere.origin}/v1.0/users/delta?$skiptoken=x`)) : answer);
    const err = (await rejectionOf(feed.changesSince(cursor, ctx))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toBe('GET /users/delta (page 2)');
    expect(err.message).toContain(`the next page link points at ${elsewhere.origin}, not the configured Graph origin ${proxy.origin}`);
    expect(elsewhere.requests).toEqual([]);
    // A deltaLink elsewhere is refused as well: it would be called on the next run.
    proxy.rewrite = (answer, req) => (isUsersDelta(req) ? editJson(answer, (b) => void (b['@odata.deltaLink'] = `${elsewhere.origin}/v1.0/users/delta?$deltatoken=x`)) : answer);
    expect(((await rejectionOf(feed.changesSince(cursor, ctx))) as SourceReadError).message).toContain('the delta link points at');
    // A stored cursor that names another origin is never called: a full read is safe.
    const moved = fx.source();
    expect(await rejectionOf(feedOf(moved).changesSince(cursor, ctx))).toBeInstanceOf(FeedExpiredError);
  });

  it('a delta that keeps paging past the cap is an error', async () => {
    fx = await startFixture({ users: 1 });
    const { feed, cursor, ctx } = await begin(fx, { maxUsers: 999 });
    // maxUsers 999: a listing may have 2 pages, a delta ten times as many.
    fx.emu.delta.faults.emptyPages = 25;
    const err = (await rejectionOf(feed.changesSince(cursor, ctx))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain('the delta goes on past 20 pages');
  });
});
