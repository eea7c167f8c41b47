import { describe, expect, it } from 'vitest';
import type { DesiredState, DesiredUser } from '../../src/model/desired.ts';
import type { DockerGroup, DockerUser } from '../../src/model/docker.ts';
import type { Link } from '../../src/model/link.ts';
import type { Plan } from '../../src/model/plan.ts';
import { buildPlan, type PlanOptions } from '../../src/reconcile/plan.ts';
import { desired, dockerUser, group, link, synced } from '../support/builders.ts';

const OPTIONS: PlanOptions = { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false };

function plan(args: { users?: DesiredUser[]; held?: string[]; deprovisioned?: string[]; links?: Link[]; docker?: DockerUser[]; groups?: DockerGroup[]; options?: Partial<PlanOptions> }): Plan {
  const d: DesiredState = { users: args.users ?? [], held: args.held ?? [], deprovisioned: args.deprovisioned ?? [], findings: [] };
  return buildPlan({
    source: 'okta',
    idpUsers: d.users.length + d.held.length + d.deprovisioned.length,
    desired: d,
    links: args.links ?? [],
    observed: { users: args.docker ?? [], groups: args.groups ?? [] },
    options: { ...OPTIONS, ...args.options },
  });
}

const kinds = (p: Plan) => p.operations.map((o) => `${o.kind} ${'userName' in o ? o.userName : o.group}`);
const codes = (p: Plan) => p.findings.map((f) => f.code);

/** A user in sync: linked, Docker matching, member of their teams. */
function inSync(d: DesiredUser, id: string) {
  return { link: link(d, id), docker: synced(d, id) };
}

