import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { Scenario } from '../support/harness.ts';
import { EXPECTED, seedPeople } from '../support/people.ts';

/**
 * Docker as its public API reference documents it (only /Users; PATCH "not supported"), and the
 * org's last owner: what the admin's connection offers decides what is synced, and nothing locks
 * an org out.
 */
describe.each(WORLD_SOURCES)('Docker’s documented surface and its owners (%s)', (source) => {
  let s: Scenario;
  afterEach(async () => {
    await s.stop();
  });

  const start = async (docker: Parameters<typeof Scenario.start>[0] extends infer O ? (O extends { docker?: infer D } ? D : never) : never = {}) => {
    s = await Scenario.start({ source, docker });
    seedPeople(s.directory);
  };
  const groupRequests = () => s.docker.http.requests.filter((r) => r.path.includes('/Groups'));

  it('a connection without /Groups still syncs every user, says once that teams are skipped, and then plans nothing', async () => {
    await start({ groups: false });
    const run = await s.sync();
    expect(run.outcome.result.status).toBe('succeeded');
    for (const [userName, want] of Object.entries(EXPECTED.users)) {
      expect(s.docker.user(userName), userName).toMatchObject({ active: want.active, role: want.role, org: want.org, team: want.team });
    }
    expect(run.plan.operations.filter((o) => o.kind.startsWith('team-') || o.kind === 'group-create')).toEqual([]);
    expect(run.plan.findings.filter((f) => f.code === 'TEAM_SYNC_UNAVAILABLE')).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/no \/Groups endpoint/) }),
    ]);
    // The discovery's one-item probe, answered 404, is the only request to /Groups.
    expect(groupRequests().map((r) => `${r.method} ${r.status}`)).toEqual(['GET 404']);
    const again = await s.sync();
    expect(again.plan.operations).toEqual([]);
    expect(again.writes).toBe(0);
  });

  it('DOCKER_TEAM_SYNC=off reads and changes no team at all on a connection that has them', async () => {
    await start();
    const run = await s.sync({ env: { DOCKER_TEAM_SYNC: 'off' } });
    expect(run.outcome.result.status).toBe('succeeded');
    expect(groupRequests().filter((r) => r.route !== 'listGroups' || new URLSearchParams(r.query).get('count') !== '1')).toEqual([]);
    expect(run.plan.findings.map((f) => f.code)).toContain('TEAM_SYNC_UNAVAILABLE');
  });

  it('a connection that refuses PATCH on /Groups: one refusal stops team changes for the run, never a PUT instead', async () => {
    await start({ groupPatch: 405 });
    s.directory.addGroup('acme:data').members.add(s.directory.user('ada@example.com').id);
    const run = await s.sync();
    const teamResults = run.outcome.result.results.filter((r) => r.kind === 'team-add' || r.kind === 'team-remove');
    expect(teamResults.length).toBeGreaterThan(1);
    expect(teamResults.every((r) => r.status === 'skipped' && /refused PATCH \/Groups \(405\)/.test(r.note ?? ''))).toBe(true);
    // Team changes run side by side: those already sent are refused too, and nothing is sent after.
    const patches = s.docker.http.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/Groups')).length;
    expect(patches).toBeGreaterThanOrEqual(1);
    expect(patches).toBeLessThanOrEqual(teamResults.length);
    expect(s.docker.http.requests.filter((r) => r.method === 'PUT' && r.path.includes('/Groups'))).toEqual([]);
    // Said once for the run, not only on each skipped row.
    expect(run.outcome.result.findings).toEqual([expect.objectContaining({ code: 'TEAM_SYNC_UNAVAILABLE', message: expect.stringContaining(`${teamResults.length} team changes were skipped`) })]);
    // The users are all there.
    for (const userName of Object.keys(EXPECTED.users)) expect(s.docker.user(userName)?.active, userName).toBe(true);
  });

  it('the only owner of an org stays when the IdP unassigns them, with an error that says why; --force-last-owner lets them go', async () => {
    await start();
    await s.sync();
    s.directory.updateUser('ada@example.com', { assigned: false });
    s.directory.updateUser('barbara@example.com', { familyName: 'Liskov-Smith' });
    const held = await s.cli(['sync']);
    expect(held.code).toBe(4);
    expect(held.stdout).toMatch(/deactivate\s+ada@example.com.*blocked \(last-owner\)/);
    expect(held.stdout).toContain('LAST_OWNER');
    expect(s.docker.user('ada@example.com')?.active).toBe(true);
    expect(s.docker.user('barbara@example.com')?.familyName).toBe('Liskov-Smith');

    const forced = await s.cli(['sync', '--force-last-owner']);
    expect(forced.code).toBe(0);
    expect(s.docker.user('ada@example.com')?.active).toBe(false);
  });

  it('a reviewed plan that removes the last owner needs --force-last-owner on both plan and apply', async () => {
    await start();
    await s.sync();
    s.directory.updateUser('ada@example.com', { assigned: false });
    const file = join(s.dir, 'plan.json');
    const held = await s.cli(['plan', '--out', file]);
    expect(held.stdout).toMatch(/deactivate\s+ada@example.com.*blocked \(last-owner\)/);
    // A plan that held the owner, applied with the flag: planned now, the deactivation is no longer held, so it is stale.
    expect((await s.cli(['apply', file, '--force-last-owner'])).code).toBe(5);
    expect((await s.cli(['plan', '--out', file, '--force-last-owner'])).stdout).not.toContain('blocked (last-owner)');
    // Without the flag at apply time, the owner would be held now: stale again, nothing applied.
    expect((await s.cli(['apply', file])).code).toBe(5);
    expect(s.docker.user('ada@example.com')?.active).toBe(true);
    expect((await s.cli(['apply', file, '--force-last-owner'])).code).toBe(0);
    expect(s.docker.user('ada@example.com')?.active).toBe(false);
  });

  it('with another owner in the org, the last-but-one goes as any leaver does', async () => {
    await start();
    s.directory.updateUser('barbara@example.com', { attributes: { dockerRole: 'owner' } });
    await s.sync();
    s.directory.updateUser('ada@example.com', { assigned: false });
    const run = await s.sync();
    expect(run.plan.findings.map((f) => f.code)).not.toContain('LAST_OWNER');
    expect(s.docker.user('ada@example.com')?.active).toBe(false);
  });
});
