import type { DesiredUser } from '../model/desired.ts';
import { DOCKER_ROLES, type DockerRole, type DockerUser, type UserAttributes } from '../model/docker.ts';
import type { AppliedState } from '../model/link.ts';
import type { Change, UserField } from '../model/plan.ts';

/**
 * What Docker holds for a user, field by field, and how it differs from what the IdP wants. Where
 * Docker did not echo its extension (undocumented whether it does), the last applied value stands
 * in for it: the best knowledge there is, and it keeps a re-run from planning the same write again.
 */

export interface CurrentState {
  readonly userName: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly active: boolean;
  readonly role: string | null;
  readonly org: string | null;
  readonly team: string | null;
  /** Fields whose value came from the state store, not from Docker. */
  readonly inferred: readonly UserField[];
}

const NONE_INFERRED: readonly UserField[] = Object.freeze([]);

export function currentState(docker: DockerUser, applied: AppliedState | null): CurrentState {
  // Made for every linked user of a plan (100,000): no set or closure each, and one shared empty
  // list when Docker echoes its extension, as it does.
  let inferred: UserField[] | null = null;
  let role = docker.role;
  if (role === undefined) {
    (inferred ??= []).push('role');
    role = applied ? applied.role : null;
  }
  let org = docker.org;
  if (org === undefined) {
    (inferred ??= []).push('org');
    org = applied ? applied.org : null;
  }
  let team = docker.team;
  if (team === undefined) {
    (inferred ??= []).push('team');
    team = applied ? applied.team : null;
  }
  return {
    userName: docker.userName,
    givenName: docker.givenName,
    familyName: docker.familyName,
    active: docker.active,
    role,
    org,
    team,
    inferred: inferred ?? NONE_INFERRED,
  };
}

/**
 * The attributes to write. A name the IdP leaves empty keeps Docker's value: Docker never clears a
 * name ("we will only ever change the name, but not clear it"), so asking for null would be
 * planned again on every run.
 */
export function targetAttributes(d: DesiredUser, current: CurrentState | null, active: boolean): UserAttributes {
  return {
    userName: d.userName,
    givenName: d.givenName ?? current?.givenName ?? null,
    familyName: d.familyName ?? current?.familyName ?? null,
    active,
    role: d.role,
    org: d.org,
    team: d.team,
  };
}

/** The attributes a deactivation writes: what Docker holds, with active false and nothing else moved. */
export function deactivationAttributes(current: CurrentState, applied: AppliedState | null): UserAttributes {
  const role = (current.role ?? applied?.role ?? 'member') as DockerRole;
  return {
    userName: current.userName,
    givenName: current.givenName,
    familyName: current.familyName,
    active: false,
    role: DOCKER_ROLES.includes(role) ? role : 'member',
    org: current.org ?? applied?.org ?? '',
    team: current.team ?? applied?.team ?? null,
  };
}

const FIELDS: readonly Exclude<UserField, 'active'>[] = ['userName', 'givenName', 'familyName', 'role', 'org', 'team'];

/** Field changes (active aside) from current to target; drift marks values Docker changed behind our back. */
export function diffUser(current: CurrentState | null, target: UserAttributes, applied: AppliedState | null): Change[] {
  const changes: Change[] = [];
  for (const field of FIELDS) {
    const before = current ? current[field] : null;
    const after = target[field];
    if (same(field, before, after)) continue;
    const drift =
      applied !== null && current !== null && !current.inferred.includes(field) && !same(field, before, applied[field]);
    changes.push({ field, before, after, ...(drift ? { drift: true } : {}) });
  }
  return changes;
}

function same(field: UserField, a: string | null, b: string | null): boolean {
  // Docker compares userNames case-insensitively; a case-only difference is not worth a write.
  if (a === b) return true;
  if (field === 'userName' || field === 'org') return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
  return (a ?? null) === (b ?? null);
}