describe('planner', () => {
  const jane = desired({ idpId: 'u-jane', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe' });
  const bob = desired({ idpId: 'u-bob', userName: 'bob@example.com', givenName: 'Bob', familyName: 'Roe' });

  it('creates an assigned user with no Docker account; the create itself puts them in their team, which is recorded once it lands', () => {
    const p = plan({ users: [jane], groups: [group('acme:everyone', [])] });
    expect(kinds(p)).toEqual(['create jane@example.com']);
    const create = p.operations[0];
    expect(create?.kind === 'create' && create.target).toEqual({ userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe', active: true, role: 'member', org: 'acme', team: 'everyone' });
    expect(p.memberships).toEqual([{ idpId: jane.idpId, teams: ['acme:everyone'], fromOperation: create?.id }]);
  });

  it('a created user is added to the teams their create does not place them in (org:team groups), after it', () => {
    const p = plan({ users: [desired({ idpId: 'u1', teams: ['acme:everyone', 'acme:web'] })], groups: [group('acme:everyone', [])] });
    expect(kinds(p)).toEqual(['group-create acme:web', 'create u1@example.com', 'team-add acme:web']);
    const add = p.operations[2];
    expect(add?.kind === 'team-add' && add.groupId).toBeNull();
    expect(add?.kind === 'team-add' && add.members.map((m) => [m.dockerId, m.fromOperation])).toEqual([[null, 'create:u1']]);
  });

  it('no group-create for a team only creates put people in: Docker makes it as it places them', () => {
    const p = plan({ users: [desired({ idpId: 'u1', team: 'web', teams: ['acme:web'] })] });
    expect(kinds(p)).toEqual(['create u1@example.com']);
  });

  it('plans nothing when Docker already matches', () => {
    const a = inSync(jane, 'd1');
    const p = plan({ users: [jane], links: [a.link], docker: [a.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(p.operations).toEqual([]);
    expect(p.findings).toEqual([]);
  });

  it('a name change in the IdP is one update with before and after', () => {
    const a = inSync(jane, 'd1');
    const renamed = { ...jane, familyName: 'Smith' };
    const p = plan({ users: [renamed], links: [a.link], docker: [a.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(kinds(p)).toEqual(['update jane@example.com']);
    const op = p.operations[0];
    expect(op?.kind === 'update' && op.changes).toEqual([{ field: 'familyName', before: 'Doe', after: 'Smith' }]);
    expect(op?.reason).toBe('changed in Okta: familyName');
    expect(codes(p)).toEqual([]);
  });

  it('a Docker value changed behind its back is drift: corrected and reported', () => {
    const a = inSync(jane, 'd1');
    const jit = { ...a.docker, givenName: 'Janet', role: 'owner' };
    // Another owner of acme, so putting jane back to member leaves the org an owner (owners.ts).
    const boss = dockerUser({ id: 'd9', userName: 'boss@example.com', role: 'owner' });
    const p = plan({ users: [jane], links: [a.link], docker: [jit, boss], groups: [group('acme:everyone', ['d1'])] });
    const op = p.operations[0];
    expect(op?.kind).toBe('update');
    expect(op?.kind === 'update' && op.changes.every((c) => c.drift)).toBe(true);
    expect(op?.reason).toContain("changed in Docker behind this tool's back: givenName, role");
    expect(codes(p).filter((c) => c !== 'UNMANAGED_ACCOUNT')).toEqual(['DRIFT', 'DRIFT']);
  });

  it('falls back to the last applied value when Docker does not echo its extension', () => {
    const a = inSync(jane, 'd1');
    const noEcho: DockerUser = { id: 'd1', userName: jane.userName, givenName: 'Jane', familyName: 'Doe', active: true };
    expect(plan({ users: [jane], links: [a.link], docker: [noEcho], groups: [group('acme:everyone', ['d1'])] }).operations).toEqual([]);
    const promoted = { ...jane, role: 'owner' as const };
    const p = plan({ users: [promoted], links: [a.link], docker: [noEcho], groups: [group('acme:everyone', ['d1'])] });
    expect(p.operations[0]?.kind === 'update' && p.operations[0].changes).toEqual([{ field: 'role', before: 'member', after: 'owner' }]);
  });

  it('deactivates a linked user who is no longer assigned, with active:false and nothing else changed', () => {
    const a = inSync(jane, 'd1');
    const b = inSync(bob, 'd2');
    const p = plan({ users: [bob], links: [a.link, b.link], docker: [a.docker, b.docker], groups: [group('acme:everyone', ['d1', 'd2'])] });
    expect(kinds(p)).toEqual(['deactivate jane@example.com']);
    const op = p.operations[0];
    expect(op?.kind === 'deactivate' && op.target).toEqual({ userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe', active: false, role: 'member', org: 'acme', team: 'everyone' });
    expect(op?.reason).toBe('no longer assigned to the Docker app in Okta');
  });

  it('deactivates a user who is inactive in the IdP and reactivates them when active again', () => {
    const a = inSync(jane, 'd1');
    const off = plan({ users: [{ ...jane, active: false }], links: [a.link], docker: [a.docker] });
    expect(kinds(off)).toEqual(['deactivate jane@example.com']);
    const wasDeactivated = { ...a.link, applied: { ...a.link.applied, active: false } };
    const on = plan({ users: [jane], links: [wasDeactivated], docker: [{ ...a.docker, active: false }], groups: [group('acme:everyone', [])] });
    expect(kinds(on)).toEqual(['reactivate jane@example.com', 'team-add acme:everyone']);
    expect(on.operations[0]?.reason).toBe('assigned and active in Okta again');
  });

  it('reactivates an account deactivated outside the tool and reports the drift', () => {
    const a = inSync(jane, 'd1');
    const p = plan({ users: [jane], links: [a.link], docker: [{ ...a.docker, active: false }], groups: [group('acme:everyone', [])] });
    expect(p.operations[0]?.kind).toBe('reactivate');
    expect(codes(p)).toContain('DRIFT');
  });

  it('never deactivates a held user (assigned, but with a bad record)', () => {
    const a = inSync(jane, 'd1');
    const p = plan({ users: [], held: [jane.idpId], links: [a.link], docker: [a.docker] });
    expect(p.operations).toEqual([]);
  });

  it('never touches an unmanaged account, even in a managed team', () => {
    const manual = dockerUser({ id: 'm1', userName: 'manual@example.com' });
    const a = inSync(jane, 'd1');
    const p = plan({ users: [jane], links: [a.link], docker: [a.docker, manual], groups: [group('acme:everyone', ['d1', 'm1'])] });
    expect(p.operations).toEqual([]);
    expect(p.findings).toMatchObject([{ code: 'UNMANAGED_ACCOUNT', dockerId: 'm1', severity: 'warning' }]);
  });

  it('adopts an existing account with the same userName as its own listed operation', () => {
    const existing = dockerUser({ id: 'x1', userName: 'JANE@example.com', givenName: 'J', familyName: 'Doe', role: null, org: null, team: null });
    const p = plan({ users: [jane], docker: [existing], groups: [group('acme:everyone', [])] });
    expect(kinds(p)).toEqual(['adopt jane@example.com', 'team-add acme:everyone']);
    const op = p.operations[0];
    expect(op?.kind === 'adopt' && op.dockerId).toBe('x1');
    expect(op?.kind === 'adopt' && op.changes.map((c) => c.field)).toEqual(['givenName', 'role', 'org', 'team']);
  });

  it('with ADOPT_EXISTING=false an adoptable account is only listed', () => {
    const existing = dockerUser({ id: 'x1', userName: 'jane@example.com', givenName: 'J' });
    const p = plan({ users: [jane], docker: [existing], groups: [group('acme:everyone', ['x1'])], options: { adoptExisting: false } });
    expect(p.operations).toEqual([]);
    expect(p.findings).toMatchObject([{ code: 'ADOPTABLE_ACCOUNT', dockerId: 'x1' }]);
    expect(p.findings[0]?.message).toContain('givenName "J" → "Jane"');
  });

  it('does not adopt an account for a user who is inactive in the IdP', () => {
    const existing = dockerUser({ id: 'x1', userName: 'jane@example.com' });
    const p = plan({ users: [{ ...jane, active: false }], docker: [existing] });
    expect(p.operations).toEqual([]);
    expect(codes(p)).toEqual(['INACTIVE_UNLINKED']);
  });

  it('an email change is one rename of the linked account, never a deactivate plus a create', () => {
    const a = inSync(jane, 'd1');
    const moved = { ...jane, userName: 'jane.doe@example.com' };
    const p = plan({ users: [moved], links: [a.link], docker: [a.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(kinds(p)).toEqual(['update jane.doe@example.com']);
    expect(p.operations[0]?.kind === 'update' && p.operations[0].changes).toEqual([{ field: 'userName', before: 'jane@example.com', after: 'jane.doe@example.com' }]);
  });

  it('a rename onto a userName another account holds is not sent, and is reported', () => {
    const a = inSync(jane, 'd1');
    const other = dockerUser({ id: 'o1', userName: 'taken@example.com' });
    const p = plan({ users: [{ ...jane, userName: 'taken@example.com' }], links: [a.link], docker: [a.docker, other], groups: [group('acme:everyone', ['d1'])] });
    expect(p.operations).toEqual([]);
    expect(codes(p)).toContain('USERNAME_CONFLICT');
  });

  it('re-creates a linked account that vanished from Docker, and says why', () => {
    const a = inSync(jane, 'gone');
    const p = plan({ users: [jane], links: [a.link], groups: [group('acme:everyone', [])] });
    expect(kinds(p)).toEqual(['create jane@example.com']);
    expect(p.operations[0]?.reason).toContain('no longer exists; re-creating it');
    expect(codes(p)).toContain('LINKED_ACCOUNT_GONE');
  });

  it('when the linked account vanished, another account with the userName is an adoption, and obeys ADOPT_EXISTING', () => {
    const a = inSync(jane, 'gone');
    const other = synced(jane, 'd9');
    const p = plan({ users: [jane], links: [a.link], docker: [other], groups: [group('acme:everyone', ['d9'])] });
    expect(kinds(p)).toEqual(['adopt jane@example.com']);
    expect(p.operations[0]?.reason).toContain('adopting the other Docker account');
    const off = plan({ users: [jane], links: [a.link], docker: [other], groups: [group('acme:everyone', ['d9'])], options: { adoptExisting: false } });
    expect(off.operations).toEqual([]);
    expect(codes(off)).toEqual(['ADOPTABLE_ACCOUNT', 'LINKED_ACCOUNT_GONE']);
  });

  it('deactivates a leaver whose IdP record is broken: a bad attribute does not keep access alive', () => {
    const a = inSync(jane, 'd1');
    const p = plan({ users: [], deprovisioned: [jane.idpId], links: [a.link], docker: [a.docker] });
    expect(kinds(p)).toEqual(['deactivate jane@example.com']);
    expect(p.operations[0]?.reason).toContain('inactive in Okta');
  });

  it('a rehire with the email of an inactive leaver takes over the account; the leaver does not deactivate it', () => {
    const leaver = desired({ idpId: 'u-old', userName: 'JANE@example.com', active: false });
    const a = inSync({ ...leaver, active: true }, 'd1');
    const p = plan({ users: [leaver, jane], links: [a.link], docker: [a.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(kinds(p)).toEqual(['adopt jane@example.com']);
    expect(p.operations[0]?.reason).toContain('who is inactive; re-linking it to u-jane');
  });

  it("moves an unassigned person's account to the new IdP user with the same email", () => {
    const old = inSync(desired({ idpId: 'old-id', userName: 'jane@example.com' }), 'd1');
    const p = plan({ users: [jane], links: [old.link], docker: [old.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(kinds(p)).toEqual(['adopt jane@example.com']);
    expect(p.operations.some((o) => o.kind === 'deactivate')).toBe(false);
  });

  it('refuses to give one account to two assigned IdP users', () => {
    const a = inSync(jane, 'd1');
    const twin = desired({ idpId: 'u-twin', userName: 'jane@example.com' });
    const p = plan({ users: [jane], held: [], links: [a.link], docker: [a.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(p.operations).toEqual([]);
    const p2 = plan({ users: [twin], held: [jane.idpId], links: [a.link], docker: [a.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(p2.operations).toEqual([]);
    expect(codes(p2)).toContain('USERNAME_CONFLICT');
  });

  it('team changes: adds and removes only within teams the tool manages', () => {
    const a = inSync({ ...jane, teams: ['acme:api', 'acme:web'] }, 'd1');
    const now = { ...jane, teams: ['acme:api', 'acme:data'] };
    const groups = [group('acme:api', ['d1']), group('acme:web', ['d1']), group('acme:data', []), group('acme:handmade', ['d1'])];
    const p = plan({ users: [now], links: [a.link], docker: [{ ...a.docker }], groups });
    expect(kinds(p)).toEqual(['team-add acme:data', 'team-remove acme:web']);
  });

  it('team names compare case-insensitively, as Docker does', () => {
    const a = inSync({ ...jane, team: 'web', teams: ['acme:web'] }, 'd1');
    const p = plan({ users: [{ ...jane, team: 'web', teams: ['acme:web'] }], links: [a.link], docker: [a.docker], groups: [group('acme:Web', ['d1'])] });
    expect(p.operations).toEqual([]);
  });

  it('a user being deactivated gets no team operations (Docker drops their memberships)', () => {
    const a = inSync(jane, 'd1');
    const p = plan({ users: [{ ...jane, active: false, teams: [] }], links: [a.link], docker: [a.docker], groups: [group('acme:everyone', ['d1'])] });
    expect(kinds(p)).toEqual(['deactivate jane@example.com']);
  });

  it('orders operations: groups, users, teams, deactivations; each alphabetically', () => {
    const gone = inSync(desired({ idpId: 'u-0', userName: 'aaron@example.com' }), 'd0');
    const p = plan({
      users: [desired({ idpId: 'u-z', userName: 'zed@example.com', teams: ['acme:everyone', 'acme:new'] }), desired({ idpId: 'u-a', userName: 'amy@example.com', teams: ['acme:everyone', 'acme:data'] })],
      links: [gone.link],
      docker: [gone.docker],
      groups: [group('acme:everyone', ['d0'])],
    });
    expect(kinds(p)).toEqual(['group-create acme:data', 'group-create acme:new', 'create amy@example.com', 'create zed@example.com', 'team-add acme:data', 'team-add acme:new', 'deactivate aaron@example.com']);
  });
});

describe('safety guard', () => {
  const users = Array.from({ length: 40 }, (_, i) => desired({ idpId: `u${String(i).padStart(2, '0')}`, userName: `user${i}@example.com` }));
  const state = users.map((u, i) => inSync(u, `d${i}`));
  const links = state.map((s) => s.link);
  const docker = state.map((s) => s.docker);
  const groups = [group('acme:everyone', docker.map((d) => d.id))];
  const keep = (n: number) => users.slice(n);

  it('blocks every deactivation above MAX_DEACTIVATIONS and says so', () => {
    const p = plan({ users: keep(6), links, docker, groups, options: { maxDeactivations: 5 } });
    const deact = p.operations.filter((o) => o.kind === 'deactivate');
    expect(deact).toHaveLength(6);
    expect(deact.every((o) => o.blocked === 'safety-threshold')).toBe(true);
    expect(p.safety).toMatchObject({ tripped: true, forced: false, deactivations: 6, managedUsers: 40 });
    expect(p.findings.find((f) => f.code === 'SAFETY_THRESHOLD')?.message).toContain('6 deactivations exceed MAX_DEACTIVATIONS=5');
  });

  it('blocks above MAX_DEACTIVATION_PERCENT of managed users', () => {
    const p = plan({ users: keep(5), links, docker, groups, options: { maxDeactivationPercent: 10 } });
    expect(p.safety.tripped).toBe(true);
    expect(p.safety.message).toContain('12.5% of 40 managed users');
  });

  it('lets deactivations at the threshold through', () => {
    const p = plan({ users: keep(4), links, docker, groups, options: { maxDeactivations: 4, maxDeactivationPercent: 10 } });
    expect(p.safety.tripped).toBe(false);
    expect(p.operations.filter((o) => o.blocked)).toEqual([]);
  });

  it('--force lets a tripped run through and says it was forced', () => {
    const p = plan({ users: keep(6), links, docker, groups, options: { maxDeactivations: 5, force: true } });
    expect(p.safety).toMatchObject({ tripped: true, forced: true });
    expect(p.operations.filter((o) => o.blocked)).toEqual([]);
  });

  it('an empty IdP read while users are managed holds everything, whatever the thresholds', () => {
    const p = plan({ users: [], links, docker, groups, options: { maxDeactivations: 1000, maxDeactivationPercent: 100 } });
    expect(p.safety.tripped).toBe(true);
    expect(p.safety.message).toContain('returned no assigned users');
    expect(p.operations.every((o) => o.blocked === 'safety-threshold')).toBe(true);
  });

  it('DEACTIVATE=false plans deactivations but blocks them all', () => {
    const p = plan({ users: keep(1), links, docker, groups, options: { deactivate: false } });
    expect(p.operations).toMatchObject([{ kind: 'deactivate', blocked: 'deactivation-disabled' }]);
    expect(p.findings.map((f) => f.code)).toContain('DEACTIVATION_DISABLED');
  });

  it('the share counts accounts active now, not long-gone leavers that keep their links', () => {
    const gone = users.slice(0, 30).map((u, i) => ({ ...inSync(u, `d${i}`).docker, active: false }));
    const p = plan({ users: users.slice(30).slice(2), links, docker: [...gone, ...docker.slice(30)], groups, options: { maxDeactivationPercent: 10 } });
    expect(p.safety).toMatchObject({ deactivations: 2, managedUsers: 10, tripped: true });
  });

  it('a first run against an empty state never deactivates', () => {
    const p = plan({ users: [], docker, groups });
    expect(p.operations.filter((o) => o.kind === 'deactivate')).toEqual([]);
  });
});
