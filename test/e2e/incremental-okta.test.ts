import { afterEach, describe, expect, it } from 'vitest';
import type { Directory } from '../../src/sandbox/directory.ts';
import { oktaLogCursorExpired } from '../../src/sandbox/okta/faults.ts';
import { Scenario } from '../support/harness.ts';
import { incrementalSuite } from './incremental.suite.ts';

incrementalSuite('okta', { route: 'listLogEvents', expired: oktaLogCursorExpired });

/**
 * Okta only: incremental runs when team groups are not assigned to the app but found by a name
 * rule or Group Push (OKTA_TEAM_GROUPS, Docker's Okta guide). The feed follows their membership
 * like an assigned group's, and a new team makes the run read everything.
 */
describe('incremental runs with team groups by rule or push (okta)', () => {
  let s: Scenario;
  afterEach(async () => {
    await s?.stop();
  });

  const RULE = { OKTA_TEAM_GROUPS: 'rule', OKTA_GROUP_RULE: 'startsWith:acme:' };
  const PUSH = { OKTA_TEAM_GROUPS: 'push' };

  /** "Docker Users" gives the app; acme:dev is a team group nobody assigned (pushed long ago, for push mode). */
  function guide(dir: Directory): void {
    const staff = dir.addGroup('Docker Users');
    for (const email of ['ada@example.com', 'grace@example.com', 'alan@example.com']) staff.members.add(dir.addUser({ email, givenName: 'G', familyName: 'F', assigned: false }).id);
    const dev = dir.addGroup('acme:dev', { assigned: false, pushed: 'ACTIVE' });
    dev.pushUpdated = Date.now() - 86_400_000;
    dev.members.add(dir.user('ada@example.com').id);
  }

  async function synced(env: Record<string, string>): Promise<void> {
    s = await Scenario.start({ source: 'okta' });
    guide(s.directory);
    const first = await s.sync({ incremental: true, env });
    expect(first.plan.coverage?.mode).toBe('full');
    expect(s.docker.teamMembers('acme:dev')).toEqual(['ada@example.com']);
  }

  it.each([
    ['rule', RULE],
    ['push', PUSH],
  ])('a user added to a team group found by %s is picked up by an incremental run', { timeout: 60_000 }, async (_mode, env) => {
    await synced(env);
    s.directory.addMember('acme:dev', 'grace@example.com');
    const run = await s.sync({ incremental: true, env });
    expect(run.plan.coverage).toMatchObject({ mode: 'incremental', users: 1 });
    expect(s.docker.teamMembers('acme:dev')).toEqual(['ada@example.com', 'grace@example.com']);
  });

  it('a new group matching the rule makes the run read everything, and its team is filled', { timeout: 60_000 }, async () => {
    await synced(RULE);
    const ops = s.directory.addGroup('acme:ops', { assigned: false });
    s.directory.addMember(ops.id, 'alan@example.com');
    const run = await s.sync({ incremental: true, env: RULE });
    expect(run.plan.coverage).toMatchObject({ mode: 'full', reason: expect.stringMatching(/"acme:ops" was created and matches OKTA_GROUP_RULE/) });
    expect(s.docker.teamMembers('acme:ops')).toEqual(['alan@example.com']);
  });

  it('a group newly pushed makes the run read everything, and its team is filled', { timeout: 60_000 }, async () => {
    await synced(PUSH);
    const ops = s.directory.addGroup('acme:ops', { assigned: false });
    s.directory.addMember(ops.id, 'alan@example.com');
    s.directory.setGroupPush('acme:ops', 'ACTIVE');
    const run = await s.sync({ incremental: true, env: PUSH });
    expect(run.plan.coverage).toMatchObject({ mode: 'full', reason: expect.stringMatching(/Group Push mapping/) });
    expect(s.docker.teamMembers('acme:ops')).toEqual(['alan@example.com']);
  });
});
