import type { Logger } from '../../logging/logger.ts';
import type { SourceReadError } from '../../model/errors.ts';
import type { IdpGroup, IdpSnapshot, IdpUser, SourceNote } from '../../model/idp.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import type { BackoffPolicy } from '../../transport/wait-time.ts';
import { eachLimited } from '../../util/concurrency.ts';
import { batchGet, MAX_BATCH_ITEMS, type BatchGet } from './batch.ts';
import type { GraphApi } from './client.ts';
import { EntraAbortedError, EntraMalformedError, EntraOffOriginError, READ_PERMISSIONS, originOf } from './errors.ts';
import { listingDigest } from './listing-digest.ts';
import {
  DEFAULT_ACCESS,
  isFullyRead,
  memberLabel,
  memberSelect,
  roleKey,
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
 * 4. every assigned group's name, in one `$batch` run: known before any user is read, so each user
 *    becomes an IdpUser as its page arrives and no page is held until the end;
 * 5. directly assigned users not met in a member listing: from a listing of the tenant's users
 *    while it finds enough of them a page (see `listUsers`);
 * 6. one `$batch` run for the rest: the users the listing did not reach, and members that came
 *    back without their properties (gotcha 11).
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
 * already read, or more pages than pageCap allows. Items already read are told by their `id`,
 * unless `repeats` is 'checked by the caller', which then throws `repeatedPage` itself: a caller
 * that keys every item anyway (the assignment listing) spares a set of 100,000 ids it never uses.
 */
export async function* pages(
  deps: Pick<ReadDeps, 'api' | 'fail' | 'signal' | 'maxUsers'>,
  first: { path: string; route: string; select: readonly string[] },
  describe: (page: number) => string,
  subject: 'app' | 'group' | 'read',
  counter: PageCounter,
  repeats: 'checked by id' | 'checked by the caller' = 'checked by id',
): AsyncGenerator<unknown[], void, undefined> {
  const maxPages = pageCap(deps.maxUsers);
  const visited = new Set<string>();
  const seen = repeats === 'checked by id' ? new Set<string>() : null;
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
    // as a repeated link, only with a different link each time. One pass, no array of ids: the set
    // grows by nothing only when every id on the page was read before (an item without one is new).
    if (seen !== null) {
      const before = seen.size;
      let anonymous = false;
      for (const item of value) {
        const id = (item as { id?: unknown } | null)?.id;
        if (typeof id === 'string' && id !== '') seen.add(id);
        else anonymous = true;
      }
      if (value.length > 0 && !anonymous && seen.size === before) throw repeatedPage(deps, value.length, op, subject);
    }
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

/** A page of nothing but items read on earlier pages of its listing: the listing would never end. */
export function repeatedPage(deps: Pick<ReadDeps, 'fail'>, items: number, op: string, subject: 'app' | 'group' | 'read'): SourceReadError {
  return deps.fail(new EntraMalformedError(`the page holds only items already read on earlier pages of this listing (${items}), so the listing would never end`), op, subject);
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
 * by id, which fails with the permission hint. Those found go into `into`, converted as their page
 * arrives; returns how many.
 */
async function listUsers<T>(deps: ReadDeps, wanted: readonly string[], into: Map<string, T>, convert: (id: string, u: UserWire) => T, counter: PageCounter): Promise<number> {
  // Ids are matched without regard to case, but Graph writes them in one case: an exact match is
  // tried first, and the case-folded map (a new string for every id) is built only for a miss.
  const exact = new Set(wanted);
  let folded: Map<string, string> | null = null;
  const match = (listed: string): string | undefined => {
    if (exact.has(listed)) return listed;
    folded ??= new Map(wanted.map((id) => [id.toLowerCase(), id]));
    return folded.get(listed.toLowerCase());
  };
  // `wanted` holds no user already in `into`, so what it grows by is what was found (once each).
  const start = into.size;
  let found = 0;
  const lastPage = pageCap(deps.maxUsers) - 1;
  let page = 0;
  const listing = pages(deps, { path: '/users', route: 'GET /users', select: userSelect(deps.attributes) }, (n) => `GET /users (page ${n})`, 'read', counter);
  for await (const items of listing) {
    page += 1;
    for (const raw of items) {
      const u = (raw ?? {}) as UserWire;
      const id = typeof u.id === 'string' ? match(u.id) : undefined;
      if (id !== undefined && isFullyRead(u)) into.set(id, convert(id, u));
    }
    found = into.size - start;
    deps.observer?.listed?.('entra', 'users', found, wanted.length);
    if (found === wanted.length) break;
    if (page >= 3 && found / page < MAX_BATCH_ITEMS) break;
    if (page >= lastPage) break;
  }
  return found;
}

/** The groups' names, in one `$batch` run. The name decides the team (org:team): one missing or of another type fails the read. */
export async function groupNames(deps: ReadDeps, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const read = await batchGet(
    ids.map((id): BatchGet => ({ key: id, url: `/groups/${id}?$select=id,displayName`, describe: `GET /groups/${id}`, subject: 'group' })),
    deps,
  );
  for (const id of ids) {
    const raw = read.get(id)?.displayName;
    const name = str(raw);
    if (name === null) throw deps.fail(new EntraMalformedError(`the group's displayName is ${raw === undefined || raw === null || raw === '' ? 'missing' : `not a string (${typeName(raw)})`}`), `GET /groups/${id} (in $batch)`, 'group');
    out.set(id, name);
  }
  return out;
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
  /** Directly assigned users → the app role ids of their assignments, as one roleKey. */
  users: Map<string, string>;
  /** Assigned groups → the app role ids of their assignments, as one roleKey; in the order first seen. */
  groups: Map<string, string>;
  other: number;
  /** listingDigest of the listing as read, when asked for (the change feed compares listings by it). */
  digest: string | null;
}

/** The service principal and who is assigned to it: one listing, as a read or the change feed made it. */
export interface AssignmentListing {
  readonly sp: ServicePrincipal;
  readonly assigned: Assignments;
}

/**
 * Who is assigned to the app, from its `appRoleAssignedTo`. Each principal's roles are kept as one
 * roleKey string rather than a set: nearly everyone holds one role, and at 100,000 assignees a set
 * each is 100,000 objects to build and collect on every run.
 */
export async function assignments(deps: ReadDeps, sp: ServicePrincipal, counter: PageCounter, opts: { digest?: boolean } = {}): Promise<Assignments> {
  const path = `/servicePrincipals/${sp.id}/appRoleAssignedTo`;
  const out: Assignments = { users: new Map(), groups: new Map(), other: 0, digest: null };
  const digest = opts.digest ? listingDigest() : null;
  let page = 0;
  const describe = (n: number) => `GET ${path} (page ${n})`;
  // An assignment is one principal holding one role (Graph refuses the same pair twice), so a page
  // that adds no pair to the maps below is one of assignments already read: the listing checks
  // repeats by that, not by a set of assignment ids.
  const listing = pages(deps, { path, route: 'GET /servicePrincipals/{id}/appRoleAssignedTo', select: ['id', 'appRoleId', 'principalId', 'principalType'] }, describe, 'app', counter, 'checked by the caller');
  // Service principals: rare, and kept only for that check.
  const others = new Set<string>();
  let read = 0;
  for await (const items of listing) {
    page += 1;
    read += items.length;
    deps.observer?.listed?.('entra', 'assignments', read, null);
    let fresh = 0;
    for (let i = 0; i < items.length; i++) {
      const a = (items[i] ?? {}) as AssignmentWire;
      const principalId = str(a.principalId);
      const type = str(a.principalType);
      const roleId = str(a.appRoleId);
      // Each decides who gets Docker and with which role: one missing or of another type fails the read.
      if (principalId === null || type === null || roleId === null) {
        throw deps.fail(new EntraMalformedError(`assignment ${i + 1} has no principalId, principalType or appRoleId, or one is not a string`), describe(page), 'app');
      }
      // A role key joins role ids with commas; Graph's are GUIDs, which have none.
      if (roleId.includes(',')) throw deps.fail(new EntraMalformedError(`assignment ${i + 1} has an appRoleId with a comma in it, which no GUID has`), describe(page), 'app');
      digest?.add(type, principalId, roleId);
      // principalType is filtered here: a $filter on it is not documented (§1.1).
      const target = type === 'User' ? out.users : type === 'Group' ? out.groups : null;
      const role = roleId.toLowerCase();
      if (target === null) {
        // A service principal assigned to the app: not a person.
        const pair = `${type}\t${principalId}\t${role}`;
        if (!others.has(pair)) {
          others.add(pair);
          out.other += 1;
          fresh += 1;
        }
        continue;
      }
      const before = target.get(principalId);
      if (before === undefined) {
        target.set(principalId, role);
        fresh += 1;
      } else if (before !== role && !roleIdsOf(before).includes(role)) {
        target.set(principalId, roleKey([...roleIdsOf(before), role]));
        fresh += 1;
      }
    }
    if (items.length > 0 && fresh === 0) throw repeatedPage(deps, items.length, describe(page), 'app');
    digest?.page();
  }
  out.digest = digest?.value() ?? null;
  return out;
}

/** The role ids in a roleKey. */
export function roleIdsOf(key: string): string[] {
  return key === '' ? [] : key.split(',');
}

/**
 * The app role ids behind a user's access, as one roleKey: their own assignments' and those of the
 * assigned groups they are in (`viaGroups`).
 */
export function userRoleKey(assigned: Assignments, id: string, viaGroups: readonly string[]): string {
  const own = assigned.users.get(id);
  if (viaGroups.length === 0) return own ?? '';
  const ids = own === undefined ? [] : roleIdsOf(own);
  for (const g of viaGroups) ids.push(...roleIdsOf(assigned.groups.get(g) ?? ''));
  return roleKey(ids);
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

const NO_GROUPS: readonly string[] = Object.freeze([]);

/** The values of the app roles in a roleKey (roleValues), worked out once a key. */
export function roleValuesByKey(sp: ServicePrincipal): (key: string) => readonly string[] {
  const known = new Map<string, readonly string[]>();
  return (key) => {
    let values = known.get(key);
    if (values === undefined) known.set(key, (values = Object.freeze(roleValues(roleIdsOf(key), sp.roles))));
    return values;
  };
}

/**
 * One complete read, or a SourceReadError. `requests()` reports the client's count for the stats.
 * `listing`: the assignments the change feed's start() listed moments before (a run that keeps a
 * cursor takes it right before its full read), used instead of listing them again: the read and
 * the cursor then stand on the same listing, and whatever changes after it, the next incremental
 * run names.
 */
export async function readEntra(deps: ReadDeps, requests: () => number, listing: AssignmentListing | null = null): Promise<IdpSnapshot> {
  const started = performance.now();
  const counter: PageCounter = { pages: 0 };
  const notes: SourceNote[] = [];

  // 1–2. Who is assigned, and with which app roles.
  const sp = listing?.sp ?? (await servicePrincipal(deps));
  const assigned = listing?.assigned ?? (await assignments(deps, sp, counter));
  if (assigned.other > 0) deps.logger.debug({ servicePrincipals: assigned.other }, 'entra: ignoring assignments to service principals');

  // 3. Members of every assigned group: a group assignment is what gives its members the app.
  const groupIds = [...assigned.groups.keys()];
  const members = new Map<string, GroupMembers>();
  const memberCount: MemberCount = { items: 0 };
  await eachLimited(groupIds, deps.concurrency, async (id) => {
    members.set(id, await groupMembers(deps, id, counter, memberCount));
  });

  // Users met in member listings with every selected property are read; the rest need a request.
  const fromMembers = new Map<string, UserWire>();
  const groupsOf = new Map<string, string[]>();
  for (const id of groupIds) {
    for (const m of members.get(id)?.users ?? []) {
      const uid = String(m.id);
      if (isFullyRead(m)) fromMembers.set(uid, m);
      const via = groupsOf.get(uid);
      if (via) via.push(id);
      else groupsOf.set(uid, [id]);
    }
  }

  // 4. The assigned groups' names, before any user is read: with them (and the roles) known, each
  // user becomes an IdpUser as its page arrives, and the page's objects are dropped with it rather
  // than held until the last page, 100,000 of them.
  const groupName = await groupNames(deps, groupIds);
  const roles = roleValuesByKey(sp);
  const converted = new Map<string, IdpUser>();
  const userNotes = new Map<string, SourceNote>();
  const convert = (id: string, u: UserWire): IdpUser => {
    const viaGroups = groupsOf.get(id) ?? NO_GROUPS;
    const { user, note } = toIdpUser(u, {
      userNameSource: deps.userNameSource,
      attributes: deps.attributes,
      appRoleValues: roles(userRoleKey(assigned, id, viaGroups)),
      groups: viaGroups.length === 0 ? NO_GROUPS : viaGroups.map((g) => groupName.get(g) as string),
      direct: assigned.users.has(id),
      viaGroups,
    });
    if (note) userNotes.set(id, note);
    else userNotes.delete(id);
    return user;
  };
  for (const [id, m] of fromMembers) converted.set(id, convert(id, m));

  // A member whose listing came back with nulls (User.Read.All missing, gotcha 11) is read again by
  // id rather than trusted: its nulls would read as "no email" and "disabled". If that read is
  // refused too, the read fails with the permission hint.
  const toRead: string[] = [];
  for (const id of assigned.users.keys()) if (!converted.has(id)) toRead.push(id);
  for (const id of groupsOf.keys()) if (!converted.has(id) && !assigned.users.has(id)) toRead.push(id);

  // 5. Most of them from a listing of the tenant's users, when there are more than one batch holds.
  const listed = toRead.length > MAX_BATCH_ITEMS ? await listUsers(deps, toRead, converted, convert, counter) : 0;
  const stillToRead = listed === toRead.length ? [] : toRead.filter((id) => !converted.has(id)).sort();

  // 6. One batch run for the users still to read.
  const select = userSelect(deps.attributes).join(',');
  const items = stillToRead.map((id): BatchGet => ({ key: id, url: `/users/${id}?$select=${select}`, describe: `GET /users/${id}`, subject: 'user' }));
  const read = items.length > 0 ? await batchGet(items, deps) : new Map<string, Record<string, unknown>>();
  for (const id of stillToRead) {
    const u = read.get(id) as UserWire | undefined;
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
    converted.set(id, convert(id, u));
  }

  // Roles an assignment names that the app no longer defines.
  const unknownRoles = new Set<string>();
  const keys = new Set(assigned.groups.values());
  for (const key of assigned.users.values()) keys.add(key);
  for (const key of keys) for (const r of roleIdsOf(key)) if (r !== DEFAULT_ACCESS && !sp.roles.has(r)) unknownRoles.add(r);

  const idpUsers: IdpUser[] = [];
  for (const id of [...converted.keys()].sort()) {
    idpUsers.push(converted.get(id) as IdpUser);
    const note = userNotes.size > 0 ? userNotes.get(id) : undefined;
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
    { users: idpUsers.length, groups: idpGroups.length, directAssignments: assigned.users.size, assignmentsReused: listing !== null, listed, batched: items.length + groupIds.length, notes: notes.length, ...stats },
    'entra read complete',
  );
  return { source: 'entra', users: idpUsers, groups: idpGroups, notes, stats };
}
