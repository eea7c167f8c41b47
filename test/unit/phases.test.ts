import { describe, expect, it } from 'vitest';
import type { DesiredState, DesiredUser } from '../../src/model/desired.ts';
import type { DockerUser } from '../../src/model/docker.ts';
import type { Link } from '../../src/model/link.ts';
import type { UserOperation } from '../../src/model/plan.ts';
import { planLeavers } from '../../src/reconcile/leavers.ts';
import { classifyLinks } from '../../src/reconcile/links.ts';
import type { PhaseContext } from '../../src/reconcile/match.ts';
import { rosterOf } from '../../src/reconcile/roster.ts';
import { guardDeactivations, type SafetyOptions } from '../../src/reconcile/safety.ts';
import { findUnmanaged } from '../../src/reconcile/unmanaged.ts';
import { planAssignedUsers } from '../../src/reconcile/users.ts';
import { desired, dockerUser, link, synced } from '../support/builders.ts';

/** The planner's phases one at a time: each takes values and returns values (reconcile/plan.ts composes them). */

function context(users: DesiredUser[], links: Link[], accounts: DockerUser[], held: string[] = []): PhaseContext {
  const state: DesiredState = { users, held, deprovisioned: [], findings: [] };
  const roster = rosterOf(state);
  return { idp: 'Okta', roster, view: classifyLinks(links, { users: accounts, groups: [] }, roster) };
}

const jane = desired({ idpId: 'u-jane', userName: 'jane@example.com' });
const bob = desired({ idpId: 'u-bob', userName: 'bob@example.com' });
const cy = desired({ idpId: 'u-cy', userName: 'cy@example.com' });

describe('phase 1: classifyLinks', () => {
  it('a linked account that now answers for someone else is disowned; one this plan renames away is vacating; a held user’s link is neither', () => {
    const taken = { ...synced(jane, 'd1'), userName: 'ivy@example.com' };
    const renamed = { ...bob, userName: 'robert@example.com' };
    const heldLink = link(cy, 'd3');
    const ctx = context([jane, renamed], [link(jane, 'd1'), link(bob, 'd2'), heldLink], [taken, synced(bob, 'd2'), { ...synced(cy, 'd3'), userName: 'other@example.com' }], [cy.idpId]);
    expect([...ctx.view.disowned]).toEqual(['d1']);
    expect([...ctx.view.vacating]).toEqual(['d2']);
    expect(ctx.view.linkByDocker.get('d3')?.idpId).toBe('u-cy');
  });
});

describe('phase 2: planAssignedUsers', () => {
  it('each team member says where its account comes from: linked now, or the create or adopt of this plan', () => {
    const existing = dockerUser({ id: 'x2', userName: 'bob@example.com', givenName: 'B' });
    const ctx = context([jane, bob, cy], [link(jane, 'd1')], [synced(jane, 'd1'), existing]);
    const step = planAssignedUsers([jane, bob, cy], ctx, { adoptExisting: true });
    expect(step.operations.map((o) => o.id)).toEqual(['adopt:u-bob', 'create:u-cy']);
    expect(step.members.map(({ idpId, dockerId, fromOperation }) => ({ idpId, dockerId, fromOperation }))).toEqual([
      { idpId: 'u-jane', dockerId: 'd1', fromOperation: undefined },
      { idpId: 'u-bob', dockerId: 'x2', fromOperation: 'adopt:u-bob' },
      { idpId: 'u-cy', dockerId: null, fromOperation: 'create:u-cy' },
    ]);
    expect([...step.claimed].sort()).toEqual(['d1', 'x2']);
  });

  it('with ADOPT_EXISTING=false the account is only listed, and the user gets no team member to act for', () => {
    const existing = dockerUser({ id: 'x2', userName: 'bob@example.com' });
    const step = planAssignedUsers([bob], context([bob], [], [existing]), { adoptExisting: false });
    expect(step.operations).toEqual([]);
    expect(step.members).toEqual([]);
    expect(step.findings.map((f) => f.code)).toEqual(['ADOPTABLE_ACCOUNT']);
  });
});

