import { afterEach, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import type { IdpSnapshot } from '../../src/model/idp.ts';
import { Directory } from '../../src/sandbox/directory.ts';
import { oktaServerError } from '../../src/sandbox/okta/faults.ts';
import { groupJson } from '../../src/sandbox/okta/wire.ts';
import type { OktaSourceOptions } from '../../src/sources/okta/index.ts';
import { Scenario } from '../support/harness.ts';
import { errorText } from '../support/logs.ts';
import { rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * Where team groups come from (OKTA_TEAM_GROUPS), through the real SDK and the emulator: groups
 * assigned to the app, groups whose name matches a rule (Okta's group search, paged), and the
 * app's Group Push mappings. Groups decide teams; only the app assignment decides who exists.
 */

let fx: Fixture | null = null;
let scenario: Scenario | null = null;
afterEach(async () => {
  await fx?.stop();
  await scenario?.stop();
  fx = null;
  scenario = null;
});

const RULE_ACME: Partial<OktaSourceOptions> = { teamGroups: ['rule'], groupRule: { op: 'startsWith', value: 'acme:' } };
const PUSH: Partial<OktaSourceOptions> = { teamGroups: ['push'] };

/**
 * Docker's Okta guide: "Docker Users" is assigned to the app and gives it to people; the team
 * groups are not assigned. ada and grace are app users; mallory is in acme:dev only.
 */
function guideDirectory(): Directory {
  const dir = new Directory();
  const staff = dir.addGroup('Docker Users');
  for (const email of ['ada@example.com', 'grace@example.com', 'alan@example.com']) staff.members.add(dir.addUser({ email, assigned: false }).id);
  dir.addUser({ email: 'mallory@example.com', assigned: false });
  const dev = dir.addGroup('acme:dev', { assigned: false });
  const ops = dir.addGroup('acme:ops', { assigned: false });
  dir.addGroup('acmelabs:x', { assigned: false });
  for (const email of ['ada@example.com', 'grace@example.com', 'mallory@example.com']) dev.members.add(dir.user(email).id);
  ops.members.add(dir.user('alan@example.com').id);
  return dir;
}

function teamsOf(snap: IdpSnapshot): Record<string, readonly string[]> {
  return Object.fromEntries(snap.users.filter((u) => u.groups.length > 0).map((u) => [u.userName as string, u.groups]));
}

function viaOf(snap: IdpSnapshot): Record<string, readonly string[] | undefined> {
  return Object.fromEntries(snap.groups.map((g) => [g.name, g.via]));
}

function queries(f: Fixture, route: string): URLSearchParams[] {
  return f.emu.http.requests.filter((r) => r.route === route).map((r) => new URLSearchParams(r.query));
}

describe('team groups by name rule (Okta group search)', () => {
  it('finds the groups the guide leaves unassigned, and notes once, with a count, the member who is not an app user', async () => {
    fx = await startFixture({ dir: guideDirectory() });
    const snap = await fx.source(RULE_ACME).read();
    expect(teamsOf(snap)).toEqual({ 'ada@example.com': ['acme:dev'], 'grace@example.com': ['acme:dev'], 'alan@example.com': ['acme:ops'] });
    expect(viaOf(snap)).toEqual({ 'acme:dev': ['rule'], 'acme:ops': ['rule'] });
    // Groups never make anyone assigned: mallory is not a user.
    expect(snap.users.map((u) => u.userName)).not.toContain('mallory@example.com');
    expect(snap.notes).toEqual([
      {
        code: 'GROUP_MEMBERS_NOT_ASSIGNED',
        subject: 'acme:dev',
        message: '1 of 3 members of Okta group acme:dev is not assigned to the Docker app, so they are not provisioned (the app assignment decides who exists; groups decide teams)',
      },
    ]);
    // The app's assigned groups are not read in rule mode: "Docker Users" is no team source.
    expect(fx.emu.http.count({ route: 'listAppGroups' })).toBe(0);
  });

  it('follows the search onto its second page past 200 groups, with search= and never q= (which stops at 300 and cannot page)', async () => {
    const dir = guideDirectory();
    // Names without a colon are not org:team: found by the rule, never read for members.
    for (let i = 0; i < 204; i++) dir.addGroup(`acme-g${i}`, { assigned: false });
    // Created last, so its id sorts last: on the second page.
    const late = dir.addGroup('acme:late', { assigned: false });
    late.members.add(dir.user('ada@example.com').id);
    fx = await startFixture({ dir });
    const snap = await fx.source({ teamGroups: ['rule'], groupRule: { op: 'startsWith', value: 'acme' } }).read();

    const searches = queries(fx, 'listGroups');
    expect(searches).toHaveLength(2);
    for (const q of searches) {
      expect(q.get('search')).toBe('profile.name sw "acme"');
      expect(q.get('limit')).toBe('200');
      expect(q.has('q')).toBe(false);
    }
    // The 204, acme:dev, acme:ops, acmelabs:x and acme:late; the last four are org:team and read.
    expect(snap.groups).toHaveLength(204 + 4);
    expect(teamsOf(snap)['ada@example.com']).toEqual(['acme:dev', 'acme:late']);
    expect(fx.emu.http.count({ route: 'listGroupUsers' })).toBe(4);
  });

  it('contains:":" matches acme:dev and acmelabs:x, not "Docker Users", through Okta\'s co operator', async () => {
    fx = await startFixture({ dir: guideDirectory() });
    const snap = await fx.source({ teamGroups: ['rule'], groupRule: { op: 'contains', value: ':' } }).read();
    expect(queries(fx, 'listGroups').map((q) => q.get('search'))).toEqual(['profile.name co ":"']);
    expect(snap.groups.map((g) => g.name).sort()).toEqual(['acme:dev', 'acme:ops', 'acmelabs:x']);
  });

  it('applies the rule itself to what the search answers: a group it does not match never becomes a team', async () => {
    const dir = guideDirectory();
    fx = await startFixture({ dir });
    // A search that answers more than it was asked (an index catching up, a proxy).
    const staff = dir.group('Docker Users');
    fx.emu.http.faults.add({
      route: 'listGroups',
      action: { type: 'status', status: 200, body: [groupJson(fx.base, staff), groupJson(fx.base, dir.group('acme:dev'))], headers: { 'content-type': 'application/json' } },
    });
    const snap = await fx.source(RULE_ACME).read();
    expect(snap.groups.map((g) => g.name)).toEqual(['acme:dev']);
  });

  it('a 500 on the second page of the search, after retries, fails the read: no team is emptied on a partial list', async () => {
    const dir = guideDirectory();
    for (let i = 0; i < 205; i++) dir.addGroup(`acme-g${i}`, { assigned: false });
    fx = await startFixture({ dir });
    fx.emu.http.faults.add({ route: 'listGroups', page: 2, times: Infinity, action: oktaServerError(500) });
    const err = await rejectionOf(fx.source({ teamGroups: ['rule'], groupRule: { op: 'startsWith', value: 'acme' } }).read());
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err).toMatchObject({ status: 500, operation: expect.stringMatching(/^GET \/api\/v1\/groups\?search=.* \(page 2\)$/) });
    // The first page and three tries at the second (maxRetries 2).
    expect(fx.emu.http.count({ route: 'listGroups' })).toBe(4);
  });
});

describe('team groups by Group Push mappings', () => {
  function pushedDirectory(): Directory {
    const dir = guideDirectory();
    dir.setGroupPush('acme:dev', 'ACTIVE');
    dir.setGroupPush('acme:ops', 'ERROR');
    const off = dir.addGroup('acme:off', { assigned: false, pushed: 'INACTIVE' });
    off.members.add(dir.user('grace@example.com').id);
    return dir;
  }

  it('ACTIVE and ERROR mappings are teams, INACTIVE is not; one counted note for the member who is not an app user', async () => {
    fx = await startFixture({ dir: pushedDirectory() });
    const snap = await fx.source(PUSH).read();
    expect(teamsOf(snap)).toEqual({ 'ada@example.com': ['acme:dev'], 'grace@example.com': ['acme:dev'], 'alan@example.com': ['acme:ops'] });
    expect(viaOf(snap)).toEqual({ 'acme:dev': ['push'], 'acme:ops': ['push'] });
    expect(snap.notes.map((n) => [n.code, n.subject])).toEqual([['GROUP_MEMBERS_NOT_ASSIGNED', 'acme:dev']]);
    // One listing of the mappings, then each pushed group by id.
    expect(queries(fx, 'listGroupPushMappings').map((q) => q.get('limit'))).toEqual(['100']);
    expect(fx.emu.http.count({ route: 'getGroup' })).toBe(2);
  });

  it('three members of a pushed group who are not app users make exactly one note, with the count', async () => {
    const dir = pushedDirectory();
    for (const email of ['x1@example.com', 'x2@example.com']) dir.group('acme:ops').members.add(dir.addUser({ email, assigned: false }).id);
    dir.group('acme:ops').members.add(dir.user('mallory@example.com').id);
    fx = await startFixture({ dir });
    const snap = await fx.source(PUSH).read();
    const ops = snap.notes.filter((n) => n.subject === 'acme:ops');
    expect(ops).toEqual([expect.objectContaining({ code: 'GROUP_MEMBERS_NOT_ASSIGNED', message: expect.stringMatching(/^3 of 4 members of Okta group acme:ops are not assigned to the Docker app/) })]);
    expect(snap.notes.filter((n) => n.code === 'GROUP_MEMBER_NOT_ASSIGNED')).toEqual([]);
  });

  it('a group both assigned and pushed is read once, and says both', async () => {
    const dir = pushedDirectory();
    dir.setGroupAssigned('acme:dev', true);
    fx = await startFixture({ dir });
    const snap = await fx.source({ teamGroups: ['assigned', 'push'] }).read();
    expect(snap.groups.filter((g) => g.name === 'acme:dev')).toEqual([expect.objectContaining({ via: ['assigned', 'push'], memberCount: 3 })]);
    const devId = dir.group('acme:dev').id;
    expect(fx.emu.http.requests.filter((r) => r.route === 'listGroupUsers' && r.path === `/api/v1/groups/${devId}/users`)).toHaveLength(1);
    // Assigned: the group gives the app, so mallory now has it; nobody is left over to note.
    expect(teamsOf(snap)['mallory@example.com']).toEqual(['acme:dev']);
  });

  it.each([
    ['absent', 404],
    ['forbidden', 403],
  ] as const)('a mappings API that answers %s (%i) fails the read with the way out, never an empty list', async (pushApi, status) => {
    fx = await startFixture({ dir: pushedDirectory(), emulator: { pushApi } });
    const err = await rejectionOf(fx.source(PUSH).read());
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err).toMatchObject({ status, operation: expect.stringContaining('/group-push/mappings') });
    const text = errorText(err);
    expect(text).toContain('OKTA_TEAM_GROUPS=rule');
    expect(text).toContain('okta.apps.read');
    expect(text).not.toContain(fx.emu.apiToken);
    expect(fx.emu.http.count({ route: 'getGroup' })).toBe(0);
  });

  it('a run whose mappings API is gone aborts before planning: 0 writes to Docker, the pushed teams keep their members', { timeout: 60_000 }, async () => {
    scenario = await Scenario.start({ source: 'okta' });
    const dir = scenario.directory;
    const staff = dir.addGroup('Docker Users');
    for (const email of ['ada@example.com', 'alan@example.com']) staff.members.add(dir.addUser({ email, givenName: 'A', familyName: 'B', assigned: false }).id);
    const dev = dir.addGroup('acme:dev', { assigned: false, pushed: 'ACTIVE' });
    for (const email of ['ada@example.com', 'alan@example.com']) dev.members.add(dir.user(email).id);
    await scenario.sync({ env: { OKTA_TEAM_GROUPS: 'push' } });
    expect(scenario.docker.teamMembers('acme:dev')).toEqual(['ada@example.com', 'alan@example.com']);

    (scenario.world.okta as NonNullable<typeof scenario.world.okta>).pushApi = 'absent';
    const writes = scenario.docker.http.writes().length;
    await expect(scenario.sync({ env: { OKTA_TEAM_GROUPS: 'push' } })).rejects.toThrow(/group-push\/mappings/);
    expect(scenario.docker.http.writes().length).toBe(writes);
    expect(scenario.docker.teamMembers('acme:dev')).toEqual(['ada@example.com', 'alan@example.com']);
  });
});
