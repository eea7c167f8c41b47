import type { Logger } from '../../logging/logger.ts';
import type { SourceReadError } from '../../model/errors.ts';
import type { IdpGroup, IdpSnapshot, IdpUser, SourceNote } from '../../model/idp.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import type { BackoffPolicy } from '../../transport/wait-time.ts';
import { eachLimited } from '../../util/concurrency.ts';
import { batchGet, MAX_BATCH_ITEMS, type BatchGet } from './batch.ts';
import type { GraphApi } from './client.ts';
import { EntraAbortedError, EntraMalformedError, EntraOffOriginError, READ_PERMISSIONS, originOf } from './errors.ts';
import {
  DEFAULT_ACCESS,
  isFullyRead,
  memberLabel,
  memberSelect,
  roleValues,
  toIdpGroup,
  toIdpUser,
  userSelect,
  type AssignmentWire,
  type AttributeSources,
  type UserNameSource,
  type UserWire,
} from './transform.ts';

/**
 * Which Graph calls, in which order, for one complete read (entra-graph.md §1):
 * 1. the Docker service principal, by appId, with its app roles;
 * 2. its `appRoleAssignedTo`: who is assigned, directly (User) or through a group (Group);
 * 3. the members of each assigned group: direct members by default, as Entra's own provisioning
 *    does (§7, gotcha 12), or `transitiveMembers`; listed with the user properties selected, so most
 *    users need no request of their own;
 * 4. directly assigned users not met in a member listing: from a listing of the tenant's users
 *    while it finds enough of them a page (see `listUsers`);
 * 5. one `$batch` run for the rest: every assigned group's name, the users the listing did not
 *    reach, and members that came back without their properties (gotcha 11).
 * Each listing is an async generator that yields a page at a time and throws on any page that
 * failed (after retries) or does not look like Graph's: a caller cannot mistake a partial list for a
 * whole one, so a hiccup never makes assigned users look unassigned.
 */

export interface ReadDeps {
  api: GraphApi;
  appId: string;
  attributes: AttributeSources;
  userNameSource: UserNameSource;
  groupMembership: 'direct' | 'transitive';
  logger: Logger;
  signal: AbortSignal | undefined;
  maxRetries: number;
  backoff: BackoffPolicy;
  /** Turns anything thrown while doing `operation` into the SourceReadError the admin sees. */
  fail: (err: unknown, operation: string, subject: 'app' | 'group' | 'user' | 'read') => SourceReadError;
  /** Member listings, and batches, in flight at once. */
  concurrency: number;
  /** The most users the tenant is expected to assign; bounds every listing's page count (see pageCap). */
  maxUsers: number;
  /** Told the running count after each listing page (Graph announces no total), and batch retries and waits. */
  observer?: TransportObserver;
}

/** `$top` for every listing: Graph's maximum for users and members (999); for `appRoleAssignedTo` the maximum is undocumented and 999 assumed (§9). */
export const PAGE_SIZE = 999;

export interface PageCounter {
  pages: number;
}

/**
 * The most pages one listing may have: enough for `maxUsers` objects at PAGE_SIZE a page, plus one.
 * A listing that goes on past it is an error, not a longer wait: Graph (or something in between)
 * that keeps handing out fresh next-page links would otherwise hold the read forever. Graph may
 * serve fewer than `$top` a page; then the cap trips early and its error says to raise MAX_USERS,
 * which errs on the side of stopping.
 */
export function pageCap(maxUsers: number): number {
  return Math.ceil(Math.max(1, maxUsers) / PAGE_SIZE) + 1;
}

/**
 * Pages through one listing, following `@odata.nextLink` by hand (no PageIterator, whose callback
 * must return true or it stops after one item, gotcha 6). `describe(n)` names page n for errors.
 * A listing that does not end is an error: a link that repeats, a page of nothing but items
 * already read, or more pages than pageCap allows.
 */
