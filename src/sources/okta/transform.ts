import type { IdpGroup, IdpUser, IllTypedValue } from '../../model/idp.ts';
import { attributeList } from '../attributes.ts';

/**
 * Okta wire objects → the project's own types. Pure: no I/O, no clock. The inputs are typed by
 * the few fields read, so the same code takes raw JSON and the SDK's deserialized models (which
 * keep these fields and every key inside `profile`; okta.md §1.1).
 */

/** An AppUser (`/apps/{id}/users`), with `_embedded.user` when listed with `expand=user`. */
export interface AppUserWire {
  readonly id?: unknown;
  readonly status?: unknown;
  readonly scope?: unknown;
  readonly credentials?: { readonly userName?: unknown } | null;
  readonly profile?: Readonly<Record<string, unknown>> | null;
  readonly _embedded?: { readonly user?: UserWire | null } | null;
}

/** An Okta user (`/groups/{id}/users`, `_embedded.user`). */
export interface UserWire {
  readonly id?: unknown;
  readonly status?: unknown;
  readonly profile?: Readonly<Record<string, unknown>> | null;
}

/** An ApplicationGroupAssignment with `_embedded.group` (`expand=group`). */
export interface GroupAssignmentWire {
  readonly id?: unknown;
  readonly _embedded?: { readonly group?: { readonly profile?: { readonly name?: unknown } | null } | null } | null;
}

/**
 * AppUser statuses that mean "no access": the assignment is switched off or being removed.
 * Everything else (PROVISIONED, ACTIVE, STAGED, PENDING, …) is an assignment that still stands.
 */
const INACTIVE_APP_USER_STATUSES = new Set(['INACTIVE', 'DEPROVISIONED', 'REVOKED', 'SUSPENDED', 'UNASSIGNED']);

/**
 * Only a deactivated Okta user (DEPROVISIONED) counts as inactive. A SUSPENDED user stays active:
 * Okta treats suspension as temporary (the user keeps their assignments and comes back on
 * unsuspend) and does not deprovision apps for it, so neither do we. LOCKED_OUT, PASSWORD_EXPIRED
 * and RECOVERY are sign-in states, not access decisions.
 */
const INACTIVE_USER_STATUSES = new Set(['DEPROVISIONED']);

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function record(v: unknown): Readonly<Record<string, unknown>> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}


/**
 * The value meant to become Docker's userName. Email first: Docker's Okta integration uses the
 * email as the unique identifier (userName) of a Docker account, and the app username format of
 * the Docker app is usually the email anyway. Then the app's own username, then the profile's.
 */
export function userNameOf(au: AppUserWire): string | null {
  const profile = record(au.profile);
  const userProfile = record(au._embedded?.user?.profile);
  return str(profile.email) ?? str(userProfile.email) ?? str(au.credentials?.userName) ?? str(profile.userName);
}

/** Base profile names depend on the app's schema (SCIM: givenName/familyName; SAML: firstName/lastName); read both, then the Okta user's. */
function nameOf(au: AppUserWire, appKeys: readonly string[], userKey: string): string | null {
  const profile = record(au.profile);
  for (const k of appKeys) {
    const v = str(profile[k]);
    if (v !== null) return v;
  }
  return str(record(au._embedded?.user?.profile)[userKey]);
}

export function isActive(appUserStatus: unknown, userStatus: unknown): boolean {
  if (typeof appUserStatus === 'string' && INACTIVE_APP_USER_STATUSES.has(appUserStatus)) return false;
  if (typeof userStatus === 'string' && INACTIVE_USER_STATUSES.has(userStatus)) return false;
  return true;
}

/** e.g. "okta app user PROVISIONED (GROUP)", with the Okta user's status when it is not ACTIVE. */
export function noteOf(au: AppUserWire): string {
  const status = str(au.status) ?? 'UNKNOWN';
  const scope = str(au.scope);
  const userStatus = str(au._embedded?.user?.status);
  return `okta app user ${status}${scope ? ` (${scope})` : ''}${userStatus && userStatus !== 'ACTIVE' ? `, okta user ${userStatus}` : ''}`;
}

/**
 * One AppUser → IdpUser. `groups` are the names of the read org:team groups the user is a direct
 * member of (the reader knows them; the AppUser does not). The caller has checked `id` is a string.
 */
export function toIdpUser(au: AppUserWire, groups: readonly string[]): IdpUser {
  const profile = record(au.profile);
  const illTyped: IllTypedValue[] = [];
  const dockerRole = attributeList(profile.dockerRole, 'profile.dockerRole', illTyped);
  const dockerOrg = attributeList(profile.dockerOrg, 'profile.dockerOrg', illTyped);
  const dockerTeam = attributeList(profile.dockerTeam, 'profile.dockerTeam', illTyped);
  return {
    // AppUser.id is the Okta user id (00u…), stable across email changes.
    idpId: String(au.id),
    userName: userNameOf(au),
    givenName: nameOf(au, ['givenName', 'firstName'], 'firstName'),
    familyName: nameOf(au, ['familyName', 'lastName'], 'lastName'),
    active: isActive(au.status, au._embedded?.user?.status),
    dockerRole,
    dockerOrg,
    dockerTeam,
    groups: [...new Set(groups)].sort(),
    note: noteOf(au),
    ...(illTyped.length > 0 ? { illTyped } : {}),
  };
}

/** The group's name from `_embedded.group.profile.name`; null when Okta did not embed it. */
export function groupNameOf(ga: GroupAssignmentWire): string | null {
  return str(ga._embedded?.group?.profile?.name);
}

/**
 * Groups named `org:team` carry Docker team membership; any other assigned group only grants
 * the app (e.g. "Docker Users"), so its members are not read. Whether the name is a *valid*
 * org:team is the mapping rules' call (MALFORMED_GROUP), not the reader's.
 */
export function isTeamGroupName(name: string): boolean {
  return name.includes(':');
}

export function toIdpGroup(id: string, name: string, memberCount: number | null): IdpGroup {
  return { idpId: id, name, memberCount };
}

/** A group member's best label for a note: login, then email, then id. */
export function userLabel(u: UserWire): string {
  const p = record(u.profile);
  return str(p.login) ?? str(p.email) ?? String(u.id);
}
