import type { DesiredUser } from '../../src/model/desired.ts';
import type { DockerGroup, DockerUser } from '../../src/model/docker.ts';
import type { IdpSnapshot, IdpUser } from '../../src/model/idp.ts';
import type { AppliedState, Link } from '../../src/model/link.ts';
import type { CreateOperation } from '../../src/model/plan.ts';

/** Small builders for unit tests of the pure rooms: defaults that read like an ordinary person. */

export function idpUser(p: Partial<IdpUser> & { idpId: string }): IdpUser {
  return {
    userName: `${p.idpId}@example.com`,
    givenName: 'Given',
    familyName: 'Family',
    active: true,
    dockerRole: [],
    dockerOrg: [],
    dockerTeam: [],
    groups: [],
    ...p,
  };
}

export function snapshot(users: IdpUser[], groups: string[] = []): IdpSnapshot {
  return {
    source: 'okta',
    users,
    groups: groups.map((name, i) => ({ idpId: `g${i}`, name, memberCount: users.filter((u) => u.groups.includes(name)).length })),
    notes: [],
    stats: { requests: 0, pages: 0, durationMs: 0 },
  };
}

export function desired(p: Partial<DesiredUser> & { idpId: string }): DesiredUser {
  return {
    userName: `${p.idpId}@example.com`,
    givenName: 'Given',
    familyName: 'Family',
    active: true,
    role: 'member',
    org: 'acme',
    team: 'everyone',
    teams: ['acme:everyone'],
    ...p,
  };
}

export function dockerUser(p: Partial<DockerUser> & { id: string; userName: string }): DockerUser {
  return { givenName: 'Given', familyName: 'Family', active: true, role: 'member', org: 'acme', team: 'everyone', ...p };
}

export function applied(d: DesiredUser, overrides: Partial<AppliedState> = {}): AppliedState {
  return { userName: d.userName, givenName: d.givenName, familyName: d.familyName, active: d.active, role: d.role, org: d.org, team: d.team, teams: d.teams, ...overrides };
}

export function link(d: DesiredUser, dockerId: string, overrides: Partial<Link> = {}): Link {
  return { idpId: d.idpId, dockerId, userName: d.userName, origin: 'created', applied: applied(d), ...overrides };
}

/** The Docker account a desired user has after a perfect sync. */
export function synced(d: DesiredUser, id: string): DockerUser {
  return { id, userName: d.userName, givenName: d.givenName, familyName: d.familyName, active: d.active, role: d.role, org: d.org, team: d.team };
}

export function group(displayName: string, members: string[], id = `grp-${displayName}`): DockerGroup {
  return { id, displayName, members };
}

/** The create of user n (u<n>@example.com), for tests of the journal and the run history. */
export function createOp(n: number): CreateOperation {
  return {
    id: `create:u${n}`,
    kind: 'create',
    idpId: `u${n}`,
    userName: `u${n}@example.com`,
    reason: 'test',
    target: { userName: `u${n}@example.com`, givenName: 'U', familyName: String(n), active: true, role: 'member', org: 'acme', team: null },
  };
}
