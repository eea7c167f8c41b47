import { createHash, randomUUID } from 'node:crypto';
import type { AttrValue, Directory, DirectoryGroup, DirectoryUser } from '../directory.ts';

/**
 * Microsoft Graph's JSON for the objects the Docker sync reads, built from the IdP-neutral Directory
 * (entra-graph.md §1.1–§1.3). Objects come back whole here (every property, null where unset);
 * select.ts cuts each response down to what the request asked for.
 *
 * Ids: the Directory's UUID-shaped ids are used as Entra object ids verbatim, so one Directory backs
 * both emulators and tests can look a user up by the idpId the reader returns.
 */

export type DockerAttribute = 'dockerRole' | 'dockerOrg' | 'dockerTeam';
export const DOCKER_ATTRIBUTES: readonly DockerAttribute[] = ['dockerRole', 'dockerOrg', 'dockerTeam'];

/**
 * Where a directory attribute shows in Graph: the value of the user's app role assignment, a
 * directory extension on the user, `onPremisesExtensionAttributes.extensionAttributeN`, or nowhere.
 */
export type AttributeLocation = 'none' | 'appRole' | 'extension' | { extensionAttribute: number };

/** `appRoleId` of an assignment with no role ("default access"; resources/approleassignment). */
export const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';

/** The tenant's initial domain, for guest UPNs the emulator has to invent. */
export const TENANT_DOMAIN = 'sandbox.onmicrosoft.com';

/** Fixed timestamps: the Directory keeps no history, and stable output keeps tests deterministic. */
const CREATED = '2024-01-31T18:25:01Z';

export type Json = Record<string, unknown>;

export interface GraphView {
  readonly appId: string;
  readonly servicePrincipalId: string;
  readonly locations: Readonly<Record<DockerAttribute, AttributeLocation>>;
  /** Full name of the directory extension holding an attribute, e.g. extension_<appId>_dockerTeam. */
  extensionName(attr: DockerAttribute): string;
}

/** The values of a directory attribute as a list (null, absent and '' contribute nothing). */
export function values(v: AttrValue | undefined): string[] {
  if (v === null || v === undefined) return [];
  return (typeof v === 'string' ? [v] : [...v]).filter((x) => x !== '');
}

