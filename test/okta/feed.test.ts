import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedExpiredError, SourceReadError } from '../../src/model/errors.ts';
import type { ChangeFeed, FeedContext, IdpUser, Source } from '../../src/model/idp.ts';
import { oktaForbidden, oktaLogCursorExpired, oktaServerError } from '../../src/sandbox/okta/faults.ts';
import type { OktaSourceOptions } from '../../src/sources/okta/index.ts';
import { errorText } from '../support/logs.ts';
import { ForwardingProxy, Recorder, type Answer } from '../support/proxy.ts';
import { PEOPLE, rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * The Okta change feed (System Log) and the scoped read behind it, through the real SDK and the
 * emulator over HTTP: every user the log names is read afresh exactly as a full read sees them,
 * and a log that cannot be read whole is an error or a full read, never an unassignment.
 */

let fx: Fixture | null = null;
let proxy: ForwardingProxy | null = null;
let elsewhere: Recorder | null = null;
afterEach(async () => {
  await proxy?.stop();
  await elsewhere?.stop();
  await fx?.stop();
  fx = null;
  proxy = null;
  elsewhere = null;
});

const EVERYONE: FeedContext = { isManaged: () => true, maxUsers: 100 };

/** A fixture whose seeding is past retention, so the log holds only what a test does; and its source's feed. */
async function quiet(users = 3, overrides: Partial<OktaSourceOptions> = {}): Promise<{ fx: Fixture; source: Source; feed: ChangeFeed }> {
  fx = await startFixture({ users });
  fx.emu.systemLog.prune();
  const source = fx.source(overrides);
  if (!source.feed) throw new Error('the Okta source has no change feed');
  return { fx, source, feed: source.feed };
}

function byId(users: readonly IdpUser[]): Record<string, IdpUser> {
  return Object.fromEntries(users.map((u) => [u.idpId, u]));
}

/** Emulator requests by route since `from`. */
function routes(f: Fixture, from = 0): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of f.emu.http.requests.slice(from)) out[r.route] = (out[r.route] ?? 0) + 1;
  return out;
}

describe('readUsers gives each user exactly as a full read does', () => {
  it('for a varied population: attributes of every kind, groups, inactive, GROUP scope, ill-typed, unassigned, deleted, unknown', async () => {
    const { fx: f, source, feed } = await quiet(3);
    const d = f.dir;
    f.emu.notYetAssigned.add(d.user(PEOPLE.erin).id);
    d.setAttribute('user0@example.com', 'dockerOrg', 42 as unknown as string);
    d.setAttribute('user1@example.com', 'dockerRole', { admin: true } as unknown as string);
    const frank = d.addUser({ email: 'frank@example.com', givenName: 'Frank', assigned: false });
    d.addMember('acme:data', frank.id);
    d.addUser({ email: null, givenName: 'No', familyName: 'Mail' });
    const lonely = d.addUser({ email: 'lonely@example.com', assigned: false });
    const gone = d.user('user2@example.com').id;
    d.removeUser(gone);

    const snap = await source.read();
    const full = byId(snap.users);
    // The population is as varied as the test claims.
    expect(full[d.user(PEOPLE.alice).id]).toMatchObject({ dockerOrg: ['acme', 'acmelabs'], groups: ['acme:backend'] });
    expect(full[d.user(PEOPLE.bob).id]?.active).toBe(false);
    expect(full[d.user(PEOPLE.carol).id]?.note).toContain('(GROUP)');
    expect(full[d.user(PEOPLE.dave).id]?.groups).toEqual(['acme:backend', 'acme:data']);
    expect(full[frank.id]?.groups).toEqual(['acme:data']);
    expect(full[d.user('user0@example.com').id]?.illTyped).toHaveLength(1);
    expect(full[d.user('user1@example.com').id]?.illTyped).toHaveLength(1);
    expect(snap.notes.map((n) => n.subject)).toEqual([PEOPLE.erin]);

    const ids = [...d.users.keys(), gone, '00unobody0000000000'];
    const before = f.emu.http.requests.length;
    const scoped = await feed.readUsers(ids);

    expect(byId(scoped.users)).toEqual(full);
    expect(scoped.users).toHaveLength(snap.users.length);
    expect([...scoped.unassigned].sort()).toEqual([d.user(PEOPLE.erin).id, lonely.id, gone, '00unobody0000000000'].sort());
    expect(scoped.notes).toEqual(snap.notes);
    // One listing of the app's groups; per user its assignment and its groups; the stray's label.
    expect(routes(f, before)).toEqual({ listAppGroups: 1, getAppUser: ids.length, listUserGroups: ids.length, getUser: 1 });
    expect(scoped.stats.requests).toBe(f.emu.http.requests.length - before);
    expect(f.emu.http.writes()).toEqual([]);
  });

  it('reads no groups when the app has no org:team group', async () => {
    const { fx: f, feed } = await quiet(1);
    f.dir.setGroupAssigned('acme:backend', false);
    f.dir.setGroupAssigned('acme:data', false);
    const alice = f.dir.user(PEOPLE.alice).id;
    const scoped = await feed.readUsers([alice, alice]);
    expect(scoped.users.map((u) => [u.idpId, u.groups])).toEqual([[alice, []]]);
    expect(routes(f)).toEqual({ listAppGroups: 1, getAppUser: 1 });
  });
});

