import { afterEach, describe, expect, it } from 'vitest';
import { oktaLogCursorExpired, oktaServerError } from '../../src/sandbox/okta/faults.ts';
import { nextLink, rawGet, type Raw } from './raw-http.ts';
import { PEOPLE, startFixture, type Fixture } from './setup.ts';

const get = (url: string, auth: string | null = `SSWS ${fx?.emu.apiToken}`): Promise<Raw> => rawGet(url, auth);

/**
 * The emulator's System Log (`/api/v1/logs`) and a user's groups (`/users/{id}/groups`), on the
 * wire without the SDK: okta.md §1.4 and §8 item 8.
 */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});




interface Target {
  id: string;
  type: string;
  alternateId: string;
}
interface Event {
  uuid: string;
  eventType: string;
  published: string;
  target: Target[];
}

function events(r: Raw): Event[] {
  expect(r.status).toBe(200);
  return r.body as Event[];
}

/** `[eventType, [target type:id, …]]` for compact comparisons. */
function shape(es: Event[]): Array<[string, string[]]> {
  return es.map((e) => [e.eventType, e.target.map((t) => `${t.type}:${t.id}`)]);
}

/** A fixture whose seeding is already past retention: the log holds only what a test does. */
async function quiet(users = 3): Promise<Fixture> {
  fx = await startFixture({ users });
  fx.emu.systemLog.prune();
  return fx;
}

const logs = (q = '') => `${fx?.base}/api/v1/logs${q ? `?${q}` : ''}`;

describe('the System Log serves each directory change as the event Okta records', () => {
  it('assignments, app profile, account status, profile, group membership and group assignment, with Okta targets', async () => {
    const f = await quiet();
    const app = f.emu.appId;
    const d = f.dir;
    const alice = d.user(PEOPLE.alice).id;
    const carol = d.user(PEOPLE.carol).id;
    const backend = d.group('acme:backend').id;
    const staff = d.group('Docker Users').id;
    const lab = d.group('acmelabs:unassigned').id;
    const dave = d.user(PEOPLE.dave).id;
    const appUser = (r: Raw, i: number) => (events(r)[i] as Event).target[0] as Target;

    d.updateUser(PEOPLE.alice, { assigned: false });
    const fresh = d.addUser({ email: 'new@example.com', givenName: 'New', familyName: 'Person' });
    d.setAttribute(PEOPLE.dave, 'dockerRole', 'editor');
    d.updateUser(PEOPLE.dave, { givenName: 'David', email: 'david@example.com' });
    d.updateUser(dave, { enabled: false });
    d.updateUser(dave, { enabled: true });
    d.removeMember('Docker Users', PEOPLE.carol);
    d.addMember('acme:backend', 'user0@example.com');
    d.setGroupAssigned('acmelabs:unassigned', true);
    d.setGroupAssigned('acmelabs:unassigned', false);
    const user1 = d.user('user1@example.com').id;
    d.removeUser('user1@example.com');

    const r = await get(logs());
    const user0 = d.user('user0@example.com').id;
    expect(shape(events(r)).map(([t, targets]) => [t, targets.map((x) => (x.startsWith('AppUser:') ? 'AppUser' : x))])).toEqual([
      // Alice keeps the app through acme:backend, an assigned group: only the assignment's scope changes.
      ['application.user_membership.update', ['AppUser', `AppInstance:${app}`, `User:${alice}`]],
      ['application.user_membership.add', ['AppUser', `AppInstance:${app}`, `User:${fresh.id}`]],
      ['application.user_membership.update', ['AppUser', `AppInstance:${app}`, `User:${dave}`]],
      ['user.account.update_profile', [`User:${dave}`]],
      ['user.lifecycle.deactivate', [`User:${dave}`]],
      ['user.lifecycle.activate', [`User:${dave}`]],
      ['group.user_membership.remove', [`User:${carol}`, `UserGroup:${staff}`]],
      // Carol had the app only through "Docker Users".
      ['application.user_membership.remove', ['AppUser', `AppInstance:${app}`, `User:${carol}`]],
      // user0 is assigned directly: joining a team group gives no new app access.
      ['group.user_membership.add', [`User:${user0}`, `UserGroup:${backend}`]],
      ['group.application_assignment.add', [`UserGroup:${lab}`, `AppInstance:${app}`]],
      ['group.application_assignment.remove', [`UserGroup:${lab}`, `AppInstance:${app}`]],
      ['user.lifecycle.delete.initiated', [`User:${user1}`]],
    ]);
    // The AppUser target is the assignment (0ua…), not the user: a reader must join on User.
    for (const i of [0, 1, 2, 7]) {
      expect(appUser(r, i).id).toMatch(/^0ua/);
      expect(appUser(r, i).id).not.toContain(events(r)[i]?.target[2]?.id as string);
    }
    expect(events(r)[3]?.target[0]?.alternateId).toBe('david@example.com');
  });

  it('a flag changed more than once before the log is read shows each change in its own direction', async () => {
    const f = await quiet(0);
    const late = f.dir.addUser({ email: 'late@example.com', assigned: false });
    f.dir.updateUser(late.id, { assigned: true });
    const brief = f.dir.addUser({ email: 'brief@example.com' });
    f.dir.updateUser(brief.id, { assigned: false });
    f.dir.updateUser(brief.id, { assigned: true });
    const types = events(await get(logs())).map((e) => `${e.eventType} ${e.target.at(-1)?.alternateId}`);
    expect(types).toEqual([
      'user.lifecycle.create late@example.com',
      'application.user_membership.add late@example.com',
      'application.user_membership.add brief@example.com',
      'application.user_membership.remove brief@example.com',
      'application.user_membership.add brief@example.com',
    ]);
  });

  it('stamps events with the directory clock, in ascending order, each with its own uuid and Okta fields', async () => {
    const f = await quiet();
    let t = Date.parse('2026-12-01T10:00:00.000Z');
    f.dir.now = () => t;
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    t += 1500;
    f.dir.setAttribute(PEOPLE.dave, 'dockerRole', 'owner');
    const r = await get(logs('since=2026-12-01T09:00:00.000Z'));
    const es = events(r);
    expect(es.map((e) => e.published)).toEqual(['2026-12-01T10:00:00.000Z', '2026-12-01T10:00:01.500Z']);
    expect(new Set(es.map((e) => e.uuid)).size).toBe(2);
    expect(es[0]).toMatchObject({ version: '0', severity: 'INFO', legacyEventType: expect.any(String), displayMessage: expect.any(String), outcome: { result: 'SUCCESS' }, actor: { type: 'User' } });
  });
});

