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
  /**
   * The address Docker's `emails` holds when it is not the userName; null when it is the userName.
   * When Docker echoes none, what was last applied (an `applied` without one: the userName, which
   * is what this tool sent before it sent anything else).
   */
  readonly email: string | null;
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
  let email: string | null;
  if (docker.email !== undefined) email = ownEmail(docker.email, docker.userName);
  else {
    (inferred ??= []).push('email');
    email = applied ? ownEmail(applied.email, applied.userName) : null;
  }
  return {
    userName: docker.userName,
    givenName: docker.givenName,
    familyName: docker.familyName,
    active: docker.active,
    role,
    org,
    team,
    email,
    inferred: inferred ?? NONE_INFERRED,
  };
}

/** An address as something other than the userName, or null when it is the userName (any case) or unset. */
export function ownEmail(email: string | null | undefined, userName: string): string | null {
  return email && email.toLowerCase() !== userName.toLowerCase() ? email : null;
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
    ...(d.email !== undefined ? { email: d.email } : {}),
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
    // The PUT carries emails too: the address Docker holds stays as it is.
    ...(current.email !== null ? { email: current.email } : {}),
  };
}

const FIELDS: readonly Exclude<UserField, 'active' | 'email'>[] = ['userName', 'givenName', 'familyName', 'role', 'org', 'team'];

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
  const email = emailChange(current, target, applied);
  if (email) changes.push(email);
  return changes;
}

/**
 * `emails` is compared as "an address other than the userName, or none": a rename alone changes no
 * address of its own (the new userName goes to `emails` with it), and an account written before
 * this tool sent `mail` compares equal to one whose mail is its userName, so upgrading writes
 * nothing by itself. The change shows the addresses Docker holds before and after.
 */
function emailChange(current: CurrentState | null, target: UserAttributes, applied: AppliedState | null): Change | null {
  // A new account: its address is in the create's target; there is nothing to change from.
  if (current === null) return null;
  const before = current.email;
  const after = ownEmail(target.email, target.userName);
  if (same('email', before, after)) return null;
  const drift = applied !== null && !current.inferred.includes('email') && !same('email', before, ownEmail(applied.email, applied.userName));
  return { field: 'email', before: before ?? current.userName, after: after ?? target.userName, ...(drift ? { drift: true } : {}) };
}

function same(field: UserField, a: string | null, b: string | null): boolean {
  // Docker compares userNames (and so addresses) case-insensitively; a case-only difference is not worth a write.
  if (a === b) return true;
  if (field === 'userName' || field === 'org' || field === 'email') return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
  return (a ?? null) === (b ?? null);
}