/** A stable GUID for an app role value, so the same role keeps its id across runs and restarts. */
export function roleId(value: string): string {
  const h = createHash('sha256').update(`docker-app-role:${value}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Every app role value the service principal defines: Docker's three always, plus any other value a
 * user (when roles live in app roles) or a group assignment carries, so a bad value such as
 * "superuser" reaches the reader as a real role value for the mapping rules to judge.
 */
export function appRoleValues(dir: Directory, view: GraphView): string[] {
  const out = new Set(['member', 'editor', 'owner']);
  if (view.locations.dockerRole === 'appRole') for (const u of dir.users.values()) for (const v of values(u.attributes.dockerRole)) out.add(v);
  for (const g of dir.groups.values()) if (g.appRole) out.add(g.appRole);
  return [...out];
}

export function servicePrincipalJson(dir: Directory, view: GraphView): Json {
  return {
    id: view.servicePrincipalId,
    accountEnabled: true,
    appDisplayName: 'Docker',
    appId: view.appId,
    appRoleAssignmentRequired: true,
    displayName: 'Docker',
    servicePrincipalType: 'Application',
    appRoles: appRoleValues(dir, view).map((value) => ({
      allowedMemberTypes: ['User'],
      description: `Docker ${value}`,
      displayName: value,
      id: roleId(value),
      isEnabled: true,
      origin: 'Application',
      value,
    })),
  };
}

function assignmentId(principalId: string, appRoleId: string): string {
  // Real ids are opaque 43-character base64url strings (§1.1); this one is stable per pair.
  return createHash('sha256').update(`${principalId}/${appRoleId}`).digest('base64url').slice(0, 43);
}

function assignment(view: GraphView, principalId: string, principalType: 'User' | 'Group', displayName: string, appRoleId: string): Json {
  return {
    id: assignmentId(principalId, appRoleId),
    deletedDateTime: null,
    appRoleId,
    createdDateTime: CREATED,
    principalDisplayName: displayName,
    principalId,
    principalType,
    resourceDisplayName: 'Docker',
    resourceId: view.servicePrincipalId,
  };
}

/**
 * `appRoleAssignedTo` of the Docker service principal: one User assignment per directly assigned
 * user (one per role value when roles live in app roles and the user has some, else default
 * access), and one Group assignment per assigned group (its app role, else default access).
 *
 * A user assigned only through a group keeps no role of their own here: in Entra a role exists only
 * on an assignment, so their role comes from the group's. Directly assigned users come first, then
 * groups, each by id.
 */
export function assignmentsJson(dir: Directory, view: GraphView): Json[] {
  const out: Json[] = [];
  const users = [...dir.users.values()].filter((u) => u.assigned).sort(byId);
  for (const u of users) {
    const roles = view.locations.dockerRole === 'appRole' ? [...new Set(values(u.attributes.dockerRole))] : [];
    const ids = roles.length > 0 ? roles.map(roleId) : [DEFAULT_ACCESS];
    for (const id of ids) out.push(assignment(view, u.id, 'User', displayNameOf(u), id));
  }
  for (const g of dir.assignedGroups().sort(byId)) out.push(assignment(view, g.id, 'Group', g.name, g.appRole ? roleId(g.appRole) : DEFAULT_ACCESS));
  return out;
}

export function userPrincipalNameOf(u: DirectoryUser): string {
  if (u.entra?.userPrincipalName) return u.entra.userPrincipalName;
  if (u.email) return u.email;
  // Every Entra user has a UPN. A directory user without an email is shown as what it would be in
  // Entra: a guest whose UPN (alias#EXT#@tenant) is no email and who has no mail either, so the
  // reader gives it no userName, as the Okta emulator does for a user without an email.
  return `${u.id.slice(-12)}_missing#EXT#@${TENANT_DOMAIN}`;
}

export function mailOf(u: DirectoryUser): string | null {
  if (u.entra && 'mail' in u.entra) return u.entra.mail ?? null;
  return u.email;
}

function displayNameOf(u: DirectoryUser): string {
  const name = [u.givenName, u.familyName].filter((x): x is string => !!x).join(' ');
  return name || (u.email ?? userPrincipalNameOf(u));
}

/** A user with every property the emulator knows and every extension that holds a value. */
export function userJson(u: DirectoryUser, view: GraphView): Json {
  const upn = userPrincipalNameOf(u);
  const ext: Record<string, string | null> = {};
  for (let i = 1; i <= 15; i++) ext[`extensionAttribute${i}`] = null;
  const out: Json = {
    id: u.id,
    accountEnabled: u.enabled,
    businessPhones: [],
    displayName: displayNameOf(u),
    givenName: u.givenName,
    jobTitle: null,
    mail: mailOf(u),
    mobilePhone: null,
    officeLocation: null,
    onPremisesExtensionAttributes: ext,
    otherMails: [],
    preferredLanguage: null,
    surname: u.familyName,
    userPrincipalName: upn,
    userType: upn.includes('#EXT#') ? 'Guest' : 'Member',
  };
  for (const attr of DOCKER_ATTRIBUTES) {
    const loc = view.locations[attr];
    const raw = u.attributes[attr];
    if (raw === undefined || raw === null) continue;
    if (loc === 'extension') {
      // A multi-valued extension comes back as an array, a single-valued one as a string (§1.2).
      if (typeof raw === 'string' || raw.length > 0) out[view.extensionName(attr)] = typeof raw === 'string' ? raw : [...raw];
    } else if (typeof loc === 'object') {
      // extensionAttribute1..15 are single strings; a list keeps its first value.
      ext[`extensionAttribute${loc.extensionAttribute}`] = typeof raw === 'string' ? raw : (raw[0] ?? null);
    }
  }
  return out;
}

export function groupJson(g: DirectoryGroup): Json {
  return {
    id: g.id,
    description: null,
    displayName: g.name,
    groupTypes: [],
    mail: null,
    mailEnabled: false,
    mailNickname: g.name.replace(/[^A-Za-z0-9]/g, '') || 'group',
    securityEnabled: true,
  };
}

/** Graph's error body (§4). `innerError` is spelled so: the SDK reads only that spelling. */
export function graphErrorBody(code: string, message: string, requestId: string = randomUUID(), clientRequestId: string = requestId): Json {
  return {
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString().replace(/\.\d{3}Z$/, ''), 'request-id': requestId, 'client-request-id': clientRequestId },
    },
  };
}

function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
