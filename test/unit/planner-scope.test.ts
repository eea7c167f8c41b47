import { describe, expect, it } from 'vitest';
import type { DesiredState, DesiredUser } from '../../src/model/desired.ts';
import type { DockerGroup, DockerUser } from '../../src/model/docker.ts';
import type { Link } from '../../src/model/link.ts';
import type { Plan } from '../../src/model/plan.ts';
import { buildPlan, type PlanOptions, type PlanScope } from '../../src/reconcile/plan.ts';
import { desired, dockerUser, group, link, synced } from '../support/builders.ts';

/**
 * The planner on an incremental run (invariant 11): it sees only the users the change feed named,
 * their links, and the Docker accounts they have or name. What it was not shown must never read as
 * "unassigned" or "unmanaged".
 */

const OPTIONS: PlanOptions = { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 10, force: false };

function plan(args: { users?: DesiredUser[]; held?: string[]; links?: Link[]; docker?: DockerUser[]; groups?: DockerGroup[]; scope?: Partial<PlanScope> & { idpIds: ReadonlySet<string> } }): Plan {
  const d: DesiredState = { users: args.users ?? [], held: args.held ?? [], deprovisioned: [], findings: [] };
  return buildPlan({
    source: 'okta',
    idpUsers: d.users.length + d.held.length,
    desired: d,
    links: args.links ?? [],
    observed: { users: args.docker ?? [], groups: args.groups ?? [] },
    options: OPTIONS,
    ...(args.scope ? { scope: { managedActive: 1000, managed: 1000, dockerListed: false, ...args.scope } } : {}),
  });
}

const kinds = (p: Plan) => p.operations.map((o) => `${o.kind} ${'userName' in o ? o.userName : o.group}`);
const codes = (p: Plan) => p.findings.map((f) => f.code);

describe('planner, incremental scope', () => {
  const jane = desired({ idpId: 'u-jane', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe' });
  const bob = desired({ idpId: 'u-bob', userName: 'bob@example.com', givenName: 'Bob', familyName: 'Roe' });
  const everyone = (...ids: string[]) => group('acme:everyone', ids);

  it('a linked user outside the scope is never a leaver, though the IdP read did not return them', () => {
    const p = plan({ users: [jane], links: [link(jane, 'd1'), link(bob, 'd2')], docker: [synced(jane, 'd1'), synced(bob, 'd2')], groups: [everyone('d1', 'd2')], scope: { idpIds: new Set(['u-jane']) } });
    expect(p.operations).toEqual([]);
    // The same inputs as a full run: Bob is not assigned, so he is deactivated.
    const whole = plan({ users: [jane], links: [link(jane, 'd1'), link(bob, 'd2')], docker: [synced(jane, 'd1'), synced(bob, 'd2')], groups: [everyone('d1', 'd2')] });
    expect(kinds(whole)).toEqual(['deactivate bob@example.com']);
  });

  it('a user in scope whom the IdP no longer assigns is deactivated', () => {
    const p = plan({ users: [], links: [link(bob, 'd2')], docker: [synced(bob, 'd2')], groups: [everyone('d2')], scope: { idpIds: new Set(['u-bob']) } });
    expect(kinds(p)).toEqual(['deactivate bob@example.com']);
    expect(p.operations[0]?.reason).toBe('no longer assigned to the Docker app in Okta');
  });

  it('one leaver read alone is not an empty IdP read: the guard counts the managed accounts the state file knows', () => {
    const p = plan({ users: [], links: [link(bob, 'd2')], docker: [synced(bob, 'd2')], scope: { idpIds: new Set(['u-bob']), managedActive: 1000 } });
    expect(p.safety.tripped).toBe(false);
    expect(p.safety.managedUsers).toBe(1000);
    expect(p.operations[0]?.blocked).toBeUndefined();
  });

  it('the deactivation share is taken over the state file\'s managed accounts, and still trips past it', () => {
    const p = plan({ users: [], links: [link(bob, 'd2')], docker: [synced(bob, 'd2')], scope: { idpIds: new Set(['u-bob']), managedActive: 5 } });
    expect(p.safety.tripped).toBe(true);
    expect(p.operations[0]?.blocked).toBe('safety-threshold');
  });

  it('no account is listed as unmanaged: the run did not see every link', () => {
    const stranger = dockerUser({ id: 'd9', userName: 'stranger@example.com' });
    const p = plan({ users: [jane], links: [link(jane, 'd1')], docker: [synced(jane, 'd1'), stranger], groups: [everyone('d1')], scope: { idpIds: new Set(['u-jane']) } });
    expect(codes(p)).not.toContain('UNMANAGED_ACCOUNT');
    expect(p.coverage).toEqual({ mode: 'incremental', users: 1, dockerListed: false });
  });

  it('an account linked to someone outside the scope whom this tool left active is still theirs: a conflict, not a takeover', () => {
    // Bob was re-read with Jane's old email; Jane was not read this run, and her account is active.
    const bobWithJanesName = { ...bob, userName: 'jane@example.com' };
    const p = plan({ users: [bobWithJanesName], links: [link(jane, 'd1')], docker: [synced(jane, 'd1')], groups: [everyone('d1')], scope: { idpIds: new Set(['u-bob']) } });
    expect(kinds(p)).toEqual([]);
    expect(codes(p)).toContain('USERNAME_CONFLICT');
  });

  it('an account linked to someone outside the scope whom this tool deactivated may be adopted by the user who now has its userName', () => {
    const gone = link(jane, 'd1', { applied: { ...link(jane, 'd1').applied, active: false } });
    const rehire = { ...bob, userName: 'jane@example.com' };
    const p = plan({ users: [rehire], links: [gone], docker: [{ ...synced(jane, 'd1'), active: false }], groups: [everyone()], scope: { idpIds: new Set(['u-bob']) } });
    expect(kinds(p)).toContain('adopt jane@example.com');
    expect(p.operations.find((o) => o.kind === 'adopt')?.reason).toContain('deactivated (by an earlier run)');
  });

  it('team changes touch only the users in scope, though the team lists everyone', () => {
    const janeMoved = { ...jane, team: 'platform', teams: ['acme:platform'] };
    const p = plan({
      users: [janeMoved],
      links: [link(jane, 'd1')],
      docker: [synced(jane, 'd1')],
      groups: [everyone('d1', 'd2', 'd3'), group('acme:platform', ['d2'])],
      scope: { idpIds: new Set(['u-jane']) },
    });
    expect(kinds(p)).toEqual(['update jane@example.com', 'team-add acme:platform', 'team-remove acme:everyone']);
    const remove = p.operations.find((o) => o.kind === 'team-remove');
    expect(remove && 'members' in remove ? remove.members.map((m) => m.idpId) : []).toEqual(['u-jane']);
  });

  it('a held user in scope is not deactivated', () => {
    const p = plan({ users: [], held: ['u-jane'], links: [link(jane, 'd1')], docker: [synced(jane, 'd1')], scope: { idpIds: new Set(['u-jane']) } });
    expect(p.operations).toEqual([]);
  });

  it('counts say how many the state file manages, not how many links the run loaded', () => {
    const p = plan({ users: [jane], links: [link(jane, 'd1')], docker: [synced(jane, 'd1')], groups: [everyone('d1')], scope: { idpIds: new Set(['u-jane']), managed: 12345 } });
    expect(p.counts.managed).toBe(12345);
  });
});
