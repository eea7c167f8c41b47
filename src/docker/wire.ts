/**
 * Docker SCIM JSON ↔ the project's model types (reference docker-scim.md §3, §5, §10). Nothing
 * past this file sees a wire object. Reading is lenient where SCIM allows variation (attribute and
 * key case, `resources` vs `Resources`) and strict where a guess could cause harm (a user with no
 * id or userName is a bad response, not a user to plan against). A value of the wrong type (the
 * string "false" for `active`, a number for `dockerOrg`, an object where a list belongs) is never
 * coerced: it is an error naming the record, the field and the value, so the run stops before
 * planning, because Docker's own state cannot be guessed at. Absent and null are the same
 * (RFC 7643 §2.5: unassigned) and keep their documented defaults.
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

/** The value as the admin would see it in the answer, cut short. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function illTyped(record: string, field: string, v: unknown, expected: string): WireError {
  return new WireError(`${record}: "${field}" is ${shown(v)} (${typeName(v)}), expected ${expected}`);
}

/** A string, or null when the attribute is absent or null; any other type is an error. */
function optString(obj: Json, key: string, record: string, field = key): string | null {
  const v = getCI(obj, key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw illTyped(record, field, v, 'a string');
  return v;
}

/** A non-empty string; anything else is an error. */
function requiredString(obj: Json, key: string, record: string): string {
  const v = getCI(obj, key);
  if (typeof v !== 'string' || v === '') throw v === undefined || v === null || v === '' ? new WireError(`${record} has no "${key}"`) : illTyped(record, key, v, 'a string');
  return v;
}

/** A boolean, or undefined when absent or null. */
function optBoolean(obj: Json, key: string, record: string): boolean | undefined {
  const v = getCI(obj, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw illTyped(record, key, v, 'true or false');
  return v;
}

/** An object, or null when absent or null. */
function optObject(obj: Json, key: string, record: string): Json | null {
  const v = getCI(obj, key);
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw illTyped(record, key, v, 'an object');
  return v;
}

/** A list, or null when absent or null. */
function optList(obj: Json, key: string, record: string): unknown[] | null {
  const v = getCI(obj, key);
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw illTyped(record, key, v, 'a list');
  return v;
}

export interface ListPage {
  readonly resources: readonly unknown[];
  readonly totalResults: number | null;
}

/** A ListResponse. Docker documents `resources` (lower case); RFC 7644 says `Resources`; both are read. */
export function readList(body: unknown): ListPage {
  if (!isObject(body)) throw new WireError('the list response is not a JSON object');
  const total = getCI(body, 'totalResults');
  if (total !== undefined && total !== null && !(typeof total === 'number' && Number.isInteger(total) && total >= 0)) {
    throw illTyped('the list response', 'totalResults', total, 'a whole number');
  }
  const totalResults = typeof total === 'number' ? total : null;
  const resources = optList(body, 'resources', 'the list response');
  if (resources === null) {
    // RFC 7644 lets a server leave the key out of an empty result.
    if (totalResults === 0) return { resources: [], totalResults };
    throw new WireError('the list response has no "resources" array');
  }
  return { resources, totalResults };
}

export function readUser(v: unknown): DockerUser {
  if (!isObject(v)) throw new WireError('a user is not a JSON object');
  const id = requiredString(v, 'id', 'a user');
  const record = `user ${shown(id)}`;
  const userName = requiredString(v, 'userName', record);
  const nameObj = optObject(v, 'name', record) ?? {};
  const email = primaryEmail(optList(v, 'emails', record), record);
  // Not read, but a list that arrives as something else says the record is not what it seems.
  optList(v, 'groups', record);
  // Docker's User resource always carries `active`; the OpenAPI's PUT speaks of `enabled`. With
  // neither, the user is read as active: the planner then never "reactivates" on a guess, and
  // deactivation is decided by the IdP, not by this reading.
  const active = optBoolean(v, 'active', record) ?? optBoolean(v, 'enabled', record) ?? true;
  const base = {
    id,
    userName,
    givenName: optString(nameObj, 'givenName', record, 'name.givenName'),
    familyName: optString(nameObj, 'familyName', record, 'name.familyName'),
    active,
    displayName: optString(v, 'displayName', record),
    ...(email !== undefined ? { email } : {}),
  };
  // Whether Docker echoes the extension on reads is a gap (reference §3.1). No extension object at
  // all → role/org/team stay undefined, so the planner falls back to what it last applied rather
  // than read "no team" as a change. Within an echoed extension, a missing dockerRole or dockerOrg
  // is likewise unknown (this tool always sends both), while a missing dockerTeam means "no team":
  // the tool leaves it out exactly when a user has none.
  const ext = optObject(v, DOCKER_EXT, record);
  if (ext === null) return base;
  const field = (key: string) => `${DOCKER_EXT}.${key}`;
  const known = (key: string) => (getCI(ext, key) === undefined ? undefined : optString(ext, key, record, field(key)));
  const role = known('dockerRole');
  const org = known('dockerOrg');
  return {
    ...base,
    ...(role !== undefined ? { role } : {}),
    ...(org !== undefined ? { org } : {}),
    team: optString(ext, 'dockerTeam', record, field('dockerTeam')),
  };
}

/**
 * The address `emails` holds: the primary one, else the only one. undefined when Docker sends none
 * (the planner then goes by what it last applied) or several without a primary, which cannot be
 * read as one address; a value that is not a string is an error, as everywhere here.
 */
function primaryEmail(emails: unknown[] | null, record: string): string | undefined {
  if (emails === null || emails.length === 0) return undefined;
  const values: Array<{ value: string; primary: boolean }> = [];
  for (const e of emails) {
    if (!isObject(e)) throw illTyped(record, 'emails[]', e, 'an object with a "value"');
    const value = optString(e, 'value', record, 'emails[].value');
    if (value === null || value === '') continue;
    values.push({ value, primary: optBoolean(e, 'primary', record) === true });
  }
  const primary = values.find((e) => e.primary);
  if (primary) return primary.value;
  return values.length === 1 ? (values[0] as { value: string }).value : undefined;
}

export interface ReadGroup {
  readonly group: DockerGroup;
  /** False when the response left `members` out (some SCIM servers do in lists): fetch the group to know. */
  readonly hasMembers: boolean;
}

export function readGroup(v: unknown): ReadGroup {
  if (!isObject(v)) throw new WireError('a group is not a JSON object');
  const id = requiredString(v, 'id', 'a group');
  const record = `group ${shown(id)}`;
  const displayName = getCI(v, 'displayName');
  if (typeof displayName !== 'string') throw displayName === undefined || displayName === null ? new WireError(`${record} has no "displayName"`) : illTyped(record, 'displayName', displayName, 'a string');
  const raw = optList(v, 'members', record);
  if (raw === null) return { group: { id, displayName, members: [] }, hasMembers: false };
  const members: string[] = [];
  for (const m of raw) {
    if (!isObject(m)) throw illTyped(record, 'members[]', m, 'an object with a "value"');
    const value = getCI(m, 'value');
    if (typeof value !== 'string' || value === '') throw value === undefined || value === null ? new WireError(`${record}: a member has no "value"`) : illTyped(record, 'members[].value', value, 'a user id (string)');
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
    // The address Docker's Entra mapping sends (`mail → emails[type eq "work"].value`) where it is
    // not the userName; the userName otherwise, as every account was written before.
    emails: [{ value: attrs.email ?? attrs.userName, primary: true }],
    active: attrs.active,
    [DOCKER_EXT]: ext,
  };
}

export function groupBody(displayName: string, externalId?: string): Json {
  return { schemas: [CORE_GROUP], displayName, ...(externalId ? { externalId } : {}), members: [] };
}

/** RFC 7644 §3.5.2 PATCH adding or removing members, by user id. */
export function membersPatch(op: 'add' | 'remove', userIds: readonly string[]): Json {
  return {
    schemas: [PATCH_OP],
    Operations: [{ op, path: 'members', value: userIds.map((id) => ({ value: id })) }],
  };
}

/** ServiceProviderConfig's `patch.supported`, or null when it does not say (docker-scim.md §2.1). */
export function readPatchSupport(body: unknown): boolean | null {
  if (!isObject(body)) throw new WireError('the ServiceProviderConfig is not a JSON object');
  const patch = getCI(body, 'patch');
  if (!isObject(patch)) return null;
  const supported = getCI(patch, 'supported');
  return typeof supported === 'boolean' ? supported : null;
}

/**
 * The ids of a ListResponse of ResourceTypes or Schemas. An item without a string id is skipped,
 * not an error: these answers only inform, they are not planned against.
 */
export function readIds(body: unknown): string[] {
  const { resources } = readList(body);
  const ids: string[] = [];
  for (const r of resources) {
    if (!isObject(r)) continue;
    const id = getCI(r, 'id');
    if (typeof id === 'string') ids.push(id);
  }
  return ids;
}