describe('polling and bounded queries', () => {
  it('a polling query always has a next link, empty page included, on two separate link headers', async () => {
    const f = await quiet();
    const empty = await get(logs('limit=1000'));
    expect(events(empty)).toEqual([]);
    expect(empty.headers.get('link')).toHaveLength(2);
    expect(empty.headers.get('link')?.[0]).toBe(`<${f.base}/api/v1/logs?limit=1000>; rel="self"`);
    const next = nextLink(empty) as string;
    expect(next.startsWith(`${f.base}/api/v1/logs?`)).toBe(true);
    for (const h of ['x-rate-limit-limit', 'x-rate-limit-remaining', 'x-rate-limit-reset', 'x-okta-request-id']) expect(empty.headers.has(h)).toBe(true);

    // What happens after the cursor comes on the page it points to, and nothing before it again.
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    const page = await get(next);
    expect(shape(events(page)).map(([t]) => t)).toEqual(['application.user_membership.update']);
    const after = await get(nextLink(page) as string);
    expect(events(after)).toEqual([]);
    expect(nextLink(after)).not.toBeNull();
  });

  it('pages by limit in order without skipping or repeating, and a bounded query ends without next', async () => {
    const f = await quiet();
    for (let i = 0; i < 5; i++) f.dir.setAttribute(`user${i % 3}@example.com`, 'dockerRole', `r${i}`);
    const seen: string[] = [];
    let r = await get(logs('limit=2'));
    for (let n = 0; n < 3; n++) {
      seen.push(...events(r).map((e) => e.uuid));
      r = await get(nextLink(r) as string);
    }
    expect(events(r)).toEqual([]);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);

    const until = new Date(Date.now() + 60_000).toISOString();
    const bounded = await get(logs(`limit=3&until=${until}`));
    expect(events(bounded)).toHaveLength(3);
    const last = await get(nextLink(bounded) as string);
    expect(events(last)).toHaveLength(2);
    expect(nextLink(last)).toBeNull();
  });

  it('since leaves out what came before; since older than 90 days, a bad limit or an unsupported order is refused with 400', async () => {
    const f = await quiet();
    let t = Date.parse('2026-12-01T10:00:00.000Z');
    f.dir.now = () => t;
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    t += 60_000;
    f.dir.setAttribute(PEOPLE.dave, 'dockerRole', 'owner');
    const r = await get(logs('since=2026-12-01T10:00:30.000Z'));
    expect(events(r).map((e) => e.target[2]?.id)).toEqual([f.dir.user(PEOPLE.dave).id]);

    for (const q of ['since=2026-08-01T00:00:00.000Z', 'limit=-1', 'limit=abc', 'since=yesterday', 'sortOrder=DESCENDING']) {
      const bad = await get(logs(q));
      expect(bad.status, q).toBe(400);
      expect(bad.body, q).toMatchObject({ errorCode: 'E0000001', errorSummary: expect.stringMatching(/^Api validation failed/) });
    }
  });
});

