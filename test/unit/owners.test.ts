import { describe, expect, it } from 'vitest';
import type { DockerUser } from '../../src/model/docker.ts';
import type { Link } from '../../src/model/link.ts';
import type { UpdateOperation, UserOperation } from '../../src/model/plan.ts';
import { guardLastOwners } from '../../src/reconcile/owners.ts';
import { desired, dockerUser, link } from '../support/builders.ts';

/** The last-owner guard on its own: operations in, the same operations with owners kept out. */

const owner = (id: string, p: Partial<DockerUser> = {}): DockerUser => dockerUser({ id, userName: `${id}@example.com`, role: 'owner', ...p });

function change(kind: UpdateOperation['kind'], account: DockerUser, target: Partial<UpdateOperation['target']>, blocked?: UpdateOperation['blocked']): UpdateOperation {
  const base = { userName: account.userName, givenName: 'Given', familyName: 'Family', active: true, role: 'owner' as const, org: 'acme', team: 'everyone' };
  const t = { ...base, ...(kind === 'deactivate' ? { active: false } : {}), ...target };
  return {
    id: `${kind}:${account.id}`,
    kind,
    idpId: `idp-${account.id}`,
    dockerId: account.id,
    userName: account.userName,
    changes: [
      ...(t.role !== 'owner' ? [{ field: 'role' as const, before: 'owner', after: t.role }] : []),
      ...(t.org !== 'acme' ? [{ field: 'org' as const, before: 'acme', after: t.org }] : []),
      ...(target.givenName ? [{ field: 'givenName' as const, before: 'Given', after: target.givenName }] : []),
    ],
    target: t,
    reason: 'test',
    ...(blocked ? { blocked } : {}),
  };
}

function guard(operations: UserOperation[], accounts: DockerUser[], opts: { complete?: boolean; force?: boolean; links?: Link[] } = {}) {
  return guardLastOwners({
    operations,
    accountById: new Map(accounts.map((a) => [a.id, a])),
    linkByDocker: new Map((opts.links ?? []).map((l) => [l.dockerId, l])),
    complete: opts.complete ?? true,
    force: opts.force ?? false,
  });
}

