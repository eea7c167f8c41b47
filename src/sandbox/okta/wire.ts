import { createHash } from 'node:crypto';
import type { AttrValue, DirectoryGroup, DirectoryUser } from '../directory.ts';

/**
 * Okta's JSON for the objects the Docker sync reads, built from the IdP-neutral Directory
 * (reference/okta.md §1.1–§1.3). Only the emulator uses these; the product parses the wire itself.
 *
 * Ids: the Directory's ids are used as Okta ids verbatim (real ones look like `00u…`/`00g…`). The
 * product treats them as opaque, and keeping them equal lets one Directory back both emulators
 * and lets tests look a user up by the idpId the reader returns.
 */

/** Fixed timestamps: the Directory keeps no history, and stable output keeps tests deterministic. */
const CREATED = '2024-01-31T18:25:01.000Z';
const UPDATED = '2024-01-31T18:25:03.000Z';

type Json = Record<string, unknown>;

const DOCKER_ATTRIBUTES = ['dockerRole', 'dockerOrg', 'dockerTeam'] as const;

/** The docker* app-profile attributes exactly as stored: string, array or null, absent when unset. */
function dockerProfile(u: DirectoryUser): Json {
  const out: Json = {};
  for (const name of DOCKER_ATTRIBUTES) {
    const v: AttrValue | undefined = u.attributes[name];
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

/** An Okta user (`/users/{id}`, `/groups/{id}/users`, `_embedded.user`). */
export function userJson(base: string, u: DirectoryUser): Json {
  return {
    id: u.id,
    // A disabled Directory user is a deactivated Okta user; Okta calls that DEPROVISIONED.
    status: u.enabled ? 'ACTIVE' : 'DEPROVISIONED',
    created: CREATED,
    activated: CREATED,
    statusChanged: UPDATED,
    lastLogin: null,
    lastUpdated: UPDATED,
    passwordChanged: null,
    type: { id: 'oty1docker0sandbox0' },
    profile: {
      firstName: u.givenName,
      lastName: u.familyName,
      login: u.email,
      email: u.email,
    },
    credentials: { password: {}, provider: { type: 'OKTA', name: 'OKTA' } },
    _links: { self: { href: `${base}/api/v1/users/${encodeURIComponent(u.id)}` } },
  };
}

export interface AppUserContext {
  base: string;
  appId: string;
  /** The assigned group through which a GROUP-scoped user holds the app (for `_links.group`). */
  viaGroup: DirectoryGroup | null;
  expandUser: boolean;
}

/**
 * An AppUser (`/apps/{id}/users`). No `_links.self`, as on real Okta (§8.7), so the SDK never caches it.
 * A disabled user is still listed, as Okta lists a deactivated user's assignment: AppUser status
 * INACTIVE, embedded user status DEPROVISIONED.
 */
export function appUserJson(u: DirectoryUser, ctx: AppUserContext): Json {
  const scope = u.assigned ? 'USER' : 'GROUP';
  // Real Okta requires an app userName; the Directory can hold a user without an email (to test the
  // MISSING_EMAIL rule), so the fields are left out rather than invented.
  const credentials: Json = u.email === null ? {} : { userName: u.email };
  const links: Json = {
    app: { href: `${ctx.base}/api/v1/apps/${encodeURIComponent(ctx.appId)}` },
    user: { href: `${ctx.base}/api/v1/users/${encodeURIComponent(u.id)}` },
  };
  // Inferred (okta.md §1.1): `_links.group` only when the assignment comes through a group.
  if (scope === 'GROUP' && ctx.viaGroup) links.group = { href: `${ctx.base}/api/v1/groups/${encodeURIComponent(ctx.viaGroup.id)}` };
  const out: Json = {
    id: u.id,
    created: CREATED,
    lastUpdated: UPDATED,
    scope,
    status: u.enabled ? 'PROVISIONED' : 'INACTIVE',
    statusChanged: UPDATED,
    passwordChanged: null,
    syncState: 'SYNCHRONIZED',
    lastSync: UPDATED,
    credentials,
    profile: {
      userName: u.email,
      email: u.email,
      givenName: u.givenName,
      familyName: u.familyName,
      ...dockerProfile(u),
    },
    _links: links,
  };
  if (ctx.expandUser) out._embedded = { user: userJson(ctx.base, u) };
  return out;
}

/** An Okta group (`_embedded.group`, `/groups/{id}`). */
export function groupJson(base: string, g: DirectoryGroup): Json {
  const self = `${base}/api/v1/groups/${encodeURIComponent(g.id)}`;
  return {
    id: g.id,
    created: CREATED,
    lastUpdated: UPDATED,
    lastMembershipUpdated: UPDATED,
    objectClass: ['okta:user_group'],
    type: 'OKTA_GROUP',
    profile: { name: g.name, description: '' },
    _links: { self: { href: self }, users: { href: `${self}/users` } },
  };
}

/** An ApplicationGroupAssignment (`/apps/{id}/groups`); `_embedded.group` only with `expand=group`. */
export function groupAssignmentJson(base: string, appId: string, g: DirectoryGroup, priority: number, expandGroup: boolean): Json {
  const app = `${base}/api/v1/apps/${encodeURIComponent(appId)}`;
  const out: Json = {
    id: g.id,
    priority,
    lastUpdated: UPDATED,
    // The Directory keeps docker* values on users, not on group assignments.
    profile: {},
    _links: {
      app: { href: app },
      self: { href: `${app}/groups/${encodeURIComponent(g.id)}` },
      group: { href: `${base}/api/v1/groups/${encodeURIComponent(g.id)}` },
    },
  };
  if (expandGroup) out._embedded = { group: groupJson(base, g) };
  return out;
}

/** A stable Group Push mapping id (`gPm…`) for a group pushed to the app; opaque like Okta's. */
export function pushMappingId(appId: string, groupId: string): string {
  return `gPm${createHash('sha256').update(`${appId}/${groupId}`).digest('hex').slice(0, 17)}`;
}

/**
 * A Group Push mapping (`/apps/{id}/group-push/mappings`), as the SDK 8.1.0 `GroupPushMapping`
 * model has it: the Okta source group, the group it is pushed to in the app (an id made up here),
 * status, times, and `errorSummary` when the last push failed.
 */
export function pushMappingJson(base: string, appId: string, g: DirectoryGroup): Json {
  const app = `${base}/api/v1/apps/${encodeURIComponent(appId)}`;
  const id = pushMappingId(appId, g.id);
  const updated = g.pushUpdated === undefined ? UPDATED : new Date(g.pushUpdated).toISOString();
  return {
    id,
    sourceGroupId: g.id,
    targetGroupId: `0og${id.slice(3)}`,
    status: g.pushed,
    created: CREATED,
    lastUpdated: updated,
    lastPush: updated,
    ...(g.pushed === 'ERROR' ? { errorSummary: 'Failed to push the group to the app' } : {}),
    _links: {
      app: { href: app },
      sourceGroup: { href: `${base}/api/v1/groups/${encodeURIComponent(g.id)}` },
      self: { href: `${app}/group-push/mappings/${id}` },
    },
  };
}

/** The Docker app instance (`/apps/{id}`), just enough for a credentials probe. */
export function appJson(base: string, appId: string): Json {
  const self = `${base}/api/v1/apps/${encodeURIComponent(appId)}`;
  return {
    id: appId,
    name: 'dockerhub',
    label: 'Docker',
    status: 'ACTIVE',
    signOnMode: 'SAML_2_0',
    created: CREATED,
    lastUpdated: UPDATED,
    features: ['PUSH_NEW_USERS', 'PUSH_PROFILE_UPDATES', 'GROUP_PUSH'],
    _links: { self: { href: self }, users: { href: `${self}/users` }, groups: { href: `${self}/groups` } },
  };
}

/** Okta's error body (okta.md §4). */
export function errorJson(errorCode: string, errorSummary: string, errorId: string): Json {
  return { errorCode, errorSummary, errorLink: errorCode, errorId, errorCauses: [] };
}