describe('phase 3: planLeavers', () => {
  it('deactivates an unassigned link, never an account an active user claimed, and reports a disowned one', () => {
    const gone = desired({ idpId: 'u-gone', userName: 'gone@example.com' });
    const moved = desired({ idpId: 'u-moved', userName: 'moved@example.com' });
    const links = [link(jane, 'd1'), link(gone, 'd2'), link(moved, 'd3')];
    const accounts = [synced(jane, 'd1'), synced(gone, 'd2'), { ...synced(moved, 'd3'), userName: 'someone.else@example.com' }];
    const ctx = context([], links, accounts);
    // d1 is claimed by an active user in phase 2 (say, a rehire with jane's email).
    const leavers = planLeavers([], ctx, new Set(['d1']));
    expect(leavers.operations.map((o) => `${o.id} ${o.dockerId}`)).toEqual(['deactivate:u-gone d2']);
    expect(leavers.operations[0]?.target.active).toBe(false);
    expect(leavers.findings.map((f) => `${f.code} ${f.dockerId}`)).toEqual(['LINKED_ACCOUNT_CHANGED d3']);
    expect([...leavers.claimed].sort()).toEqual(['d1', 'd2']);
  });
});

describe('phase 6: guardDeactivations', () => {
  const deactivations = (n: number): UserOperation[] =>
    Array.from({ length: n }, (_, i) => ({ id: `deactivate:u${i}`, kind: 'deactivate', idpId: `u${i}`, dockerId: `d${i}`, userName: `u${i}@example.com`, changes: [], target: { userName: `u${i}@example.com`, givenName: null, familyName: null, active: false, role: 'member', org: 'acme', team: null }, reason: 'left' }));
  const guard = (n: number, managedActive: number, opts: Partial<SafetyOptions>) =>
    guardDeactivations({ operations: deactivations(n), managedActive, idpUsers: 100, options: { maxDeactivations: 1000, maxDeactivationPercent: 100, force: false, deactivate: true, ...opts } });

  it('the count threshold: exactly MAX_DEACTIVATIONS passes, one more blocks every deactivation', () => {
    expect(guard(3, 100, { maxDeactivations: 3 }).safety.tripped).toBe(false);
    const over = guard(4, 100, { maxDeactivations: 3 });
    expect(over.safety.tripped).toBe(true);
    expect(over.operations.every((o) => o.blocked === 'safety-threshold')).toBe(true);
    expect(over.findings.map((f) => `${f.code} ${f.severity}`)).toEqual(['SAFETY_THRESHOLD error']);
  });

  it('the percent threshold: exactly MAX_DEACTIVATION_PERCENT passes, above it blocks; forced, nothing is blocked', () => {
    expect(guard(10, 100, { maxDeactivationPercent: 10 }).safety.tripped).toBe(false);
    expect(guard(11, 100, { maxDeactivationPercent: 10 }).operations.every((o) => o.blocked === 'safety-threshold')).toBe(true);
    const forced = guard(11, 100, { maxDeactivationPercent: 10, force: true });
    expect(forced.safety).toMatchObject({ tripped: true, forced: true });
    expect(forced.operations.filter((o) => o.blocked)).toEqual([]);
  });
});

describe('phase 5: findUnmanaged', () => {
  it('lists only accounts nobody claims, links or already names; an inactive one is information', () => {
    const accounts = [dockerUser({ id: 'a', userName: 'a@x.io' }), dockerUser({ id: 'b', userName: 'b@x.io' }), dockerUser({ id: 'c', userName: 'c@x.io' }), dockerUser({ id: 'd', userName: 'd@x.io' }), dockerUser({ id: 'e', userName: 'e@x.io', active: false })];
    const findings = findUnmanaged(accounts, { claimed: new Set(['a']), linked: new Set(['b']), findings: [{ code: 'ADOPTABLE_ACCOUNT', severity: 'warning', subject: 'c@x.io', dockerId: 'c', message: '' }] }, 'Okta');
    expect(findings.map((f) => `${f.code} ${f.dockerId} ${f.severity}`)).toEqual(['UNMANAGED_ACCOUNT d warning', 'UNMANAGED_ACCOUNT e info']);
  });
});