describe('guardLastOwners', () => {
  const ada = owner('ada');
  const grace = owner('grace');
  const member = dockerUser({ id: 'bob', userName: 'bob@example.com' });

  it('blocks the deactivation of the only owner of an org, with an error that says how to go on', () => {
    const off = change('deactivate', ada, {});
    const g = guard([off], [ada, member]);
    expect(g.operations).toEqual([{ ...off, blocked: 'last-owner' }]);
    expect(g.findings).toEqual([expect.objectContaining({ code: 'LAST_OWNER', severity: 'error', subject: 'ada@example.com', dockerId: 'ada' })]);
    expect(g.findings[0]?.message).toMatch(/last owner of Docker org acme; their deactivation is held/);
    expect(g.findings[0]?.advice).toMatch(/--force-last-owner/);
  });

  it('lets an owner go when another owner stays', () => {
    const off = change('deactivate', ada, {});
    const g = guard([off], [ada, grace]);
    expect(g.operations).toEqual([off]);
    expect(g.findings).toEqual([]);
  });

  it('two owners both leaving: one is kept, the first by userName, and the other goes', () => {
    const offAda = change('deactivate', ada, {});
    const offGrace = change('deactivate', grace, {});
    const g = guard([offGrace, offAda], [grace, ada]);
    expect(g.operations.map((o) => [o.id, o.blocked])).toEqual([
      ['deactivate:grace', undefined],
      ['deactivate:ada', 'last-owner'],
    ]);
    expect(g.findings.map((f) => f.subject)).toEqual(['ada@example.com']);
  });

  it('a demotion of the last owner keeps the owner role and still sends the rest of the change', () => {
    const demote = change('update', ada, { role: 'member', givenName: 'Ada' });
    const g = guard([demote], [ada]);
    expect(g.operations).toHaveLength(1);
    const kept = g.operations[0] as UpdateOperation;
    expect(kept.blocked).toBeUndefined();
    expect(kept.target.role).toBe('owner');
    expect(kept.changes.map((c) => c.field)).toEqual(['givenName']);
    expect(g.findings[0]?.message).toMatch(/the change of their role to member is held/);
  });

  it('a demotion that was all the update did leaves no update at all', () => {
    const g = guard([change('update', ada, { role: 'editor' })], [ada]);
    expect(g.operations).toEqual([]);
    expect(g.findings.map((f) => f.code)).toEqual(['LAST_OWNER']);
  });

  it('adopting an owner the IdP gives no role (Docker\'s default would demote them) adopts them as owner', () => {
    const adopt: UserOperation = { ...change('update', ada, { role: 'member' }), kind: 'adopt', id: 'adopt:ada' } as UserOperation;
    const g = guard([adopt], [ada]);
    expect(g.operations).toEqual([expect.objectContaining({ id: 'adopt:ada', changes: [], target: expect.objectContaining({ role: 'owner' }) })]);
  });

  it('moving the last owner to another org is blocked whole', () => {
    const move = change('update', ada, { org: 'globex' });
    const g = guard([move], [ada]);
    expect(g.operations).toEqual([{ ...move, blocked: 'last-owner' }]);
    expect(g.findings[0]?.message).toMatch(/their move to org globex is held/);
  });

  it('forced, the change goes with a warning', () => {
    const off = change('deactivate', ada, {});
    const g = guard([off], [ada], { force: true });
    expect(g.operations).toEqual([off]);
    expect(g.findings).toEqual([expect.objectContaining({ code: 'LAST_OWNER', severity: 'warning' })]);
  });

  it('an incremental run that did not list Docker holds every owner it would remove, since it cannot count the others', () => {
    const off = change('deactivate', ada, {});
    const g = guard([off], [ada], { complete: false });
    expect(g.operations).toEqual([{ ...off, blocked: 'last-owner' }]);
    expect(g.findings[0]?.message).toMatch(/waits for a run that lists Docker/);
  });

  it('a promotion in the same plan does not count: it may fail while the demotion succeeds', () => {
    const promote = change('update', member, { role: 'owner' });
    const demote = change('update', ada, { role: 'member', givenName: 'Ada' });
    const g = guard([promote, demote], [ada, member]);
    expect((g.operations[1] as UpdateOperation).target.role).toBe('owner');
  });

  it('counts owners this tool does not manage, and ignores inactive ones, other orgs and unknown roles', () => {
    const off = change('deactivate', ada, {});
    expect(guard([off], [ada, owner('handmade')]).operations[0]?.blocked).toBeUndefined();
    expect(guard([off], [ada, owner('gone', { active: false })]).operations[0]?.blocked).toBe('last-owner');
    expect(guard([off], [ada, owner('elsewhere', { org: 'globex' })]).operations[0]?.blocked).toBe('last-owner');
    expect(guard([off], [ada, owner('unknown', { role: undefined, org: undefined })]).operations[0]?.blocked).toBe('last-owner');
  });

  it('where Docker does not echo the role, what this tool last applied says who is an owner', () => {
    const silent = dockerUser({ id: 'ada', userName: 'ada@example.com', role: undefined, org: undefined });
    const l = link(desired({ idpId: 'idp-ada', userName: 'ada@example.com', role: 'owner' }), 'ada');
    const g = guard([change('deactivate', silent, {})], [silent], { links: [l] });
    expect(g.operations[0]?.blocked).toBe('last-owner');
  });

  it('an operation another guard blocked will not run and removes nobody', () => {
    const held = change('deactivate', ada, {}, 'safety-threshold');
    const g = guard([held], [ada]);
    expect(g.operations).toEqual([held]);
    expect(g.findings).toEqual([]);
  });

  it('an org is compared without case', () => {
    const off = change('deactivate', ada, {});
    expect(guard([off], [ada, owner('grace', { org: 'ACME' })]).operations[0]?.blocked).toBeUndefined();
  });

  it('adopting an account whose role Docker does not show, as anything but owner, waits while its org has no owner in sight', () => {
    const unseen = dockerUser({ id: 'cy', userName: 'cy@example.com', role: undefined, org: undefined });
    const adopt = { ...change('update', unseen, { role: 'member' }), kind: 'adopt', id: 'adopt:cy', changes: [] } as UserOperation;
    const g = guard([adopt], [unseen]);
    expect(g.operations).toEqual([{ ...adopt, blocked: 'last-owner' }]);
    expect(g.findings[0]?.message).toMatch(/does not show the role of account cy@example.com/);
    // With an owner in sight, or the IdP making them owner, or forced, it goes.
    expect(guard([adopt], [unseen, ada]).operations[0]?.blocked).toBeUndefined();
    expect(guard([{ ...adopt, target: { ...(adopt as UpdateOperation).target, role: 'owner' } } as UserOperation], [unseen]).operations[0]?.blocked).toBeUndefined();
    expect(guard([adopt], [unseen], { force: true }).operations[0]?.blocked).toBeUndefined();
  });
});