describe('readUsers: a user it cannot read fails the whole call, never counts as unassigned', () => {
  it.each<[string, () => Parameters<Fixture['emu']['http']['faults']['add']>[0]]>([
    ['a 5xx on the assignment after retries', () => ({ route: 'getAppUser', times: Infinity, action: oktaServerError(503) })],
    ['a 404 that is not Okta\'s (an HTML page)', () => ({ route: 'getAppUser', times: Infinity, action: { type: 'status', status: 404, body: '<html>gone</html>', headers: { 'content-type': 'text/html' } } })],
    ['a 5xx on the user\'s groups after retries', () => ({ route: 'listUserGroups', times: Infinity, action: oktaServerError(500) })],
    ['another user\'s record', () => ({ route: 'getAppUser', action: { type: 'status', status: 200, body: { id: '00uanother', status: 'PROVISIONED', profile: {} }, headers: { 'content-type': 'application/json' } } })],
    ['a body cut off', () => ({ route: 'getAppUser', action: { type: 'truncate' } })],
  ])('%s', async (_label, fault) => {
    const { fx: f, feed } = await quiet(1);
    f.emu.http.faults.add(fault());
    const alice = f.dir.user(PEOPLE.alice).id;
    const err = await rejectionOf(feed.readUsers([alice]));
    expect(err).toBeInstanceOf(SourceReadError);
    expect((err as SourceReadError).operation).toMatch(new RegExp(`^GET /api/v1/(apps/${f.emu.appId}/)?users/${alice}`));
  });
});

