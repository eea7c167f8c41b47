import type { OktaGroupRule } from '../../config/types.ts';
import type { IdpGroup, IdpUser, IllTypedValue, Provenance, TeamGroupVia } from '../../model/idp.ts';
import { attributeList, illTypedValue } from '../attributes.ts';

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
  readonly _links?: { readonly group?: { readonly href?: unknown } | null } | null;
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

/** Okta leaves a field out, or sends null or "", when it has no value. */
function absent(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/**
 * The first of `candidates` that holds a value, when that value is a string. One of another type
 * (a number, an object) is reported and ends the search with null: the next candidate may well be
 * a different person's address or name, so it is not taken in its place, and the report holds the
 * user until Okta sends what the field can hold.
 */
function firstString(candidates: ReadonlyArray<readonly [field: string, value: unknown]>, illTyped: IllTypedValue[]): string | null {
  for (const [field, v] of candidates) {
    if (absent(v)) continue;
    if (typeof v === 'string') return v;
    illTyped.push(illTypedValue(field, v, 'a string'));
    return null;
  }
  return null;
}

/**
 * The value meant to become Docker's userName. Email first: Docker's Okta integration uses the
 * email as the unique identifier (userName) of a Docker account, and the app username format of
 * the Docker app is usually the email anyway. Then the app's own username, then the profile's.
 * A candidate of the wrong type gives null (reported in `illTyped`), not the next candidate.
 */
export function userNameOf(au: AppUserWire, illTyped: IllTypedValue[] = []): string | null {
  const profile = record(au.profile);
  const userProfile = record(au._embedded?.user?.profile);
  return firstString(
    [
      ['profile.email', profile.email],
      ['_embedded.user.profile.email', userProfile.email],
      ['credentials.userName', record(au.credentials).userName],
      ['profile.userName', profile.userName],
    ],
    illTyped,
  );
}

/** Base profile names depend on the app's schema (SCIM: givenName/familyName; SAML: firstName/lastName); read both, then the Okta user's. */
function nameOf(au: AppUserWire, appKeys: readonly string[], userKey: string, illTyped: IllTypedValue[]): string | null {
  const profile = record(au.profile);
  const userProfile = record(au._embedded?.user?.profile);
  return firstString([...appKeys.map((k) => [`profile.${k}`, profile[k]] as const), [`_embedded.user.profile.${userKey}`, userProfile[userKey]]], illTyped);
}

/**
 * Whether Okta says the user keeps access. A status that is not a string (a number, an object)
 * says nothing: it is reported in `illTyped` and the answer is `true`, whatever the other status
 * says, because an ill-typed user is held by the mapping only while active; an inactive one would
 * be deactivated in Docker on the strength of a record that is known to be broken.
 */
export function isActive(appUserStatus: unknown, userStatus: unknown, illTyped: IllTypedValue[] = []): boolean {
  const before = illTyped.length;
  for (const [field, v] of [['status', appUserStatus], ['_embedded.user.status', userStatus]] as const) {
    if (v !== undefined && v !== null && typeof v !== 'string') illTyped.push(illTypedValue(field, v, 'a string'));
  }
  if (illTyped.length > before) return true;
  if (typeof appUserStatus === 'string' && INACTIVE_APP_USER_STATUSES.has(appUserStatus)) return false;
  if (typeof userStatus === 'string' && INACTIVE_USER_STATUSES.has(userStatus)) return false;
  return true;
}

/** A profile that is there but not an object: every value in it is lost, so that is reported, not read as empty. */
function checkObject(v: unknown, field: string, illTyped: IllTypedValue[]): void {
  if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) illTyped.push(illTypedValue(field, v, 'an object'));
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
  checkObject(au.profile, 'profile', illTyped);
  checkObject(au._embedded?.user?.profile, '_embedded.user.profile', illTyped);
  const dockerRole = attributeList(profile.dockerRole, 'profile.dockerRole', illTyped);
  const dockerOrg = attributeList(profile.dockerOrg, 'profile.dockerOrg', illTyped);
  const dockerTeam = attributeList(profile.dockerTeam, 'profile.dockerTeam', illTyped);
  return {
    // AppUser.id is the Okta user id (00u…), stable across email changes.
    idpId: String(au.id),
    userName: userNameOf(au, illTyped),
    givenName: nameOf(au, ['givenName', 'firstName'], 'firstName', illTyped),
    familyName: nameOf(au, ['familyName', 'lastName'], 'lastName', illTyped),
    active: isActive(au.status, au._embedded?.user?.status, illTyped),
    dockerRole,
    dockerOrg,
    dockerTeam,
    groups: [...new Set(groups)].sort(),
    note: noteOf(au),
    ...withProvenance(provenanceOf(au)),
    ...(illTyped.length > 0 ? { illTyped } : {}),
  };
}

