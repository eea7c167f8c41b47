import { isEmailAddress } from '../../model/docker.ts';
import type { IdpGroup, IdpUser, IllTypedValue, Provenance, SourceNote } from '../../model/idp.ts';
import { attributeList, illTypedValue } from '../attributes.ts';

/**
 * Graph JSON → the project's own types. Pure: no I/O, no clock. Inputs are typed by the few fields
 * read, as they arrive from Graph (v1.0, with the `$select` built here).
 */

/** Where a docker* attribute is read from. */
export type AttributeSource =
  | { kind: 'none' }
  | { kind: 'appRole' } // the value of the user's app role assignment(s) (appRoles[].value)
  | { kind: 'extension'; property: string } // a directory extension, full name e.g. extension_b7d8e3f0…_dockerTeam
  | { kind: 'extensionAttribute'; index: number }; // onPremisesExtensionAttributes.extensionAttribute<1..15>

export interface AttributeSources {
  readonly dockerRole: AttributeSource;
  readonly dockerOrg: AttributeSource;
  readonly dockerTeam: AttributeSource;
}

export type UserNameSource = 'userPrincipalName' | 'mail';

/** A user as `/users/{id}` or a member listing returns it with our `$select`. */
export interface UserWire {
  readonly id?: unknown;
  readonly '@odata.type'?: unknown;
  readonly userPrincipalName?: unknown;
  readonly mail?: unknown;
  readonly givenName?: unknown;
  readonly surname?: unknown;
  readonly accountEnabled?: unknown;
  readonly displayName?: unknown;
  readonly onPremisesExtensionAttributes?: unknown;
  readonly [extension: string]: unknown;
}

/** `appRoleAssignedTo` items. */
export interface AssignmentWire {
  readonly principalId?: unknown;
  readonly principalType?: unknown;
  readonly appRoleId?: unknown;
}

/** `appRoleId` of an assignment that grants the app without a role (resources/approleassignment). */
export const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';

const ATTRIBUTES = ['dockerRole', 'dockerOrg', 'dockerTeam'] as const;

/**
 * The user properties a read selects: exactly those used. v1.0 returns `accountEnabled`,
 * `onPremisesExtensionAttributes` and directory extensions only when `$select` names them
 * (gotcha 10), so a source that reads one puts it here.
 */
export function userSelect(attributes: AttributeSources): string[] {
  const out = ['id', 'userPrincipalName', 'mail', 'givenName', 'surname', 'accountEnabled'];
  for (const name of ATTRIBUTES) {
    const src = attributes[name];
    if (src.kind === 'extension' && !out.includes(src.property)) out.push(src.property);
    if (src.kind === 'extensionAttribute' && !out.includes('onPremisesExtensionAttributes')) out.push('onPremisesExtensionAttributes');
  }
  return out;
}

/**
 * For member listings: the user properties, plus `displayName`, which users and groups both have, so
 * a nested group can be named in a note. Graph fills in what applies to each member's type.
 */