describe('the change feed names who changed', () => {
  it('start(), a change, changesSince names it; from the returned cursor, nothing new', async () => {
    const { fx: f, feed } = await quiet();
    const start = await feed.start();
    // One empty page: the log's end, where the cursor now points.
    expect(routes(f)).toEqual({ listLogEvents: 1 });
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    const first = await feed.changesSince(start, EVERYONE);
    expect(first).toMatchObject({ userIds: [f.dir.user(PEOPLE.alice).id], entries: 1 });
    expect(first.fullReadNeeded).toBeUndefined();
    // The page with the event and the empty page that ends the poll.
    expect(routes(f)).toEqual({ listLogEvents: 3 });
    expect(first.stats).toMatchObject({ requests: 2, pages: 2 });

    const second = await feed.changesSince(first.next, EVERYONE);
    expect(second).toMatchObject({ userIds: [], entries: 0 });
    expect(routes(f)).toEqual({ listLogEvents: 4 });
    // The kept cursor is Okta's own next link, followed as it is.
    const last = f.emu.http.requests.at(-1);
    expect(new URLSearchParams(last?.query).get('after')).not.toBeNull();
  });

  it('start() keeps Okta\'s position, not a time: what came before is not named again, and a host clock ahead of Okta\'s loses nothing', async () => {
    const { fx: f, feed } = await quiet(1);
    f.dir.setAttribute(PEOPLE.dave, 'dockerRole', 'editor');
    // Okta's clock is 20 s behind this host's from here on.
    const realNow = f.dir.now;
    f.dir.now = () => realNow() - 20_000;
    const cursor = await feed.start();
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs.userIds).toEqual([f.dir.user(PEOPLE.alice).id]);
  });

  it('a full read and the feed on one source take turns, each counting its own requests', async () => {
    const { fx: f, source, feed } = await quiet(1);
    const cursor = await feed.start();
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    const before = f.emu.http.requests.length;
    const [snap, cs, scoped] = await Promise.all([source.read(), feed.changesSince(cursor, EVERYONE), feed.readUsers([f.dir.user(PEOPLE.alice).id])]);
    // App users, app groups, two org:team groups' members.
    expect(snap.stats.requests).toBe(4);
    expect(cs.stats.requests).toBe(2);
    expect(scoped.stats.requests).toBe(3);
    expect(snap.stats.requests + cs.stats.requests + scoped.stats.requests).toBe(f.emu.http.requests.length - before);
  });

  it('each kind of directory change, by the user id (never the AppUser id), and nothing for a group that is not assigned', async () => {
    const { fx: f, feed } = await quiet(3);
    const d = f.dir;
    const lonely = d.addUser({ email: 'lonely@example.com', assigned: false });
    const pending = d.addUser({ email: 'pending@example.com', assigned: false });
    f.emu.notYetAssigned.add(pending.id);
    const id = (who: string) => d.user(who).id;
    const alice = id(PEOPLE.alice);
    const dave = id(PEOPLE.dave);
    const user2 = id('user2@example.com');
    let cursor = await feed.start();
    await feed.changesSince(cursor, EVERYONE).then((c) => (cursor = c.next));

    const cases: Array<[string, () => void, string[]]> = [
      ['assigned to the app', () => d.updateUser(lonely.id, { assigned: true }), [lonely.id]],
      ['unassigned from the app', () => d.updateUser('user0@example.com', { assigned: false }), [id('user0@example.com')]],
      ['an app attribute changed', () => d.setAttribute('user1@example.com', 'dockerRole', 'editor'), [id('user1@example.com')]],
      ['a name changed', () => d.updateUser(alice, { familyName: 'Andersson' }), [alice]],
      ['an email changed', () => d.updateUser(alice, { email: 'alice.a@example.com' }), [alice]],
      ['disabled', () => d.updateUser(dave, { enabled: false }), [dave]],
      ['joined a team group', () => d.addMember('acme:data', 'user1@example.com'), [id('user1@example.com')]],
      ['left a team group', () => d.removeMember('acme:backend', alice), [alice]],
      // Okta has not applied the group's assignment yet: only the membership event says so.
      ['joined a group that gives the app', () => d.addMember('Docker Users', pending.id), [pending.id]],
      ['deleted', () => d.removeUser(user2), [user2]],
      ['joined a group not assigned to the app', () => d.addMember('acmelabs:unassigned', alice), []],
    ];
    for (const [label, change, expected] of cases) {
      change();
      const cs = await feed.changesSince(cursor, EVERYONE);
      expect([...cs.userIds].sort(), label).toEqual([...expected].sort());
      expect(cs.fullReadNeeded, label).toBeUndefined();
      cursor = cs.next;
    }
  });

  it('the readUsers that follows reuses the app-group listing the log needed; the one after lists again', async () => {
    const { fx: f, source, feed } = await quiet(1);
    const cursor = await feed.start();
    f.dir.addMember('acme:data', 'user0@example.com');
    const cs = await feed.changesSince(cursor, EVERYONE);
    const scoped = await feed.readUsers(cs.userIds);
    expect(scoped.users.map((u) => u.groups)).toEqual([['acme:data']]);
    expect(routes(f)).toEqual({ listLogEvents: 3, listAppGroups: 1, getAppUser: 1, listUserGroups: 1 });
    await feed.readUsers(cs.userIds);
    expect(routes(f).listAppGroups).toBe(2);
    expect(byId((await source.read()).users)[cs.userIds[0] as string]).toEqual(scoped.users[0]);
  });

  it('drops profile and lifecycle events of users it does not manage without a request, and still follows their assignments', async () => {
    const { fx: f, feed } = await quiet(3);
    const alice = f.dir.user(PEOPLE.alice).id;
    const lonely = f.dir.addUser({ email: 'lonely@example.com', assigned: false });
    const managedOnly: FeedContext = { isManaged: (id) => id === alice, maxUsers: 100 };
    const cursor = await feed.start();
    f.dir.updateUser('user0@example.com', { givenName: 'Other' });
    f.dir.updateUser('user1@example.com', { enabled: false });
    f.dir.removeUser('user2@example.com');
    f.dir.updateUser(alice, { givenName: 'Alicia' });
    f.dir.updateUser(lonely.id, { assigned: true });
    const cs = await feed.changesSince(cursor, managedOnly);
    expect([...cs.userIds].sort()).toEqual([alice, lonely.id].sort());
    expect(cs.entries).toBe(5);
    // start()'s page, the log's two pages, and nothing to look the dropped users up.
    expect(routes(f)).toEqual({ listLogEvents: 3 });
  });

  it('ignores another app\'s assignments and costs only a re-read for late, repeated and out-of-order events', async () => {
    const { fx: f, feed } = await quiet(1);
    const alice = f.dir.user(PEOPLE.alice).id;
    const cursor = await feed.start();
    const log = f.emu.systemLog;
    log.inject({ eventType: 'application.user_membership.add', user: { id: '00uotherapp' }, app: '0oaotherapp' });
    log.inject({ eventType: 'application.user_membership.update', user: { id: alice }, app: true });
    // Published an hour ago, stored only now: polling goes by when Okta stored it.
    log.inject({ eventType: 'application.user_membership.update', user: { id: alice }, app: true, published: Date.now() - 3_600_000 });
    log.inject({ eventType: 'user.account.update_profile', user: { id: alice } });
    const cs = await feed.changesSince(cursor, EVERYONE);
    expect(cs.userIds).toEqual([alice]);
    expect(cs.entries).toBe(4);
  });
});

