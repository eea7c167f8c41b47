/**
 * Docker SCIM JSON ↔ the project's model types (reference docker-scim.md §3, §5, §10). Nothing
 * past this file sees a wire object. Reading is lenient where SCIM allows variation (attribute and
 * key case, `resources` vs `Resources`) and strict where a guess could cause harm (a user with no
 * id or userName is a bad response, not a user to plan against).
 */
import type { DockerGroup, DockerUser, UserAttributes } from '../model/docker.ts';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const DOCKER_EXT = 'urn:ietf:params:scim:schemas:extension:docker:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Json = Record<string, unknown>;

/** A wire object that does not have the shape this client relies on. */
export class WireError extends Error {}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** SCIM attribute names and schema URNs are case-insensitive (RFC 7643 §2.1). */
function getCI(obj: Json, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export interface ListPage {
  readonly resources: readonly unknown[];
  readonly totalResults: number | null;
}

/** A ListResponse. Docker documents `resources` (lower case); RFC 7644 says `Resources`; both are read. */
export function readList(body: unknown): ListPage {
  if (!isObject(body)) throw new WireError('the list response is not a JSON object');
  const total = getCI(body, 'totalResults');
  const totalResults = typeof total === 'number' && Number.isFinite(total) ? total : null;
  const resources = getCI(body, 'resources');
  if (resources === undefined || resources === null) {
    // RFC 7644 lets a server leave the key out of an empty result.
    if (totalResults === 0) return { resources: [], totalResults };
    throw new WireError('the list response has no "resources" array');
  }
  if (!Array.isArray(resources)) throw new WireError('"resources" is not an array');
  return { resources, totalResults };
}

export function readUser(v: unknown): DockerUser {
  if (!isObject(v)) throw new WireError('a user is not a JSON object');
  const id = getCI(v, 'id');
  const userName = getCI(v, 'userName');
  if (typeof id !== 'string' || id === '') throw new WireError('a user has no "id"');
  if (typeof userName !== 'string' || userName === '') throw new WireError(`user ${id} has no "userName"`);
  const name = getCI(v, 'name');
  const nameObj = isObject(name) ? name : {};
  const activeRaw = getCI(v, 'active');
  const enabledRaw = getCI(v, 'enabled');
  // Docker's User resource always carries `active`; the OpenAPI's PUT speaks of `enabled`. With
  // neither, the user is read as active: the planner then never "reactivates" on a guess, and
  // deactivation is decided by the IdP, not by this reading.
  const active = typeof activeRaw === 'boolean' ? activeRaw : typeof enabledRaw === 'boolean' ? enabledRaw : true;
  const displayName = stringOrNull(getCI(v, 'displayName'));
  const ext = getCI(v, DOCKER_EXT);
  const base = {
    id,
    userName,
    givenName: stringOrNull(getCI(nameObj, 'givenName')),
    familyName: stringOrNull(getCI(nameObj, 'familyName')),
    active,
    displayName,
  };
  // Whether Docker echoes the extension on reads is a gap (reference §3.1). No extension object at
  // all → role/org/team stay undefined, so the planner falls back to what it last applied rather
  // than read "no team" as a change. Within an echoed extension, a missing dockerRole or dockerOrg
  // is likewise unknown (this tool always sends both), while a missing dockerTeam means "no team":
  // the tool leaves it out exactly when a user has none.
  if (!isObject(ext)) return base;
  const known = (key: string) => {
    const raw = getCI(ext, key);
    return raw === undefined ? undefined : stringOrNull(raw);
  };
  const role = known('dockerRole');
  const org = known('dockerOrg');
  return {
    ...base,
    ...(role !== undefined ? { role } : {}),
    ...(org !== undefined ? { org } : {}),
    team: stringOrNull(getCI(ext, 'dockerTeam')),
  };
}

export interface ReadGroup {
  readonly group: DockerGroup;
  /** False when the response left `members` out (some SCIM servers do in lists): fetch the group to know. */
  readonly hasMembers: boolean;
}

export function readGroup(v: unknown): ReadGroup {
  if (!isObject(v)) throw new WireError('a group is not a JSON object');
  const id = getCI(v, 'id');
  const displayName = getCI(v, 'displayName');
  if (typeof id !== 'string' || id === '') throw new WireError('a group has no "id"');
  if (typeof displayName !== 'string') throw new WireError(`group ${id} has no "displayName"`);
  const raw = getCI(v, 'members');
  if (raw === undefined || raw === null) return { group: { id, displayName, members: [] }, hasMembers: false };
  if (!Array.isArray(raw)) throw new WireError(`group ${displayName}: "members" is not an array`);
  const members: string[] = [];
  for (const m of raw) {
    const value = isObject(m) ? getCI(m, 'value') : undefined;
    if (typeof value !== 'string') throw new WireError(`group ${displayName}: a member has no "value"`);
    members.push(value);
  }
  return { group: { id, displayName, members }, hasMembers: true };
}

/**
 * The body of POST and PUT /Users: always the whole set of attributes this tool manages. `active`
 * is always explicit because Docker deactivates a user on a PUT without it (Hub API spec);
 * `enabled`, the OpenAPI's name for it, is never sent until a real tenant shows it is needed.
 */
export function userBody(attrs: UserAttributes): Json {
  const name: Json = {};
  // Docker never clears a name ("we will only ever change the name"), so an unknown part is left
  // out rather than sent as null, which a strict server could read as "clear it".
  if (attrs.givenName !== null) name.givenName = attrs.givenName;
  if (attrs.familyName !== null) name.familyName = attrs.familyName;
  const ext: Json = { dockerRole: attrs.role, dockerOrg: attrs.org };
  // No dockerTeam with a dockerOrg means "that org, no team" in Docker's rules (reference §6).
  if (attrs.team !== null) ext.dockerTeam = attrs.team;
  return {
    schemas: [CORE_USER, DOCKER_EXT],
    userName: attrs.userName,
    name,
    emails: [{ value: attrs.userName, primary: true }],
    active: attrs.active,
    [DOCKER_EXT]: ext,
  };
}

export function groupBody(displayName: string): Json {
  return { schemas: [CORE_GROUP], displayName, members: [] };
}

/** RFC 7644 §3.5.2 PATCH adding or removing members, by user id. */
export function membersPatch(op: 'add' | 'remove', userIds: readonly string[]): Json {
  return {
    schemas: [PATCH_OP],
    Operations: [{ op, path: 'members', value: userIds.map((id) => ({ value: id })) }],
  };
}