/** Where an Okta app user's docker* values live: the Docker app's user profile (README "Set up Okta" step 2). */
const ATTRIBUTE_ORIGINS: Provenance['attributes'] = Object.freeze({
  dockerRole: 'profile.dockerRole (Okta app user profile)',
  dockerOrg: 'profile.dockerOrg (Okta app user profile)',
  dockerTeam: 'profile.dockerTeam (Okta app user profile)',
});

/** Shared by every directly assigned user: most of a large read. */
const DIRECT: Provenance = Object.freeze({ direct: true, viaGroups: Object.freeze([]) as readonly string[], attributes: ATTRIBUTE_ORIGINS });

/**
 * scope USER is a direct assignment; GROUP one through a group, which `_links.group` names (okta.md
 * §1.1; it names one group, the assignment whose profile applies, even when several give the app).
 */
export function provenanceOf(au: AppUserWire): Provenance | undefined {
  if (au.scope === 'USER') return DIRECT;
  if (au.scope !== 'GROUP') return undefined;
  const href = str(au._links?.group?.href);
  let id = href ? href.slice(href.lastIndexOf('/') + 1) : '';
  try {
    id = decodeURIComponent(id);
  } catch {
    // Not percent-encoded after all: the id as it stands.
  }
  return { direct: false, viaGroups: id ? [id] : [], attributes: ATTRIBUTE_ORIGINS };
}

function withProvenance(p: Provenance | undefined): { provenance?: Provenance } {
  return p ? { provenance: p } : {};
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

export function toIdpGroup(id: string, name: string, memberCount: number | null, via?: readonly TeamGroupVia[]): IdpGroup {
  return { idpId: id, name, memberCount, ...(via ? { via } : {}) };
}

/** An Okta group (`/api/v1/groups`, `/api/v1/groups/{id}`). */
export interface GroupWire {
  readonly id?: unknown;
  readonly profile?: { readonly name?: unknown } | null;
}

/** The group's name from `profile.name`; null when it is missing or not a string. */
export function groupProfileName(g: GroupWire): string | null {
  return str(g.profile?.name);
}

/** A Group Push mapping of the app (`/api/v1/apps/{appId}/group-push/mappings`). */
export interface PushMappingWire {
  readonly id?: unknown;
  readonly sourceGroupId?: unknown;
  readonly status?: unknown;
}

/** OKTA_GROUP_RULE: Okta's Push Groups rule, "starts with" or "contains" a text in the group's name. */
export type TeamGroupRule = OktaGroupRule;

/** One value as an Okta search string literal: a quote or backslash cannot end it and add a clause of its own. */
export function searchString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\u0000-\u001f\u007f]/g, '')}"`;
}

/**
 * The `search` expression for `/api/v1/groups` that finds the groups a rule selects. Okta supports
 * `sw` and, on `profile.name` only among a few, `co`. The config refuses quotes, backslashes and
 * control characters in the rule; they are escaped here all the same, so a value that slipped
 * through can never end the string and add a clause of its own.
 */
export function ruleSearch(rule: TeamGroupRule): string {
  return `profile.name ${rule.op === 'startsWith' ? 'sw' : 'co'} ${searchString(rule.value)}`;
}

/**
 * Whether a group's name matches the rule, case-insensitively as Okta's rule does. The reader
 * applies it to what the search returned as well: a search that answered more than it was asked
 * (an eventually consistent index, a proxy) must not make a group a team.
 */
export function matchesRule(name: string, rule: TeamGroupRule): boolean {
  const n = name.toLowerCase();
  const v = rule.value.toLowerCase();
  return rule.op === 'startsWith' ? n.startsWith(v) : n.includes(v);
}

/** A group member's best label for a note: login, then email, then id. */
export function userLabel(u: UserWire): string {
  const p = record(u.profile);
  return str(p.login) ?? str(p.email) ?? String(u.id);
}