describe('filters', () => {
  it('eventType eq and sw, target.id eq, joined by and/or with parentheses; published and unknown attributes are refused', async () => {
    const f = await quiet();
    const app = f.emu.appId;
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    f.dir.updateUser(PEOPLE.dave, { givenName: 'David' });
    f.dir.addMember('acme:data', PEOPLE.alice);
    const q = async (filter: string) => shape(events(await get(logs(`filter=${encodeURIComponent(filter)}`)))).map(([t]) => t);

    expect(await q('eventType eq "user.account.update_profile"')).toEqual(['user.account.update_profile']);
    expect(await q('eventType sw "application.user_membership" and target.id eq "' + app + '"')).toEqual(['application.user_membership.update']);
    expect(await q('eventType sw "application.user_membership" and target.id eq "0oaother"')).toEqual([]);
    expect(await q('eventType eq "group.user_membership.add" or eventType eq "user.account.update_profile"')).toEqual(['user.account.update_profile', 'group.user_membership.add']);
    expect(await q(`(eventType sw "group" or eventType sw "user") and target.id eq "${f.dir.user(PEOPLE.alice).id}"`)).toEqual(['group.user_membership.add']);

    for (const bad of ['published gt "2026-01-01T00:00:00.000Z"', 'nonsense eq "x"', 'eventType eq', 'eventType zz "x"', '(eventType eq "x"']) {
      const r = await get(logs(`filter=${encodeURIComponent(bad)}`));
      expect(r.status, bad).toBe(400);
      expect(r.body, bad).toMatchObject({ errorCode: 'E0000001', errorSummary: 'Api validation failed: filter' });
    }
  });
});

describe('cursors that no longer hold', () => {
  it('expireCursors() makes every cursor handed out so far a 400 E0000001 that says so', async () => {
    const f = await quiet();
    const next = nextLink(await get(logs())) as string;
    f.emu.systemLog.expireCursors();
    const r = await get(next);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ errorCode: 'E0000001', errorSummary: 'Api validation failed: after', errorCauses: [{ errorSummary: 'The cursor is invalid or has expired' }] });
    // A fresh poll works, and so does its cursor.
    expect(nextLink(await get(logs()))).not.toBeNull();
    expect((await get(`${f.base}/api/v1/logs?after=garbage`)).status).toBe(400);
  });

  it('events past the 90-day retention are gone, and a cursor that pointed before them is refused', async () => {
    const f = await quiet();
    let t = Date.now();
    f.dir.now = () => t;
    const cursor = nextLink(await get(logs())) as string;
    f.dir.setAttribute(PEOPLE.alice, 'dockerRole', 'editor');
    t += 91 * 86_400_000;
    f.dir.setAttribute(PEOPLE.dave, 'dockerRole', 'owner');
    expect((await get(cursor)).status).toBe(400);
    expect(f.emu.systemLog.size).toBe(1);
  });

  it('the cursor-expired fault answers once as the expired cursor does', async () => {
    const f = await quiet();
    f.emu.http.faults.add({ route: 'listLogEvents', action: oktaLogCursorExpired() });
    expect((await get(logs())).body).toMatchObject({ errorCode: 'E0000001', errorSummary: 'Api validation failed: after' });
    expect((await get(logs())).status).toBe(200);
  });
});

describe('limits, auth and faults on /api/v1/logs', () => {
  it('has a rate-limit bucket of its own, answered 429 with the real headers when spent', async () => {
    fx = await startFixture({ users: 1, emulator: { rateLimit: { perMinute: 100, buckets: { logs: 2 } } } });
    const app = `${fx.base}/api/v1/apps/${fx.emu.appId}/users`;
    expect((await get(logs())).status).toBe(200);
    expect((await get(logs())).status).toBe(200);
    const limited = await get(logs());
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ errorCode: 'E0000047' });
    expect(limited.headers.get('x-rate-limit-remaining')).toEqual(['0']);
    expect(Number(limited.headers.get('x-rate-limit-reset')?.[0])).toBeGreaterThan(Date.now() / 1000);
    // Other buckets are untouched.
    expect((await get(app)).status).toBe(200);
  });

  it('asks for a token like every route, and fails the page a fault names', async () => {
    const f = await quiet();
    expect((await get(logs(), null)).status).toBe(401);
    for (let i = 0; i < 3; i++) f.dir.setAttribute(PEOPLE.alice, 'dockerRole', `r${i}`);
    f.emu.http.faults.add({ route: 'listLogEvents', page: 2, action: oktaServerError(503) });
    const first = await get(logs('limit=2'));
    expect(events(first)).toHaveLength(2);
    expect((await get(nextLink(first) as string)).status).toBe(503);
  });
});

describe("a user's groups", () => {
  it('lists every group the user is a direct member of, assigned to the app or not; 404 for an unknown user', async () => {
    fx = await startFixture({ users: 1 });
    const r = await get(`${fx.base}/api/v1/users/${fx.dir.user(PEOPLE.dave).id}/groups`);
    expect(r.status).toBe(200);
    expect((r.body as Array<{ profile: { name: string } }>).map((g) => g.profile.name).sort()).toEqual(['acme:backend', 'acme:data']);
    const bob = await get(`${fx.base}/api/v1/users/${fx.dir.user(PEOPLE.bob).id}/groups`);
    expect((bob.body as Array<{ profile: { name: string } }>).map((g) => g.profile.name)).toEqual(['acmelabs:unassigned']);
    const missing = await get(`${fx.base}/api/v1/users/00unobody/groups`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ errorCode: 'E0000007' });
  });
});