export async function* pages(
  deps: Pick<ReadDeps, 'api' | 'fail' | 'signal' | 'maxUsers'>,
  first: { path: string; route: string; select: readonly string[] },
  describe: (page: number) => string,
  subject: 'app' | 'group' | 'read',
  counter: PageCounter,
): AsyncGenerator<unknown[], void, undefined> {
  const maxPages = pageCap(deps.maxUsers);
  const visited = new Set<string>();
  const seen = new Set<string>();
  let next: string | null = null;
  for (let page = 1; ; page++) {
    const op = describe(page);
    if (deps.signal?.aborted) throw deps.fail(new EntraAbortedError(), op, subject);
    let body: Record<string, unknown>;
    try {
      body = next === null ? await deps.api.get(first.path, { route: first.route, select: first.select, top: PAGE_SIZE }) : await deps.api.get(next, { route: first.route });
    } catch (err) {
      throw deps.fail(err, op, subject);
    }
    const value = body.value;
    if (!Array.isArray(value)) throw deps.fail(new EntraMalformedError('the page has no "value" array'), op, subject);
    const link = body['@odata.nextLink'];
    if (link !== undefined && link !== null && typeof link !== 'string') throw deps.fail(new EntraMalformedError('"@odata.nextLink" is not a string'), op, subject);
    // A page that brings nothing new (a fresh skiptoken over the same items) would loop as surely
    // as a repeated link, only with a different link each time.
    const ids = value.map((item) => str((item as { id?: unknown } | null)?.id));
    if (value.length > 0 && ids.every((id) => id !== null && seen.has(id))) {
      throw deps.fail(new EntraMalformedError(`the page holds only items already read on earlier pages of this listing (${value.length}), so the listing would never end`), op, subject);
    }
    for (const id of ids) if (id !== null) seen.add(id);
    counter.pages += 1;
    yield value;
    if (typeof link !== 'string' || link === '') return;
    // The token goes only to the configured origin (invariant 10): a link elsewhere (another port,
    // plain http, even one of Microsoft's Graph hosts when the base is a proxy) is never requested.
    // Checked here, before the SDK sees the link: it would send the token to any https URL on a
    // Graph host, and it reads a non-https link as a path on the base.
    if (!deps.api.isOnGraphOrigin(link)) throw deps.fail(new EntraOffOriginError('the next page link', originOf(link), deps.api.origin), describe(page + 1), subject);
    // A link that repeats would loop forever.
    if (visited.has(link)) throw deps.fail(new EntraMalformedError('the next page link points back at a page already read'), describe(page + 1), subject);
    if (page >= maxPages) {
      throw deps.fail(
        new EntraMalformedError(`the listing goes on past ${maxPages} pages, the most that MAX_USERS = ${deps.maxUsers} allows at ${PAGE_SIZE} a page`, {
          hint: `If more than ${deps.maxUsers} users are really assigned to the Docker app, raise MAX_USERS (sync.maxUsers); otherwise Microsoft Graph (or a proxy in between) keeps sending next-page links, and the read was stopped so it cannot run forever. Nothing was planned from it.`,
        }),
        describe(page + 1),
        subject,
      );
    }
    visited.add(link);
    next = link;
  }
}

/**
 * Users by id, from `GET /users?$select=…&$top=999`, the tenant's users a page at a time. Read one by
 * one (inside `$batch`), 100,000 directly assigned users cost 100,000 resource units and 5,000
 * requests on every run, ~5 minutes of Graph's budget for a large tenant (reference §3: 8,000 RU /
 * 10 s); a page of 999 costs 1 RU. The tenant may hold far more users than are assigned, though, so
 * the listing goes on only while it pays: it stops once every wanted user is found, or after three
 * pages when it has found fewer than a `$batch` request reads (20) per page on average (the rest are
 * then read by id), or before the page cap MAX_USERS sets. Only users read with every selected
 * property are taken (gotcha 11: without User.Read.All, Graph returns nulls); the others are read
 * by id, which fails with the permission hint.
 */