export function memberSelect(attributes: AttributeSources): string[] {
  return [...userSelect(attributes), 'displayName'];
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Set, and not an empty string: null, missing and '' are how Graph says "no value". */
function present(v: unknown): boolean {
  return v !== null && v !== undefined && v !== '';
}

/**
 * Whether a user object carries what a read needs. A member listing made without User.Read.All
 * returns users as `id` and `@odata.type` with everything else null, and no error (gotcha 11);
 * trusting those nulls would read as "no email" and "disabled". Every Entra user has a UPN, and
 * `accountEnabled` whenever it was selected and readable. Presence only: a value of the wrong type
 * was read, and toIdpUser reports it (re-reading would only fetch it again).
 */
export function isFullyRead(u: UserWire): boolean {
  return present(u.userPrincipalName) && present(u.accountEnabled);
}

/** A value sent where Graph documents a string (or null): a number, a boolean, an object. */
function illTypedText(v: unknown): boolean {
  return v !== null && v !== undefined && typeof v !== 'string';
}

/**
 * The user's properties whose type is not the one Graph documents. None is coerced: a number is no
 * address or name, and `"true"` or `1` is no answer to "may this account sign in". The mapping holds
 * a user with any of these (neither changed nor deactivated) and names the value in the report.
 */
export function illTypedProperties(u: UserWire): IllTypedValue[] {
  const out: IllTypedValue[] = [];
  for (const field of ['userPrincipalName', 'mail', 'givenName', 'surname'] as const) {
    if (illTypedText(u[field])) out.push(illTypedValue(field, u[field], 'a string'));
  }
  // accountEnabled is always selected (userSelect), so anything but a boolean, null included, is
  // ill-typed; the reader never hands over a user without it (isFullyRead).
  if (typeof u.accountEnabled !== 'boolean') out.push(illTypedValue('accountEnabled', u.accountEnabled ?? null, 'a boolean'));
  return out;
}

export function isGuestUpn(upn: string): boolean {
  // Most UPNs hold no '#': no upper-cased copy of each of 100,000 of them.
  return upn.includes('#') && upn.toUpperCase().includes('#EXT#');
}

/**
 * The value meant to become Docker's userName, and why there is none when there is none.
 * - userPrincipalName (Docker's own Entra mapping): a guest's UPN (`alias_domain#EXT#@tenant`) is
 *   no address anyone receives mail at, so a guest falls back to `mail`.
 * - mail: the user's primary SMTP address; nothing else stands in for it.
 * No validation: an odd-looking value goes to the mapping rules, which report it.
 * A field of the wrong type (illTypedProperties) gives no userName and no fallback to the other
 * field: `why` is null then, since the ill-typed value is what the report names, and the user is
 * held on it.
 */
export function userNameOf(u: UserWire, source: UserNameSource): { userName: string | null; why: string | null } {
  const upn = str(u.userPrincipalName);
  const mail = str(u.mail);
  if (source === 'mail') {
    if (illTypedText(u.mail)) return { userName: null, why: null };
    return mail !== null ? { userName: mail, why: null } : { userName: null, why: 'has no mail address, which ENTRA_USERNAME_SOURCE=mail makes the Docker userName' };
  }
  if (illTypedText(u.userPrincipalName)) return { userName: null, why: null };
  if (upn !== null && !isGuestUpn(upn)) return { userName: upn, why: null };
  if (illTypedText(u.mail)) return { userName: null, why: null };
  if (mail !== null) return { userName: mail, why: null };
  if (upn === null) return { userName: null, why: 'has no userPrincipalName and no mail address' };
  return { userName: null, why: `is a guest: its userPrincipalName ${upn} is not an email address, and it has no mail address to use instead` };
}

/**
 * The address Docker's `emails` should hold, as Docker's Entra mapping sends it (`mail →
 * emails[type eq "work"].value`, docker-docs-2026.md row 23): `mail`, where it is set and differs
 * from the userName. Unlike the userName, a bad `mail` holds nobody: Docker still gets an address
 * (the userName), and `invalid` says why `mail` was not used, for a note.
 */
export function emailOf(u: UserWire, userName: string | null): { email: string | null; invalid: string | null } {
  const mail = str(u.mail)?.trim() ?? null;
  if (mail === null || userName === null || mail.toLowerCase() === userName.toLowerCase()) return { email: null, invalid: null };
  return isEmailAddress(mail) ? { email: mail, invalid: null } : { email: null, invalid: mail };
}

/**
 * The values of the app roles behind a user's assignments (direct, or through their assigned
 * groups). Default access contributes nothing; a role id the service principal no longer defines
 * contributes nothing either (the reader notes it). Several different values are all kept: the
 * mapping rules report the ambiguity.
 */
export function roleValues(roleIds: Iterable<string>, roles: ReadonlyMap<string, string>): string[] {
  const out = new Set<string>();
  for (const id of roleIds) {
    if (id.toLowerCase() === DEFAULT_ACCESS) continue;
    const value = roles.get(id.toLowerCase());
    if (value !== undefined && value !== '') out.add(value);
  }
  return [...out].sort();
}

/** Role ids as one comparable key, lower case, sorted, with commas between: the same set of roles is the same key, whatever the listing order. */
export function roleKey(roleIds: Iterable<string>): string {
  return [...new Set([...roleIds].map((r) => r.toLowerCase()))].sort().join(',');
}

export function attributeValues(u: UserWire, source: AttributeSource, appRoleValues: readonly string[], illTyped: IllTypedValue[]): string[] {
  switch (source.kind) {
    case 'none':
      return [];
    case 'appRole':
      return [...appRoleValues];
    case 'extension':
      return attributeList(u[source.property], source.property, illTyped);
    case 'extensionAttribute': {
      const ext = u.onPremisesExtensionAttributes;
      if (ext === null || typeof ext !== 'object') return [];
      return attributeList((ext as Record<string, unknown>)[`extensionAttribute${source.index}`], `onPremisesExtensionAttributes.extensionAttribute${source.index}`, illTyped);
    }
  }
}

export interface UserContext {
  readonly userNameSource: UserNameSource;
  readonly attributes: AttributeSources;
  /** Values of the app roles the user holds, directly or through groups. */
  readonly appRoleValues: readonly string[];
  /** Names of the assigned groups the user is a member of. */
  readonly groups: readonly string[];
  /** Assigned directly (an assignment of principalType User). */
  readonly direct: boolean;
  /** Ids of the assigned groups the user is in (the same groups as `groups`), for Provenance; none when absent. */
  readonly viaGroups?: readonly string[];
}

/** One user → IdpUser, with a note for the admin when the user has no usable userName. */
export function toIdpUser(u: UserWire, ctx: UserContext): { user: IdpUser; note: SourceNote | null } {
  const { userName, why } = userNameOf(u, ctx.userNameSource);
  const { email, invalid } = emailOf(u, userName);
  const upn = str(u.userPrincipalName);
  const groups = ctx.groups.length === 0 ? [] : [...new Set(ctx.groups)].sort();
  const illTyped = illTypedProperties(u);
  const dockerRole = attributeValues(u, ctx.attributes.dockerRole, ctx.appRoleValues, illTyped);
  const dockerOrg = attributeValues(u, ctx.attributes.dockerOrg, ctx.appRoleValues, illTyped);
  const dockerTeam = attributeValues(u, ctx.attributes.dockerTeam, ctx.appRoleValues, illTyped);
  const user: IdpUser = {
    idpId: String(u.id),
    userName,
    givenName: str(u.givenName),
    familyName: str(u.surname),
    // Blocked from sign-in in Entra is inactive in Docker; enabled again reactivates (§7). Anything
    // but a boolean is not read as either: it is in illTyped, and `active: true` makes the mapping
    // hold the user. Read as false, a `"true"` would deactivate everyone it came with.
    active: typeof u.accountEnabled === 'boolean' ? u.accountEnabled : true,
    dockerRole,
    dockerOrg,
    dockerTeam,
    groups,
    note: noteOf(ctx.direct, groups, u, why),
    provenance: provenanceOf(ctx, u.accountEnabled),
    ...(email !== null ? { email } : {}),
    ...(illTyped.length > 0 ? { illTyped } : {}),
  };
  const note: SourceNote | null = why
    ? { code: 'ENTRA_USER_WITHOUT_EMAIL', subject: upn ?? String(u.id), message: `Entra user ${upn ?? String(u.id)} ${why}, so it has no Docker userName and is not synced; give it a mail address in Entra.` }
    : invalid !== null
      ? { code: 'ENTRA_INVALID_MAIL', subject: userName ?? String(u.id), message: `Entra user ${userName ?? String(u.id)} has mail ${JSON.stringify(invalid.length > 60 ? `${invalid.slice(0, 60)}…` : invalid)}, which is not a valid email address; Docker's emails gets the userName instead. Fix mail in Entra.` }
      : null;
  return { user, note };
}

/** The setting that says where each attribute is read. */
const ENTRA_SOURCE_KEY = { dockerRole: 'ENTRA_ROLE_SOURCE', dockerOrg: 'ENTRA_ORG_SOURCE', dockerTeam: 'ENTRA_TEAM_SOURCE' } as const;

/** Where an attribute is read, in Entra's terms, as Okta's origins are worded: the place, not the attribute again. */
export function attributeOrigin(name: 'dockerRole' | 'dockerOrg' | 'dockerTeam', source: AttributeSource): string {
  switch (source.kind) {
    case 'none':
      return `nowhere (${ENTRA_SOURCE_KEY[name]}=none)`;
    case 'appRole':
      return "the app role of the user's assignments to the Docker app (Entra app role value)";
    case 'extension':
      return `the directory extension ${source.property} (Entra user)`;
    case 'extensionAttribute':
      return `onPremisesExtensionAttributes.extensionAttribute${source.index} (Entra user)`;
  }
}

/** What decides `active` for an Entra user, in words. */
const ACTIVE_FROM = { enabled: 'accountEnabled is true (Entra user)', disabled: 'accountEnabled is false (Entra user): blocked from sign-in' } as const;

interface Shared {
  readonly attributes: Provenance['attributes'];
  /** What every directly assigned user outside any group has, enabled and not (most of a large read). */
  readonly direct: { readonly enabled: Provenance; readonly disabled: Provenance };
}

/** Per configuration: the origins, and the provenance most users share. */
const SHARED = new WeakMap<AttributeSources, Shared>();

function sharedOf(attributes: AttributeSources): Shared {
  let shared = SHARED.get(attributes);
  if (shared === undefined) {
    const origins = Object.freeze({
      dockerRole: attributeOrigin('dockerRole', attributes.dockerRole),
      dockerOrg: attributeOrigin('dockerOrg', attributes.dockerOrg),
      dockerTeam: attributeOrigin('dockerTeam', attributes.dockerTeam),
    });
    const none = Object.freeze([]) as readonly string[];
    shared = {
      attributes: origins,
      direct: {
        enabled: Object.freeze({ direct: true, viaGroups: none, attributes: origins, active: ACTIVE_FROM.enabled }),
        disabled: Object.freeze({ direct: true, viaGroups: none, attributes: origins, active: ACTIVE_FROM.disabled }),
      },
    };
    SHARED.set(attributes, shared);
  }
  return shared;
}

/**
 * The same for a full read and a read of a few users: group ids sorted, whatever order they were
 * met in. An ill-typed accountEnabled says nothing here (illTyped names it).
 */
export function provenanceOf(ctx: Pick<UserContext, 'attributes' | 'direct' | 'viaGroups'>, accountEnabled: unknown): Provenance {
  const shared = sharedOf(ctx.attributes);
  const ids = ctx.viaGroups ?? [];
  const enabled = accountEnabled === true ? 'enabled' : accountEnabled === false ? 'disabled' : null;
  if (ctx.direct && ids.length === 0 && enabled !== null) return shared.direct[enabled];
  const viaGroups = ids.length > 1 ? [...new Set(ids)].sort() : ids;
  return { direct: ctx.direct, viaGroups, attributes: shared.attributes, ...(enabled !== null ? { active: ACTIVE_FROM[enabled] } : {}) };
}

/** e.g. "entra: assigned directly and through acme:backend; account disabled". */
export function noteOf(direct: boolean, groups: readonly string[], u: UserWire, why: string | null): string {
  const via = groups.length > 0 ? `through ${groups.join(', ')}` : '';
  const parts = [`entra: assigned ${direct ? (via ? `directly and ${via}` : 'directly') : via || 'through a group'}`];
  const upn = str(u.userPrincipalName);
  if (upn !== null && isGuestUpn(upn)) parts.push('guest');
  if (u.accountEnabled === false) parts.push('account disabled');
  if (why) parts.push('no usable email');
  return parts.join('; ');
}

export function toIdpGroup(id: string, name: string, memberCount: number | null): IdpGroup {
  return { idpId: id, name, memberCount };
}

/** A member's best label for a note: name, then UPN, then id. */
export function memberLabel(m: UserWire): string {
  return str(m.displayName) ?? str(m.userPrincipalName) ?? String(m.id);
}
