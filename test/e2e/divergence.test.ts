import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { Scenario } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';

/**
 * Identity and divergence (issue: "nothing destructive by surprise"): the link is the IdP's
 * immutable id, and a Docker that changed behind the tool's back never wedges a run.
 */
describe.each(WORLD_SOURCES)('identity and divergence (%s)', (source) => {
  let s: Scenario;
  beforeEach(async () => {
    s = await Scenario.start({ source });
    seedPeople(s.directory);
    await s.sync();
  });
  afterEach(async () => {
    await s.stop();
  });

  const ops = (run: Awaited<ReturnType<Scenario['sync']>>) => run.plan.operations.map((o) => `${o.kind} ${'userName' in o ? o.userName : o.group}`);

  it('an email change is one rename of the same account, never a deactivate plus a create', async () => {
    const before = s.docker.user('ada@example.com');
    s.directory.updateUser('ada@example.com', { email: 'ada.lovelace@example.com' });
    const run = await s.sync();
    expect(ops(run)).toEqual(['update ada.lovelace@example.com']);
    expect(run.plan.operations[0]?.kind === 'update' && run.plan.operations[0].changes).toEqual([{ field: 'userName', before: 'ada@example.com', after: 'ada.lovelace@example.com' }]);
    expect(s.docker.user(before?.id as string)).toMatchObject({ userName: 'ada.lovelace@example.com', active: true });
    expect(s.docker.allUsers()).toHaveLength(6);
    expect((await s.sync()).writes).toBe(0);
  });

  it('when Docker refuses the rename, the user gets a clear failure, the other changes land, nothing is duplicated or deactivated', async () => {
    await s.stop();
    s = await Scenario.start({ source, docker: { allowRename: false } });
    seedPeople(s.directory);
    await s.sync();
    const id = s.docker.user('ada@example.com')?.id as string;
    s.directory.updateUser('ada@example.com', { email: 'ada.lovelace@example.com', familyName: 'King' });
    const run = await s.sync();
    const result = run.outcome.result.results.find((r) => r.kind === 'update');
    expect(result).toMatchObject({ status: 'failed', error: { code: 'DOCKER_RENAME_REFUSED', status: 400 } });
    expect(result?.error?.message).toContain('Docker refused to rename ada@example.com to ada.lovelace@example.com');
    expect(result?.error?.message).toContain('nothing was duplicated or deactivated');
    expect(s.docker.user(id)).toMatchObject({ userName: 'ada@example.com', familyName: 'King', active: true });
    expect(s.docker.allUsers()).toHaveLength(6);
    expect(run.report()).toContain('FAILED: Docker refused to rename ada@example.com');
    expect(s.docker.http.writes().filter((r) => r.method === 'POST' && r.route === 'createUser')).toHaveLength(6);
  });

  it('a linked account that vanished from Docker is re-created, and the report says so; the rest proceeds', async () => {
    const gone = s.docker.user('alan@example.com')?.id as string;
    s.docker.deleteUser(gone);
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    const run = await s.sync();
    expect(ops(run)).toEqual(['create alan@example.com', 'update ada@example.com']);
    expect(run.plan.operations[0]?.reason).toContain(`the linked Docker account ${gone} (alan@example.com) no longer exists; re-creating it`);
    expect(run.plan.findings.map((f) => f.code)).toContain('LINKED_ACCOUNT_GONE');
    expect(s.docker.user('alan@example.com')?.active).toBe(true);
    expect((await s.sync()).writes).toBe(0);
  });

  it('a linked id that now answers for another userName is left alone; the user is re-created', async () => {
    const id = s.docker.user('alan@example.com')?.id as string;
    s.docker.editUser(id, { userName: 'someone.else@example.com', givenName: 'Someone' });
    const run = await s.sync();
    expect(run.plan.findings.find((f) => f.code === 'LINKED_ACCOUNT_CHANGED')).toMatchObject({ dockerId: id, subject: 'alan@example.com' });
    expect(ops(run)).toContain('create alan@example.com');
    expect(s.docker.http.writes().some((r) => r.path.endsWith(`/Users/${id}`))).toBe(false);
    expect(s.docker.user(id)).toMatchObject({ userName: 'someone.else@example.com', active: true });
    const next = await s.sync();
    expect(next.writes).toBe(0);
    expect(next.plan.findings.find((f) => f.dockerId === id)?.code).toBe('UNMANAGED_ACCOUNT');
  });

  it('an account deleted between the read and the write fails that operation with the reason; the next run re-creates it', async () => {
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    s.directory.updateUser('grace@example.com', { familyName: 'Murray' });
    s.docker.http.onRequest = (rec) => {
      const ada = s.docker.user('ada@example.com');
      if (rec.route === 'listUsers' && ada) s.docker.deleteUser(ada.id);
    };
    const run = await s.sync();
    s.docker.http.onRequest = null;
    // Her update fails with the reason (and a team change that named her, if Docker listed teams
    // after she went); the others land.
    const failed = run.outcome.result.results.filter((r) => r.status === 'failed');
    expect(failed.find((r) => r.kind === 'update')?.error?.message).toContain('vanished after the plan was made');
    expect(failed.every((r) => r.subject === 'ada@example.com' || r.kind.startsWith('team'))).toBe(true);
    expect(s.docker.user('grace@example.com')?.familyName).toBe('Murray');
    const next = await s.sync();
    expect(ops(next)).toContain('create ada@example.com');
    expect(s.docker.user('ada@example.com')?.familyName).toBe('King');
  });

  it('deactivating an account that vanished meanwhile is done, not a failure', async () => {
    s.directory.updateUser('alan@example.com', { assigned: false });
    s.docker.http.onRequest = (rec) => {
      const alan = s.docker.user('alan@example.com');
      if (rec.route === 'listUsers' && alan) s.docker.deleteUser(alan.id);
    };
    const run = await s.sync();
    s.docker.http.onRequest = null;
    expect(run.outcome.result.results.find((r) => r.kind === 'deactivate')).toMatchObject({ status: 'succeeded', note: 'no longer exists in Docker' });
    expect(run.outcome.exitCode).toBe(0);
  });
});