async function listUsers(deps: ReadDeps, wanted: readonly string[], counter: PageCounter): Promise<Map<string, UserWire>> {
  const byKey = new Map(wanted.map((id) => [id.toLowerCase(), id]));
  const found = new Map<string, UserWire>();
  const lastPage = pageCap(deps.maxUsers) - 1;
  let page = 0;
  const listing = pages(deps, { path: '/users', route: 'GET /users', select: userSelect(deps.attributes) }, (n) => `GET /users (page ${n})`, 'read', counter);
  for await (const items of listing) {
    page += 1;
    for (const raw of items) {
      const u = (raw ?? {}) as UserWire;
      const id = typeof u.id === 'string' ? byKey.get(u.id.toLowerCase()) : undefined;
      if (id !== undefined && isFullyRead(u)) found.set(id, u);
    }
    deps.observer?.listed?.('entra', 'users', found.size, wanted.length);
    if (found.size === wanted.length) break;
    if (page >= 3 && found.size / page < MAX_BATCH_ITEMS) break;
    if (page >= lastPage) break;
  }
  return found;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** A JSON value's type, for an error: never the value itself. */
export function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export interface ServicePrincipal {
  id: string;
  /** appRole id (lower case) → value. */
  roles: Map<string, string>;
}

export async function servicePrincipal(deps: ReadDeps): Promise<ServicePrincipal> {
  // OData string literal: a quote is doubled. The config only lets GUIDs through; this keeps a typo harmless.
  const key = deps.appId.replace(/'/g, "''");
  const op = `GET /servicePrincipals(appId='${deps.appId}')`;
  let sp: Record<string, unknown>;
  try {
    sp = await deps.api.get(`/servicePrincipals(appId='${key}')`, { route: "GET /servicePrincipals(appId='{appId}')", select: ['id', 'appId', 'appRoles'] });
  } catch (err) {
    throw deps.fail(err, op, 'app');
  }
  const id = str(sp.id);
  if (id === null) throw deps.fail(new EntraMalformedError('the service principal has no id'), op, 'app');
  const roles = new Map<string, string>();
  if (sp.appRoles !== undefined && sp.appRoles !== null && !Array.isArray(sp.appRoles)) throw deps.fail(new EntraMalformedError('"appRoles" is not an array'), op, 'app');
  // `isEnabled` is not checked: Entra keeps the assignments of a role that was disabled, and the
  // value it carried is still what the admin assigned; the mapping rules judge the value.
  // A role without a string id, or whose value is neither a string nor null, fails the read rather
  // than being skipped: Graph types both as strings, so this is a broken or altered answer, and
  // skipping it would silently turn its holders' role into the default one. A null value is a role
  // that names no value: its holders get access without a role, as with default access.
  for (const [i, r] of ((sp.appRoles as unknown[] | null | undefined) ?? []).entries()) {
    const role = r as { id?: unknown; value?: unknown } | null;
    const roleId = str(role?.id);
    const value = role?.value;
    if (roleId === null || (value !== null && value !== undefined && typeof value !== 'string')) {
      throw deps.fail(new EntraMalformedError(`app role ${i + 1} has ${roleId === null ? 'no string id' : `a value that is not a string (${typeName(value)})`}`), op, 'app');
    }
    roles.set(roleId.toLowerCase(), typeof value === 'string' ? value : '');
  }
  return { id, roles };
}

export interface Assignments {
  /** Directly assigned users → the app role ids of their assignments. */
  users: Map<string, Set<string>>;
  /** Assigned groups → the app role ids of their assignments, in the order first seen. */
  groups: Map<string, Set<string>>;
  other: number;
}

export async function assignments(deps: ReadDeps, sp: ServicePrincipal, counter: PageCounter): Promise<Assignments> {
  const path = `/servicePrincipals/${sp.id}/appRoleAssignedTo`;
  const out: Assignments = { users: new Map(), groups: new Map(), other: 0 };
  let page = 0;
  const describe = (n: number) => `GET ${path} (page ${n})`;
  const listing = pages(deps, { path, route: 'GET /servicePrincipals/{id}/appRoleAssignedTo', select: ['id', 'appRoleId', 'principalId', 'principalType'] }, describe, 'app', counter);
  let read = 0;
  for await (const items of listing) {
    page += 1;
    read += items.length;
    deps.observer?.listed?.('entra', 'assignments', read, null);
    for (const [i, raw] of items.entries()) {
      const a = (raw ?? {}) as AssignmentWire;
      const principalId = str(a.principalId);
      const type = str(a.principalType);
      const roleId = str(a.appRoleId);
      // Each decides who gets Docker and with which role: one missing or of another type fails the read.
      if (principalId === null || type === null || roleId === null) {
        throw deps.fail(new EntraMalformedError(`assignment ${i + 1} has no principalId, principalType or appRoleId, or one is not a string`), describe(page), 'app');
      }
      // principalType is filtered here: a $filter on it is not documented (§1.1).
      const target = type === 'User' ? out.users : type === 'Group' ? out.groups : null;
      if (target === null) {
        out.other += 1; // a service principal assigned to the app: not a person
        continue;
      }
      const set = target.get(principalId) ?? new Set<string>();
      set.add(roleId.toLowerCase());
      target.set(principalId, set);
    }
  }
  return out;
}

interface GroupMembers {
  /** User members, in listing order. */
  users: UserWire[];
  /** Group members (direct mode: nested groups whose members are not assigned through this one). */
  nested: UserWire[];
}

/** Members read so far across all of a read's member listings, which run at once. */
interface MemberCount {
  items: number;
}

async function groupMembers(deps: ReadDeps, groupId: string, counter: PageCounter, read: MemberCount): Promise<GroupMembers> {
  const transitive = deps.groupMembership === 'transitive';
  const path = `/groups/${groupId}/${transitive ? 'transitiveMembers' : 'members'}`;
  const route = `GET /groups/{id}/${transitive ? 'transitiveMembers' : 'members'}`;
  const describe = (n: number) => `GET ${path} (page ${n})`;
  const out: GroupMembers = { users: [], nested: [] };
  let page = 0;
  for await (const items of pages(deps, { path, route, select: memberSelect(deps.attributes) }, describe, 'group', counter)) {
    page += 1;
    read.items += items.length;
    deps.observer?.listed?.('entra', 'members', read.items, null);
    for (const [i, raw] of items.entries()) {
      const m = (raw ?? {}) as UserWire;
      if (str(m.id) === null || str(m['@odata.type']) === null) throw deps.fail(new EntraMalformedError(`member ${i + 1} has no id or @odata.type, or one is not a string`), describe(page), 'group');
      // Members are users, groups, devices, contacts, service principals: only users get Docker.
      // Filtered here rather than with an OData cast, which older docs tie to ConsistencyLevel (§1.3).
      if (m['@odata.type'] === '#microsoft.graph.user') out.users.push(m);
      else if (m['@odata.type'] === '#microsoft.graph.group') out.nested.push(m);
    }
  }
  return out;
}

/** One complete read, or a SourceReadError. `requests()` reports the client's count for the stats. */
export async function readEntra(deps: ReadDeps, requests: () => number): Promise<IdpSnapshot> {
  const started = performance.now();
  const counter: PageCounter = { pages: 0 };
  const notes: SourceNote[] = [];

  // 1–2. Who is assigned, and with which app roles.
  const sp = await servicePrincipal(deps);
  const assigned = await assignments(deps, sp, counter);
  if (assigned.other > 0) deps.logger.debug({ servicePrincipals: assigned.other }, 'entra: ignoring assignments to service principals');

  // 3. Members of every assigned group: a group assignment is what gives its members the app.
  const groupIds = [...assigned.groups.keys()];
  const members = new Map<string, GroupMembers>();
  const memberCount: MemberCount = { items: 0 };
  await eachLimited(groupIds, deps.concurrency, async (id) => {
    members.set(id, await groupMembers(deps, id, counter, memberCount));
  });

  // Users met in member listings with every selected property are read; the rest need a request.
  const users = new Map<string, UserWire>();
  const groupsOf = new Map<string, string[]>();
  for (const id of groupIds) {
    for (const m of members.get(id)?.users ?? []) {
      const uid = String(m.id);
      if (isFullyRead(m)) users.set(uid, m);
      groupsOf.set(uid, [...(groupsOf.get(uid) ?? []), id]);
    }
  }
  // A member whose listing came back with nulls (User.Read.All missing, gotcha 11) is read again by
  // id rather than trusted: its nulls would read as "no email" and "disabled". If that read is
  // refused too, the read fails with the permission hint.
  const toRead = [...new Set([...assigned.users.keys(), ...groupsOf.keys()])].filter((id) => !users.has(id)).sort();

  // 4. Most of them from a listing of the tenant's users, when there are more than one batch holds.
  const listed = toRead.length > MAX_BATCH_ITEMS ? await listUsers(deps, toRead, counter) : new Map<string, UserWire>();
  for (const [id, u] of listed) users.set(id, u);
  const stillToRead = toRead.filter((id) => !listed.has(id));

  // 5. One batch run: group names, and the users still to read.
  const select = userSelect(deps.attributes).join(',');
  const items: BatchGet[] = [
    ...groupIds.map((id): BatchGet => ({ key: `g:${id}`, url: `/groups/${id}?$select=id,displayName`, describe: `GET /groups/${id}`, subject: 'group' })),
    ...stillToRead.map((id): BatchGet => ({ key: `u:${id}`, url: `/users/${id}?$select=${select}`, describe: `GET /users/${id}`, subject: 'user' })),
  ];
  const read = items.length > 0 ? await batchGet(items, deps) : new Map<string, Record<string, unknown>>();

  const groupName = new Map<string, string>();
  for (const id of groupIds) {
    // The name decides the team (org:team): one missing or of another type fails the read.
    const raw = read.get(`g:${id}`)?.displayName;
    const name = str(raw);
    if (name === null) throw deps.fail(new EntraMalformedError(`the group's displayName is ${raw === undefined || raw === null || raw === '' ? 'missing' : `not a string (${typeName(raw)})`}`), `GET /groups/${id} (in $batch)`, 'group');
    groupName.set(id, name);
  }
  for (const id of stillToRead) {
    const u = read.get(`u:${id}`) as UserWire | undefined;
    if (!u || !isFullyRead(u)) {
      throw deps.fail(
        new EntraMalformedError('the user came back without userPrincipalName or accountEnabled even when read by id', {
          hint: `Graph returned the user without its properties, which it does when the app may list group members but not read users. Grant the app registration the application permission User.Read.All (with ${READ_PERMISSIONS}) and admin consent.`,
        }),
        `GET /users/${id} (in $batch)`,
        'user',
      );
    }
    // The object read must be the one asked for: its id becomes the link to a Docker account.
    if (typeof u.id !== 'string' || u.id.toLowerCase() !== id.toLowerCase()) {
      throw deps.fail(new EntraMalformedError(`the user read has ${typeof u.id === 'string' && u.id !== '' ? `another id (${u.id.slice(0, 40)})` : 'no string id'}`), `GET /users/${id} (in $batch)`, 'user');
    }
    users.set(id, u);
  }

  // Roles: the user's own assignments and those of the assigned groups they are in.
  const unknownRoles = new Set<string>();
  for (const ids of [...assigned.users.values(), ...assigned.groups.values()]) for (const r of ids) if (r !== DEFAULT_ACCESS && !sp.roles.has(r)) unknownRoles.add(r);

  const idpUsers: IdpUser[] = [];
  for (const id of [...users.keys()].sort()) {
    const u = users.get(id) as UserWire;
    const viaGroups = groupsOf.get(id) ?? [];
    const roleIds = [...(assigned.users.get(id) ?? []), ...viaGroups.flatMap((g) => [...(assigned.groups.get(g) ?? [])])];
    const { user, note } = toIdpUser(u, {
      userNameSource: deps.userNameSource,
      attributes: deps.attributes,
      appRoleValues: roleValues(roleIds, sp.roles),
      groups: viaGroups.map((g) => groupName.get(g) as string),
      direct: assigned.users.has(id),
    });
    idpUsers.push(user);
    if (note) notes.push(note);
  }

  const idpGroups: IdpGroup[] = groupIds.map((id) => toIdpGroup(id, groupName.get(id) as string, members.get(id)?.users.length ?? 0));

  if (deps.groupMembership === 'direct') {
    for (const id of groupIds) {
      for (const n of members.get(id)?.nested ?? []) {
        // A nested group that is assigned itself brings its members in on its own.
        if (assigned.groups.has(String(n.id))) continue;
        notes.push({
          code: 'ENTRA_NESTED_GROUP',
          subject: memberLabel(n),
          message: `group ${memberLabel(n)} is nested in the assigned group ${groupName.get(id) ?? id}; its members are not assigned through it (Entra assigns a group's direct members only). Assign it too, or set ENTRA_GROUP_MEMBERSHIP=transitive.`,
        });
      }
    }
  }
  for (const r of [...unknownRoles].sort()) {
    notes.push({
      code: 'ENTRA_UNKNOWN_APP_ROLE',
      subject: r,
      message: `an assignment to the Docker app uses app role ${r}, which the app no longer defines; it grants access without a role.`,
    });
  }

  const stats = { requests: requests(), pages: counter.pages, durationMs: Math.round(performance.now() - started) };
  deps.logger.info(
    { users: idpUsers.length, groups: idpGroups.length, directAssignments: assigned.users.size, listed: listed.size, batched: items.length, notes: notes.length, ...stats },
    'entra read complete',
  );
  return { source: 'entra', users: idpUsers, groups: idpGroups, notes, stats };
}
