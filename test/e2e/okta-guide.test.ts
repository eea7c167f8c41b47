import { afterEach, describe, expect, it } from 'vitest';
import type { Directory } from '../../src/sandbox/directory.ts';
import { Scenario } from '../support/harness.ts';

/**
 * Issue 16's "done" test: an Okta tenant set up exactly as Docker's Okta guide says gets its teams.
 * "Docker Users" is assigned to the app and gives it to people; the org:team groups are picked by
 * a Push Groups rule ("starts with acme:") or pushed, and are NOT assigned to the app (Okta: a group
 * used for Group Push should not also assign the app). Before issue 16 such a tenant got no teams.
 */

function setUpAsTheGuideSays(dir: Directory): void {
  const staff = dir.addGroup('Docker Users');
  for (const [email, givenName] of [['ada@example.com', 'Ada'], ['grace@example.com', 'Grace'], ['alan@example.com', 'Alan']] as const) {
    staff.members.add(dir.addUser({ email, givenName, familyName: 'Example', assigned: false }).id);
  }
  // In a team group, but nobody gave her the app.
  dir.addUser({ email: 'mallory@example.com', givenName: 'Mallory', familyName: 'Example', assigned: false });
  const dev = dir.addGroup('acme:dev', { assigned: false });
  const ops = dir.addGroup('acme:ops', { assigned: false });
  for (const email of ['ada@example.com', 'grace@example.com', 'mallory@example.com']) dev.members.add(dir.user(email).id);
  ops.members.add(dir.user('alan@example.com').id);
}

const RULE = { OKTA_TEAM_GROUPS: 'rule', OKTA_GROUP_RULE: 'startsWith:acme:' };
const PUSH = { OKTA_TEAM_GROUPS: 'push' };

describe("an Okta tenant set up as Docker's Okta guide says", () => {
  let s: Scenario;
  afterEach(async () => {
    await s?.stop();
  });

  it.each([
    ['a Push Groups rule (OKTA_TEAM_GROUPS=rule)', RULE, (_d: Directory) => {}],
    ['Group Push mappings (OKTA_TEAM_GROUPS=push)', PUSH, (d: Directory) => ['acme:dev', 'acme:ops'].forEach((g) => d.setGroupPush(g, 'ACTIVE'))],
  ])('gets its teams, found by %s; the member without the app is one counted note; a re-run writes nothing', { timeout: 60_000 }, async (_label, env, push) => {
    s = await Scenario.start({ source: 'okta' });
    setUpAsTheGuideSays(s.directory);
    push(s.directory);

    const run = await s.sync({ env });
    expect(run.outcome.result.status).toBe('succeeded');
    expect(s.docker.teamMembers('acme:dev')).toEqual(['ada@example.com', 'grace@example.com']);
    expect(s.docker.teamMembers('acme:ops')).toEqual(['alan@example.com']);
    // The app assignment decides who exists: mallory is in a team group, not in Docker.
    expect(s.docker.user('mallory@example.com')).toBeUndefined();
    const notes = run.plan.findings.filter((f) => f.code === 'SOURCE_NOTE');
    expect(notes).toEqual([
      expect.objectContaining({ subject: 'acme:dev', message: expect.stringMatching(/^1 of 3 members of Okta group acme:dev is not assigned to the Docker app, so they are not provisioned/) }),
    ]);
    expect(run.report('text')).toContain('1 of 3 members of Okta group acme:dev');

    const again = await s.sync({ env });
    expect(again.plan.operations).toEqual([]);
    expect(again.writes).toBe(0);
  });

  it('a group that stops matching the rule is a team the tool empties, as Okta\'s own push would', { timeout: 60_000 }, async () => {
    s = await Scenario.start({ source: 'okta' });
    setUpAsTheGuideSays(s.directory);
    await s.sync({ env: RULE });
    expect(s.docker.teamMembers('acme:ops')).toEqual(['alan@example.com']);
    s.directory.renameGroup('acme:ops', 'ops (retired)');
    const run = await s.sync({ env: RULE });
    expect(run.plan.operations.map((o) => o.kind)).toEqual(['team-remove']);
    expect(s.docker.teamMembers('acme:ops')).toEqual([]);
    // Alan keeps his account: groups decide teams, not who exists.
    expect(s.docker.user('alan@example.com')?.active).toBe(true);
  });
});