describe('what cannot be followed user by user asks for a full read', () => {
  it.each<[string, (f: Fixture) => void, RegExp | null]>([
    ['a group assigned to the app', (f) => f.dir.setGroupAssigned('acmelabs:unassigned', true), /"acmelabs:unassigned" was assigned to the Docker app/],
    ['a group removed from the app', (f) => f.dir.setGroupAssigned('Docker Users', false), /"Docker Users" was removed from the Docker app/],
    ['an assigned group renamed', (f) => f.emu.systemLog.inject({ eventType: 'group.profile.update', group: { id: f.dir.group('acme:backend').id, name: 'acme:backend' } }), /"acme:backend", assigned to the Docker app, was changed/],
    ['a group not assigned renamed (no full read)', (f) => f.emu.systemLog.inject({ eventType: 'group.profile.update', group: { id: f.dir.group('acmelabs:unassigned').id } }), null],
    ['an assignment event without its user', (f) => f.emu.systemLog.injectRaw({ uuid: 'u1', eventType: 'application.user_membership.add', target: [{ id: f.emu.appId, type: 'AppInstance' }] }), /names no user/],
  ])('%s', async (_label, change, reason) => {
    const { fx: f, feed } = await quiet(1);
    const cursor = await feed.start();
    change(f);
    const cs = await feed.changesSince(cursor, EVERYONE);
    if (reason === null) expect(cs.fullReadNeeded).toBeUndefined();
    else expect(cs.fullReadNeeded).toMatch(reason);
  });

  it('more users named than maxUsers: a full read, without reading the rest of the log', async () => {
    const { fx: f, feed } = await quiet(1_200);
    const cursor = await feed.start();
    for (let i = 0; i < 1_200; i++) f.dir.setAttribute(`user${i}@example.com`, 'dockerRole', 'editor');
    const cs = await feed.changesSince(cursor, { isManaged: () => true, maxUsers: 3 });
    expect(cs.fullReadNeeded).toMatch(/more than 3 users/);
    // start()'s page and the first of the log's two.
    expect(routes(f)).toEqual({ listLogEvents: 2 });
    // The run reads everything now; the cursor it may keep starts from this read, not before it.
    expect(JSON.parse(cs.next)).toMatchObject({ since: expect.any(String) });
  });
});

