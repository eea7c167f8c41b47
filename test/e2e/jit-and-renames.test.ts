import { afterEach, describe, expect, it } from 'vitest';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { Scenario } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';

/**
 * What a run remembers of the runs before it: a field set back run after run is named as JIT once,
 * and a team group renamed in the IdP is a rename to make in Docker, not an emptied team.
 */
describe.each(WORLD_SOURCES)('memory across runs (%s)', (source) => {
  let s: Scenario;
  afterEach(async () => {
    await s.stop();
  });

  const start = async () => {
    s = await Scenario.start({ source });
    seedPeople(s.directory);
    await s.sync();
  };
  const jitWrites = (userName: string, patch: { givenName?: string; familyName?: string }) => s.docker.editUser(s.docker.user(userName)!.id, patch);
  const codes = (run: Awaited<ReturnType<Scenario['sync']>>) => run.plan.findings.map((f) => `${f.code} ${f.subject}`);

  it('a name JIT writes back after every run is one JIT_SUSPECTED on the third run, not a third DRIFT; a clean run ends the streak', { timeout: 60_000 }, async () => {
    await start();
    for (const n of [1, 2]) {
      jitWrites('ada@example.com', { givenName: 'Ada (SSO)' });
      const run = await s.sync();
      expect(codes(run), `run ${n}`).toContain('DRIFT ada@example.com');
    }
    jitWrites('ada@example.com', { givenName: 'Ada (SSO)' });
    jitWrites('grace@example.com', { familyName: 'Hopper (SSO)' });
    const third = await s.sync();
    expect(codes(third)).toEqual(expect.arrayContaining(['JIT_SUSPECTED givenName', 'DRIFT grace@example.com']));
    expect(codes(third)).not.toContain('DRIFT ada@example.com');
    expect(third.plan.findings.find((f) => f.code === 'JIT_SUSPECTED')?.message).toContain('on 1 account for 3 or more runs in a row (ada@example.com)');
    // The IdP is still the source: the name is set back all the same.
    expect(s.docker.user('ada@example.com')?.givenName).toBe('Ada');

    // A dry run leaves the streaks as they are; a run that finds nothing to set back ends them.
    jitWrites('ada@example.com', { givenName: 'Ada (SSO)' });
    expect(codes(await s.sync({ dryRun: true }))).toContain('JIT_SUSPECTED givenName');
    await s.sync();
    await s.sync();
    jitWrites('ada@example.com', { givenName: 'Ada (SSO)' });
    const after = await s.sync();
    expect(codes(after)).toContain('DRIFT ada@example.com');
    expect(codes(after)).not.toContain('JIT_SUSPECTED givenName');
  });

  it('a team group renamed in the IdP leaves both teams alone with one TEAM_RENAMED, until Docker has the new name', { timeout: 60_000 }, async () => {
    await start();
    expect(s.docker.teamMembers('acme:platform')).toEqual(['barbara@example.com', 'grace@example.com']);
    // The team carries the IdP group's id, as Docker's Entra mapping sends objectId → externalId.
    const created = s.docker.http.requests.find((r) => r.method === 'POST' && r.path.endsWith('/Groups') && JSON.stringify(r.body).includes('acme:platform'));
    expect(created?.body).toMatchObject({ displayName: 'acme:platform', externalId: s.directory.group('acme:platform').id });
    s.directory.renameGroup('acme:platform', 'acme:infra');
    const writes = s.docker.http.writes().length;
    const run = await s.sync();
    expect(codes(run)).toContain('TEAM_RENAMED acme:infra');
    expect(run.plan.operations).toEqual([]);
    expect(s.docker.http.writes().length).toBe(writes);
    expect(s.docker.teamMembers('acme:platform')).toEqual(['barbara@example.com', 'grace@example.com']);
    expect(s.docker.groupNames()).not.toContain('acme:infra');
    // Still frozen on the next run: the rename is remembered, not forgotten after one report.
    expect(codes(await s.sync())).toContain('TEAM_RENAMED acme:infra');

    // The admin renames the team in Docker: nothing left to do, and nobody was ever out of it.
    s.docker.renameGroup('acme:platform', 'acme:infra');
    const done = await s.sync();
    expect(codes(done).filter((c) => c.startsWith('TEAM_RENAMED'))).toEqual([]);
    expect(done.plan.operations).toEqual([]);
    expect(s.docker.teamMembers('acme:infra')).toEqual(['barbara@example.com', 'grace@example.com']);
  });
});
