import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dockerRateLimited } from '../../src/sandbox/docker/faults.ts';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { Scenario } from '../support/harness.ts';
import { IDP_NAME, failIdpListingPage, pagedWorld } from '../support/idp.ts';
import { EXPECTED, seedPeople } from '../support/people.ts';

/**
 * What an admin sees, end to end: the IdP emulator read through the real SDK (Okta SDK; Azure
 * credential + Graph client over TLS), the Docker SCIM emulator over real HTTP, and a real SQLite
 * state file. One suite, run for each source.
 */
describe.each(WORLD_SOURCES)('sync, end to end (%s)', (source) => {
  let s: Scenario;
  beforeEach(async () => {
    s = await Scenario.start({ source });
    seedPeople(s.directory);
  });
  afterEach(async () => {
    await s.stop();
  });

  const docker = () => s.docker;
  const putsTo = (userName: string, since = 0) => {
    const id = docker().user(userName)?.id;
    return docker().http.writes().slice(since).filter((r) => r.method === 'PUT' && r.path.endsWith(`/Users/${id}`));
  };

  it('the first sync creates everyone with the right role, org and teams', async () => {
    const run = await s.sync();
    expect(run.outcome.exitCode).toBe(0);
    expect(run.outcome.result.status).toBe('succeeded');
    for (const [userName, want] of Object.entries(EXPECTED.users)) {
      expect(docker().user(userName), userName).toMatchObject({ userName, ...want });
    }
    for (const [team, members] of Object.entries(EXPECTED.teams)) expect(docker().teamMembers(team), team).toEqual(members);
    expect(s.state((st) => st.links()).length).toBe(6);
    expect(run.plan.operations.filter((o) => o.kind === 'create')).toHaveLength(6);
    // What the run cost, by phase: what `npm run bench` reads from the "run cost" log line.
    const cost = run.outcome.cost;
    expect(cost && cost.wallMs.read > 0 && cost.wallMs.apply > 0 && cost.cpuMs.read + cost.cpuMs.plan + cost.cpuMs.apply > 0).toBe(true);
    expect(cost?.processCpuMs).toBeGreaterThanOrEqual((cost?.cpuMs.read ?? 0) + (cost?.cpuMs.plan ?? 0) + (cost?.cpuMs.apply ?? 0));
    expect(cost?.maxRssMb).toBeGreaterThan(0);
  });

  it('a second run plans nothing and sends zero write requests', async () => {
    await s.sync();
    const second = await s.sync();
    expect(second.plan.operations).toEqual([]);
    expect(second.writes).toBe(0);
    expect(second.report()).toContain('Operations: none — Docker already matches the IdP.');
  });

  it('a name change sends exactly one PUT, carrying active and the extension', async () => {
    await s.sync();
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    const since = docker().http.writes().length;
    const run = await s.sync();
    expect(run.plan.operations.map((o) => o.kind)).toEqual(['update']);
    expect(run.plan.operations[0]?.reason).toBe(`changed in ${IDP_NAME[source]}: familyName`);
    const puts = docker().http.writes().slice(since);
    expect(puts.map((r) => r.method)).toEqual(['PUT']);
    const body = puts[0]?.body as Record<string, unknown>;
    expect(body.active).toBe(true);
    expect(body['urn:ietf:params:scim:schemas:extension:docker:2.0:User']).toMatchObject({ dockerRole: 'owner', dockerOrg: 'acme' });
    expect(docker().user('ada@example.com')?.familyName).toBe('King');
  });

  it('unassigning a user deactivates them with active:false, never DELETE', async () => {
    await s.sync();
    s.directory.updateUser('alan@example.com', { assigned: false });
    const since = docker().http.writes().length;
    const run = await s.sync();
    expect(run.plan.operations.map((o) => `${o.kind} ${'userName' in o ? o.userName : ''}`)).toEqual(['deactivate alan@example.com']);
    const puts = putsTo('alan@example.com', since);
    expect(puts).toHaveLength(1);
    expect((puts[0]?.body as { active: unknown }).active).toBe(false);
    expect(docker().http.count({ method: 'DELETE' })).toBe(0);
    expect(docker().user('alan@example.com')?.active).toBe(false);
  });

  it('reassigning a deactivated user reactivates them into their teams', async () => {
    await s.sync();
    s.directory.updateUser('barbara@example.com', { assigned: false });
    s.directory.group('acme:platform').members.delete(s.directory.user('barbara@example.com').id);
    await s.sync();
    expect(docker().user('barbara@example.com')?.active).toBe(false);
    expect(docker().teamMembers('acme:everyone')).not.toContain('barbara@example.com');
    s.directory.updateUser('barbara@example.com', { assigned: true });
    s.directory.addMember('acme:platform', 'barbara@example.com');
    const run = await s.sync();
    expect(run.plan.operations.map((o) => o.kind)).toEqual(['reactivate', 'team-add', 'team-add']);
    expect(docker().user('barbara@example.com')?.active).toBe(true);
    expect(docker().teamMembers('acme:everyone')).toContain('barbara@example.com');
    expect(docker().teamMembers('acme:platform')).toContain('barbara@example.com');
    expect((await s.sync()).writes).toBe(0);
  });

  it('a disabled IdP account is deactivated, and reactivated when enabled again', async () => {
    await s.sync();
    s.directory.updateUser('grace@example.com', { enabled: false });
    expect((await s.sync()).plan.operations.map((o) => o.kind)).toEqual(['deactivate']);
    expect(docker().user('grace@example.com')?.active).toBe(false);
    s.directory.updateUser('grace@example.com', { enabled: true });
    expect((await s.sync()).plan.operations[0]?.kind).toBe('reactivate');
    expect(docker().user('grace@example.com')?.active).toBe(true);
  });

  it('org:team group changes add and remove members', async () => {
    await s.sync();
    s.directory.removeMember('acme:platform', 'grace@example.com');
    s.directory.addMember('acme:platform', 'ada@example.com');
    s.directory.addGroup('acmelabs:gpu').members.add(s.directory.user('edsger@example.com').id);
    const run = await s.sync();
    expect(run.plan.operations.map((o) => `${o.kind} ${'group' in o ? o.group : ''}`)).toEqual([
      'group-create acmelabs:gpu',
      'team-add acme:platform',
      'team-add acmelabs:gpu',
      'team-remove acme:platform',
    ]);
    expect(docker().teamMembers('acme:platform')).toEqual(['ada@example.com', 'barbara@example.com']);
    expect(docker().teamMembers('acmelabs:gpu')).toEqual(['edsger@example.com']);
    expect((await s.sync()).writes).toBe(0);
  });

  it('an unmanaged Docker account is reported and never touched', async () => {
    const jit = docker().seedUser({ userName: 'jit.user@example.com', givenName: 'Jit', familyName: 'User', team: 'everyone' });
    const run = await s.sync();
    const finding = run.plan.findings.find((f) => f.code === 'UNMANAGED_ACCOUNT');
    expect(finding).toMatchObject({ subject: 'jit.user@example.com', dockerId: jit.id });
    expect(docker().http.requests.filter((r) => r.method !== 'GET' && (r.path.includes(jit.id) || JSON.stringify(r.body ?? '').includes(jit.id)))).toEqual([]);
    expect(docker().user(jit.id)).toMatchObject({ active: true, givenName: 'Jit' });
    expect(docker().teamMembers('acme:everyone')).toContain('jit.user@example.com');
    expect(run.report('markdown')).toContain('UNMANAGED_ACCOUNT');
  });

  it('an existing account with an assigned userName is adopted as its own listed operation', async () => {
    docker().seedUser({ userName: 'ADA@example.com', givenName: 'Ada', familyName: 'Byron', role: 'member' });
    const run = await s.sync();
    const adopt = run.plan.operations.find((o) => o.kind === 'adopt');
    expect(adopt && 'changes' in adopt && adopt.changes.map((c) => `${c.field}:${String(c.before)}→${String(c.after)}`)).toEqual(['familyName:Byron→Lovelace', 'role:member→owner']);
    expect(run.report()).toMatch(/adopt\s+ada@example.com/);
    expect(docker().user('ada@example.com')).toMatchObject({ familyName: 'Lovelace', role: 'owner' });
    expect(s.state((st) => st.links().find((l) => l.userName.toLowerCase() === 'ada@example.com')?.origin)).toBe('adopted');
  });

  it('with ADOPT_EXISTING=false an existing account is listed as adoptable and left alone', async () => {
    const existing = docker().seedUser({ userName: 'ada@example.com', givenName: 'Ada', familyName: 'Byron' });
    const run = await s.sync({ env: { ADOPT_EXISTING: 'false' } });
    expect(run.plan.operations.some((o) => 'userName' in o && o.userName === 'ada@example.com')).toBe(false);
    expect(run.plan.findings.find((f) => f.code === 'ADOPTABLE_ACCOUNT')).toMatchObject({ dockerId: existing.id });
    expect(docker().user(existing.id)?.familyName).toBe('Byron');
    expect(docker().http.writes().filter((r) => r.path.includes(existing.id))).toEqual([]);
  });

  it('an adoption that fails leaves the account alone: no team changes for an unmanaged account', async () => {
    const handMade = docker().seedUser({ userName: 'ada@example.com', givenName: 'Ada', familyName: 'Byron', team: 'secret' });
    docker().http.faults.add({ route: 'replaceUser', times: 1, action: { type: 'status', status: 400, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'refused' } } });
    const run = await s.sync();
    expect(run.outcome.result.results.find((r) => r.kind === 'adopt')?.status).toBe('failed');
    const touching = docker().http.writes().filter((r) => r.method === 'PATCH' && JSON.stringify(r.body).includes(handMade.id));
    expect(touching).toEqual([]);
    expect(docker().teamMembers('acme:secret')).toEqual(['ada@example.com']);
    expect(s.state((st) => st.links().some((l) => l.dockerId === handMade.id))).toBe(false);
  });

  it("an adopted account's existing team is managed: it is left when the IdP moves the user", async () => {
    s.directory.setAttribute('ada@example.com', 'dockerTeam', 'backend');
    docker().seedUser({ userName: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', role: 'owner', org: 'acme', team: 'backend' });
    await s.sync();
    expect(docker().teamMembers('acme:backend')).toContain('ada@example.com');
    s.directory.setAttribute('ada@example.com', 'dockerTeam', 'frontend');
    s.directory.setAttribute('grace@example.com', 'dockerTeam', 'frontend');
    const run = await s.sync();
    expect(run.plan.operations.map((o) => `${o.kind} ${'group' in o ? o.group : o.userName}`)).toContain('team-remove acme:backend');
    expect(docker().teamMembers('acme:backend')).toEqual([]);
    expect(docker().teamMembers('acme:frontend')).toEqual(['ada@example.com', 'grace@example.com']);
    expect((await s.sync()).writes).toBe(0);
  });

  it('a leaver whose IdP record turned invalid is still deactivated', async () => {
    await s.sync();
    s.directory.updateUser('alan@example.com', { enabled: false });
    s.directory.setAttribute('alan@example.com', 'dockerRole', 'admin');
    const run = await s.sync();
    expect(run.plan.operations.map((o) => `${o.kind} ${'userName' in o ? o.userName : ''}`)).toEqual(['deactivate alan@example.com']);
    expect(docker().user('alan@example.com')?.active).toBe(false);
  });

  it('an account that appears after the plan was made is not taken over silently', async () => {
    // The account shows up between Docker's listing and the create, as if made by hand or by JIT.
    docker().http.onRequest = (rec) => {
      if (rec.route === 'listUsers' && !docker().user('barbara@example.com')) docker().seedUser({ userName: 'barbara@example.com', givenName: 'Barb', familyName: 'Hand' });
    };
    const run = await s.sync();
    docker().http.onRequest = null;
    const failed = run.outcome.result.results.find((r) => r.subject === 'barbara@example.com');
    expect(failed).toMatchObject({ kind: 'create', status: 'failed', error: { status: 409 } });
    expect(failed?.error?.message).toContain('appeared after the plan was made; it was not touched');
    expect(docker().user('barbara@example.com')?.familyName).toBe('Hand');
    const next = await s.sync({ dryRun: true });
    expect(next.plan.operations.find((o) => 'userName' in o && o.userName === 'barbara@example.com')?.kind).toBe('adopt');
  });

  it('a bad record becomes a finding while the others sync', async () => {
    s.directory.addUser({ email: 'not-an-email', givenName: 'Bad', familyName: 'Email' });
    s.directory.addUser({ email: 'typo@example.com', givenName: 'Role', familyName: 'Typo', attributes: { dockerRole: 'admin' } });
    s.directory.addUser({ email: 'quote"d@example.com', givenName: 'Quote', familyName: 'D' });
    s.directory.addGroup('acme:bad:name').members.add(s.directory.user('ada@example.com').id);
    const run = await s.sync();
    // Everything else applied; exit 4 (FAIL_ON=error) so a scheduler notices the held users.
    expect(run.outcome.exitCode).toBe(4);
    expect(run.outcome.result.status).toBe('succeeded');
    expect(run.plan.findings.map((f) => f.code).sort()).toEqual(['INVALID_EMAIL', 'INVALID_EMAIL', 'MALFORMED_GROUP', 'UNKNOWN_ROLE']);
    expect(docker().allUsers().map((u) => u.userName).sort()).toEqual(Object.keys(EXPECTED.users).sort());
    expect(docker().http.requests.some((r) => r.query.includes('quote'))).toBe(false);
  });

  it('an error on page 3 of the IdP read aborts the run before planning: no write, no deactivation', async () => {
    await s.stop();
    s = await Scenario.start(pagedWorld(source));
    seedPeople(s.directory);
    for (let i = 0; i < 1100; i++) s.directory.addUser({ email: `user${i}@example.com`, givenName: 'U', familyName: String(i) });
    await s.sync();
    const managed = s.state((st) => st.linkCount());
    expect(managed).toBe(1106);
    const before = s.stateHash();
    const writes = docker().http.writes().length;
    const { route } = failIdpListingPage(s.world, 3);
    // The guards are opened wide so only the abort protects: a reader that took pages 1-2 for the
    // whole list would deactivate the 106 users on page 3 here. One retry keeps the test quick.
    const cli = await s.cli(['sync'], { env: { IDP_MAX_RETRIES: '1', MAX_DEACTIVATIONS: '100000', MAX_DEACTIVATION_PERCENT: '100' } });
    expect(cli.code).toBe(1);
    expect(s.world.idp.count({ route, status: 503 })).toBeGreaterThanOrEqual(2);
    expect(cli.stderr).toContain(source);
    expect(cli.stderr).toMatch(/page 3/);
    expect(docker().http.writes().length).toBe(writes);
    expect(docker().allUsers().filter((u) => !u.active)).toEqual([]);
    expect(s.state((st) => st.recentRuns(1)[0]?.status)).toBe('failed');
    expect(s.state((st) => st.linkCount())).toBe(managed);
    expect(before).not.toBeNull();
  });

  it('an operation that fails (no seats) is reported with Docker\'s message; the independent ones are applied', async () => {
    await s.stop();
    s = await Scenario.start({ source, docker: { orgs: [{ name: 'acme' }, { name: 'acmelabs', seatLimit: 1 }] } });
    seedPeople(s.directory);
    const run = await s.sync();
    expect(run.outcome.result.status).toBe('partial');
    expect(run.outcome.exitCode).toBe(1);
    const failed = run.outcome.result.results.filter((r) => r.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.error).toMatchObject({ code: 'DOCKER_SEATS' });
    expect(failed[0]?.error?.message).toContain("Not enough seats in organization 'acmelabs'");
    expect(run.report()).toContain('FAILED: ');
    // Everyone else landed, and the acmelabs user who did get the seat too.
    expect(docker().allUsers()).toHaveLength(5);
    // The next run plans only what failed: that user's create (and their team, if they have one).
    const again = await s.sync({ dryRun: true });
    const loser = failed[0]?.subject;
    expect(again.plan.operations[0]).toMatchObject({ kind: 'create', userName: loser });
    for (const op of again.plan.operations.slice(1)) expect(op.kind === 'team-add' && op.members.map((m) => m.userName)).toEqual([loser]);
  });

  it('a 429 with Retry-After from Docker is waited out and the run succeeds', async () => {
    docker().http.faults.add({ route: 'createUser', times: 1, action: dockerRateLimited({ style: 'Retry-After', seconds: 1 }) });
    const t0 = Date.now();
    const run = await s.sync();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(run.outcome.result.status).toBe('succeeded');
    expect(docker().http.count({ route: 'createUser', status: 429 })).toBe(1);
    expect(docker().http.count({ route: 'createUser', status: 201 })).toBe(6);
    expect(run.logs.some((l) => l.includes('429'))).toBe(true);
  });
});

describe('sync, end to end: what only Entra ID has', () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await Scenario.start({ source: 'entra' });
    seedPeople(s.directory);
  });
  afterEach(async () => {
    await s.stop();
  });

  it('a guest without a usable email is a finding; a nested group is not assigned; a group assignment carries its app role', async () => {
    s.directory.addUser({ email: null, givenName: 'Guest', familyName: 'User', entra: { userPrincipalName: 'guest_partner.com#EXT#@contoso.onmicrosoft.com', mail: null } });
    const parent = s.directory.addGroup('Docker Editors', { appRole: 'editor' });
    const lead = s.directory.addUser({ email: 'lead@example.com', givenName: 'Team', familyName: 'Lead', assigned: false });
    parent.members.add(lead.id);
    const nested = s.directory.addGroup('Contractors', { assigned: false });
    const contractor = s.directory.addUser({ email: 'contractor@example.com', givenName: 'Con', familyName: 'Tractor', assigned: false });
    nested.members.add(contractor.id);
    s.directory.nestGroup('Docker Editors', 'Contractors');

    const run = await s.sync();
    const guest = run.plan.findings.find((f) => f.code === 'MISSING_EMAIL');
    expect(guest?.message).toMatch(/#EXT#|guest/i);
    expect(s.docker.user('lead@example.com')).toMatchObject({ role: 'editor', active: true });
    expect(s.docker.user('contractor@example.com')).toBeUndefined();
    // The guest is held: exit 4 under the default FAIL_ON=error.
    expect(run.outcome.exitCode).toBe(4);

    const transitive = await s.sync({ env: { ENTRA_GROUP_MEMBERSHIP: 'transitive' } });
    expect(transitive.plan.operations.find((o) => o.kind === 'create')).toMatchObject({ userName: 'contractor@example.com', target: { role: 'editor' } });
  });
});