describe('a cursor Okta no longer honours is FeedExpiredError: the run reads everything', () => {
  it('an expired next link', async () => {
    const { fx: f, feed } = await quiet();
    const cs = await feed.changesSince(await feed.start(), EVERYONE);
    f.emu.systemLog.expireCursors();
    const err = await rejectionOf(feed.changesSince(cs.next, EVERYONE));
    expect(err).toBeInstanceOf(FeedExpiredError);
    expect(err).toMatchObject({ system: 'okta', status: 400, remoteCode: 'E0000001', operation: 'GET /api/v1/logs (page 1)' });
    expect((err as FeedExpiredError).message).toContain('The cursor is invalid or has expired');
  });

  it('a since older than the log keeps, and the cursor-expired fault', async () => {
    const { fx: f, feed } = await quiet();
    const old = JSON.stringify({ v: 1, app: f.emu.appId, since: '2020-01-01T00:00:00.000Z' });
    expect(await rejectionOf(feed.changesSince(old, EVERYONE))).toBeInstanceOf(FeedExpiredError);
    const cursor = await feed.start();
    f.emu.http.faults.add({ route: 'listLogEvents', action: oktaLogCursorExpired() });
    expect(await rejectionOf(feed.changesSince(cursor, EVERYONE))).toBeInstanceOf(FeedExpiredError);
  });

  it.each<[string, (f: Fixture) => string]>([
    ['not a cursor this source wrote', () => 'garbage'],
    ['a cursor for another app', () => JSON.stringify({ v: 1, app: '0oaanother', since: new Date().toISOString() })],
    ['a link on another origin (OKTA_ORG_URL changed)', () => JSON.stringify({ v: 1, app: fx?.emu.appId, next: 'http://127.0.0.1:9/api/v1/logs?after=x' })],
  ])('%s, without a request', async (_label, cursor) => {
    const { fx: f, feed } = await quiet();
    expect(await rejectionOf(feed.changesSince(cursor(f), EVERYONE))).toBeInstanceOf(FeedExpiredError);
    expect(f.emu.http.requests).toHaveLength(0);
  });
});

describe('a log that cannot be read whole is a SourceReadError and no ChangeSet', () => {
  it('a page that fails after retries', async () => {
    const { fx: f, feed } = await quiet(1);
    const cursor = await feed.start();
    for (let i = 0; i < 1_100; i++) f.emu.systemLog.inject({ eventType: 'user.account.update_profile', user: { id: `00u${i}` } });
    // The kept cursor's pages go on counting from start()'s: the fault skips the first page of this poll.
    f.emu.http.faults.add({ route: 'listLogEvents', skip: 1, times: Infinity, action: oktaServerError(500) });
    const err = await rejectionOf(feed.changesSince(cursor, { isManaged: () => true, maxUsers: 5_000 }));
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err).toMatchObject({ status: 500, operation: 'GET /api/v1/logs (page 2)', transient: true });
    expect(f.emu.http.count({ route: 'listLogEvents', status: 500 })).toBe(3);
  });

  it('a 403 says which permission the feed needs, from start() and from changesSince()', async () => {
    const { fx: f, feed } = await quiet(1);
    f.emu.http.faults.add({ route: 'listLogEvents', action: oktaForbidden() });
    const atStart = (await rejectionOf(feed.start())) as SourceReadError;
    expect(atStart).toBeInstanceOf(SourceReadError);
    expect(atStart).toMatchObject({ status: 403, operation: 'GET /api/v1/logs (page 1)' });
    expect(atStart.hint).toContain('okta.logs.read');
    const cursor = await feed.start();
    f.emu.http.faults.add({ route: 'listLogEvents', action: oktaForbidden() });
    const later = (await rejectionOf(feed.changesSince(cursor, EVERYONE))) as SourceReadError;
    expect(later.hint).toContain('okta.logs.read');
  });

  it('an OAuth app whose token lacks okta.logs.read gets a 403 from the log, and says so; with it, the feed works', async () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    fx = await startFixture({ users: 1, emulator: { oauth: { clientId: '0oafeed', publicKeyPem: keys.publicKey } } });
    const auth = (scopes?: string[]) => ({ auth: { kind: 'privateKey' as const, clientId: '0oafeed', privateKey: keys.privateKey, ...(scopes ? { scopes } : {}) } });
    const without = (await rejectionOf((fx.source(auth()).feed as ChangeFeed).start())) as SourceReadError;
    expect(without).toMatchObject({ status: 403, remoteCode: 'E0000006' });
    expect(without.hint).toContain('okta.logs.read');
    const withLogs = fx.source(auth(['okta.apps.read', 'okta.groups.read', 'okta.users.read', 'okta.logs.read'])).feed as ChangeFeed;
    expect(JSON.parse(await withLogs.start())).toMatchObject({ next: expect.stringContaining('/api/v1/logs?') });
  });

  it('a log that pages on past the cap MAX_USERS sets', async () => {
    const { fx: f, feed } = await quiet(1, { maxUsers: 1_000 });
    const cursor = await feed.start();
    for (let i = 0; i < 2_100; i++) f.emu.systemLog.inject({ eventType: 'user.account.update_profile', user: { id: `00u${i}` } });
    const err = (await rejectionOf(feed.changesSince(cursor, { isManaged: () => false, maxUsers: 10 }))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain('goes on past 2 pages');
    expect(f.emu.http.count({ route: 'listLogEvents' })).toBe(1 + 2);
  });
});

describe('System Log paging links stay on the origin of OKTA_ORG_URL', () => {
  async function behindProxy(): Promise<{ f: Fixture; p: ForwardingProxy; away: Recorder; feed: ChangeFeed }> {
    fx = await startFixture({ users: 1 });
    fx.emu.systemLog.prune();
    proxy = new ForwardingProxy({ target: fx.base });
    await proxy.start();
    elsewhere = new Recorder();
    await elsewhere.start();
    const feed = fx.source({ orgUrl: proxy.origin }).feed as ChangeFeed;
    return { f: fx, p: proxy, away: elsewhere, feed };
  }
  const moveNext = (a: Answer, from: string, to: string): Answer => ({
    ...a,
    headers: { ...a.headers, link: ([] as string[]).concat(a.headers.link ?? []).map((l) => (l.includes('rel="next"') ? l.split(from).join(to) : l)) },
  });

  it.each([
    ['mid-poll, after a page of events', true],
    ['on the empty page that ends the poll (kept, not sent)', false],
  ])('a next link elsewhere %s is a read error; nothing is sent there', async (_label, withEvents) => {
    const { f, p, away, feed } = await behindProxy();
    const cursor = await feed.start();
    if (withEvents) f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    p.rewrite = (a, req) => (req.url.startsWith('/api/v1/logs') ? moveNext(a, p.origin, away.origin) : a);
    const err = (await rejectionOf(feed.changesSince(cursor, EVERYONE))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain(`points to ${away.origin}, which is not the origin of OKTA_ORG_URL (${p.origin}); nothing was sent there`);
    expect(err.operation).toBe(withEvents ? 'GET /api/v1/logs (page 2)' : 'GET /api/v1/logs (page 1)');
    expect(errorText(err)).not.toContain('after=');
    expect(away.requests).toHaveLength(0);
  });

  it.each([
    ['an event that is not an object', '[null]', 'event 1 is an event that is not a JSON object'],
    ['an event without a type', '[{"uuid":"x","target":[]}]', 'event 1 is an event without an eventType'],
    ['a page that is not a list', '{"events":[]}', 'returned a response that could not be read'],
  ])('%s is a read error', async (_label, body, message) => {
    const { p, feed } = await behindProxy();
    const cursor = await feed.start();
    p.rewrite = (a, req) => (req.url.startsWith('/api/v1/logs') ? { ...a, body } : a);
    const err = (await rejectionOf(feed.changesSince(cursor, EVERYONE))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain(message);
  });

  it('a next link that serves the same events again under a fresh cursor is an error, not a loop', async () => {
    const { f, p, feed } = await behindProxy();
    const cursor = await feed.start();
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    let first: Answer | null = null;
    let n = 0;
    p.rewrite = (a, req) => {
      if (!req.url.startsWith('/api/v1/logs')) return a;
      first ??= a;
      return { ...first, headers: { ...first.headers, link: [`<${p.origin}/api/v1/logs?limit=1000&after=fresh${++n}>; rel="next"`] } };
    };
    const err = (await rejectionOf(feed.changesSince(cursor, EVERYONE))) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain('already read');
    expect(n).toBe(2);
  });
});
