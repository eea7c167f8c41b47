import { createHash } from 'node:crypto';
import { FeedExpiredError } from '../../model/errors.ts';
import type { ChangeFeed, ChangeSet, FeedContext, FeedCursor, ScopedRead } from '../../model/idp.ts';
import { eachLimited } from '../../util/concurrency.ts';
import { EntraAbortedError, EntraHttpError, EntraMalformedError, EntraOffOriginError, originOf } from './errors.ts';
import { AssignedUsers, decodeCursor, encodeCursor, type FeedState } from './feed-cursor.ts';
import { assignments, groupNames, pageCap, pages, servicePrincipal, type AssignmentListing, type Assignments, type PageCounter, type ReadDeps, type ServicePrincipal } from './read.ts';
import { readUsersById } from './read-users.ts';
import { userSelect } from './transform.ts';

/**
 * Entra's change feed, from Graph delta queries (entra-graph.md §1.5), for incremental runs.
 *
 * Which delta, of the three §1.5 offers (delta cannot be scoped to an app's assignees):
 * - users: (a) tenant-wide `users/delta`, from `$deltatoken=latest`. A quiet tenant costs one
 *   request a run whatever its size; (b), links filtered on 50 ids each, would cost one request a run
 *   per 50 assigned users (2,000 at 100,000), and a new assignee would need a new link. This is
 *   what Entra's own provisioning does (§7). Entries about users this tool neither manages nor finds
 *   directly assigned are dropped without a request (see `changesSince`).
 * - groups: (c) `groups/delta` filtered on the assigned groups (50 ids a link), with `members`
 *   selected: only their changes arrive, not the whole tenant's group churn. With
 *   ENTRA_GROUP_MEMBERSHIP=transitive the filter also holds every group nested in them, found when
 *   the feed starts (delta reports direct members only, [I]).
 * - assignments have no delta ([GAP] §1.1): `appRoleAssignedTo` is listed on every call and
 *   compared with the listing the cursor carries: by digest (listing-digest.ts), and entry by entry
 *   only when the digests differ, so a quiet run neither unpacks nor repacks 100,000 entries. At
 *   100,000 directly assigned users that is ~100 pages a run, the bulk of an incremental run's
 *   requests; nothing cheaper answers "who was assigned or unassigned" in Graph v1.0 with the
 *   permissions this tool asks for. start()'s listing serves the full read that follows it.
 *
 * Events are hints: every user named is read afresh (`readUsers`), so a late, repeated or
 * out-of-order entry costs a read, never a wrong plan. What cannot be followed user by user (a
 * group assigned, unassigned, renamed or given another role; an app role removed or given another
 * value; nesting changed under a transitive group; more users than the run reads one by one) is
 * `fullReadNeeded`.
 * A delta link Graph refuses (410, `syncStateNotFound`, `resyncRequired`) is FeedExpiredError; any
 * other failure is the SourceReadError a full read would give (invariant 11).
 */

/** Runs work alone on the source's Graph connection; failures become SourceReadError, FeedExpiredError passes. */
export interface FeedHost {
  exclusive<T>(signal: AbortSignal | undefined, operation: string, work: (deps: ReadDeps, requests: () => number) => Promise<T>): Promise<T>;
}

/** Graph's limit on ids in a delta `$filter` (§1.5). */
const MAX_FILTER_IDS = 50;
/**
 * How long the assignment listing of a `changesSince` serves the `readUsers` that follows it (one
 * incremental run), instead of listing ~100 pages again at 100,000 users. Consistent: the cursor
 * returned carries that same listing, so an assignment changed after it is named by the next call.
 */
const SCOPE_REUSE_MS = 10 * 60_000;

export interface EntraChangeFeed extends ChangeFeed {
  /**
   * The assignment listing start() made, once, for the full read that follows it (a run that keeps
   * a cursor takes it right before its full read): ~100 pages fewer at 100,000 users. Null when
   * there is none, or it is older than SCOPE_REUSE_MS.
   */
  takeStartListing(): AssignmentListing | null;
}

export function createEntraFeed(host: FeedHost): EntraChangeFeed {
  let lastScope: { sp: ServicePrincipal; assigned: Assignments; at: number } | null = null;
  let startListing: { sp: ServicePrincipal; assigned: Assignments; at: number } | null = null;
  return {
    start(signal) {
      lastScope = null;
      startListing = null;
      return host.exclusive(signal, 'start the Entra change feed', async (deps) => {
        const { cursor, listing } = await startFeed(deps);
        startListing = { ...listing, at: performance.now() };
        return cursor;
      });
    },
    takeStartListing() {
      const listing = startListing;
      startListing = null;
      return listing !== null && performance.now() - listing.at < SCOPE_REUSE_MS ? listing : null;
    },
    changesSince(cursor, ctx, signal) {
      return host.exclusive(signal, 'read the Entra change feed', async (deps, requests) => {
        lastScope = null;
        startListing = null;
        const { set, scope } = await changesSince(deps, cursor, ctx, requests);
        if (scope) lastScope = { ...scope, at: performance.now() };
        return set;
      });
    },
    readUsers(idpIds, signal) {
      return host.exclusive(signal, `read ${idpIds.length} user${idpIds.length === 1 ? '' : 's'} from Entra`, async (deps, requests) => {
        const started = performance.now();
        const counter: PageCounter = { pages: 0 };
        let scope = lastScope !== null && performance.now() - lastScope.at < SCOPE_REUSE_MS ? lastScope : null;
        if (scope === null && idpIds.length > 0) {
          const sp = await servicePrincipal(deps);
          scope = { sp, assigned: await assignments(deps, sp, counter), at: performance.now() };
        }
        const read = scope === null ? { users: [], unassigned: [], notes: [] } : await readUsersById(deps, scope, idpIds, counter);
        const stats = { requests: requests(), pages: counter.pages, durationMs: Math.round(performance.now() - started) };
        deps.logger.info({ asked: idpIds.length, users: read.users.length, unassigned: read.unassigned.length, ...stats }, 'entra scoped read complete');
        return { ...read, stats } satisfies ScopedRead;
      });
    },
  };
}

/** What the cursor's links were made for: another app, `$select` or membership mode needs other links. */
function settingsOf(deps: ReadDeps): string {
  return createHash('sha256')
    .update(JSON.stringify([deps.appId.toLowerCase(), userSelect(deps.attributes), deps.groupMembership]))
    .digest('base64url')
    .slice(0, 22);
}

// ── start ───────────────────────────────────────────────────────────────────────────────────────

async function startFeed(deps: ReadDeps): Promise<{ cursor: FeedCursor; listing: AssignmentListing }> {
  const counter: PageCounter = { pages: 0 };
  const sp = await servicePrincipal(deps);
  const assigned = await assignments(deps, sp, counter, { digest: true });
  const groupIds = [...assigned.groups.keys()].sort();
  const watched = deps.groupMembership === 'transitive' ? [...new Set([...groupIds, ...(await nestedIn(deps, groupIds, counter))])].sort() : groupIds;
  // Names of every watched group, for the reasons the feed gives; only an assigned one's rename matters.
  const names = Object.fromEntries(await groupNames(deps, watched));
  // `latest`: the present end, without paging through the tenant (§1.5). Taken after the listing,
  // before the full read that follows start(): whatever changes from here on is read again.
  const users = await latest(deps, '/users/delta?$deltatoken=latest', userSelect(deps.attributes), 'GET /users/delta', counter);
  const groups: string[] = [];
  for (let i = 0; i < watched.length; i += MAX_FILTER_IDS) {
    const filter = watched
      .slice(i, i + MAX_FILTER_IDS)
      .map((id) => `id eq '${id.replace(/'/g, "''")}'`)
      .join(' or ');
    groups.push(await latest(deps, `/groups/delta?$deltatoken=latest&$filter=${filter}`, ['displayName', 'members'], 'GET /groups/delta', counter));
  }
  const cursor = encodeCursor({
    settings: settingsOf(deps),
    users,
    groups,
    watched,
    names,
    roles: Object.fromEntries(sp.roles),
    assignedUsers: AssignedUsers.of(assigned.users),
    assignedGroups: assigned.groups,
    listingDigest: assigned.digest ?? '',
  });
  deps.logger.info({ assignedUsers: assigned.users.size, assignedGroups: groupIds.length, watchedGroups: watched.length, pages: counter.pages, cursorBytes: cursor.length }, 'entra change feed started');
  return { cursor, listing: { sp, assigned } };
}

/** A delta link at the present end (`$deltatoken=latest`): the options go in this first call, Graph keeps them in the link. */
async function latest(deps: ReadDeps, path: string, select: readonly string[], route: string, counter: PageCounter): Promise<string> {
  return (await followDelta(deps, { path, select }, route, counter, () => undefined)) as string;
}

/** Every group nested (at any depth) in these, from their `transitiveMembers` (groups kept, users skipped). */
async function nestedIn(deps: ReadDeps, groupIds: readonly string[], counter: PageCounter): Promise<string[]> {
  const found = new Set<string>();
  await eachLimited(groupIds, deps.concurrency, async (id) => {
    const path = `/groups/${id}/transitiveMembers`;
    for await (const items of pages(deps, { path, route: 'GET /groups/{id}/transitiveMembers', select: ['id'] }, (n) => `GET ${path} (page ${n})`, 'group', counter)) {
      for (const raw of items) {
        const m = (raw ?? {}) as Record<string, unknown>;
        if (m['@odata.type'] === '#microsoft.graph.group' && typeof m.id === 'string' && m.id !== '') found.add(m.id);
      }
    }
  });
  return [...found];
}

// ── changesSince ────────────────────────────────────────────────────────────────────────────────

async function changesSince(deps: ReadDeps, cursor: FeedCursor, ctx: FeedContext, requests: () => number): Promise<{ set: ChangeSet; scope: { sp: ServicePrincipal; assigned: Assignments } | null }> {
  const started = performance.now();
  const counter: PageCounter = { pages: 0 };
  const state = stateOf(deps, cursor);
  const named = new Set<string>();
  let entries = 0;
  const done = (extra: { fullReadNeeded?: string; next?: FeedCursor }, scope: { sp: ServicePrincipal; assigned: Assignments } | null = null) => {
    const stats = { requests: requests(), pages: counter.pages, durationMs: Math.round(performance.now() - started) };
    const userIds = extra.fullReadNeeded === undefined ? [...named].sort() : [];
    deps.logger.info({ entries, users: userIds.length, ...(extra.fullReadNeeded ? { fullReadNeeded: extra.fullReadNeeded } : {}), ...stats }, 'entra change feed read');
    // When a full read follows, the cursor handed in is handed back: the full read starts a fresh
    // one, and if it fails, nothing since this cursor has been lost.
    const set: ChangeSet = { userIds, ...(extra.fullReadNeeded !== undefined ? { fullReadNeeded: extra.fullReadNeeded } : {}), next: extra.next ?? cursor, entries, stats };
    return { set, scope };
  };
  const tooMany = () => `${named.size} users changed in Entra, more than the ${ctx.maxUsers} an incremental run reads one by one`;
  const label = (id: string) => state.names[id] ?? id;

  // 1. Assignments, re-listed (no delta exists) and compared with the cursor's.
  const sp = await servicePrincipal(deps);
  const assigned = await assignments(deps, sp, counter, { digest: true });
  // A role added changes nobody's role (its holders' assignments show below); one removed, or given
  // another value, changes the role of everyone holding it, directly or through a group.
  for (const [roleId, value] of Object.entries(state.roles)) {
    const now = sp.roles.get(roleId);
    if (now === value) continue;
    const what = now === undefined ? 'was removed from' : `now has the value ${now || '(none)'} on`;
    return done({ fullReadNeeded: `app role ${value || roleId} ${what} the Docker app in Entra, which changes the role of everyone holding it` });
  }
  for (const id of new Set([...state.assignedGroups.keys(), ...assigned.groups.keys()])) {
    const before = state.assignedGroups.get(id);
    const now = assigned.groups.get(id);
    if (before === now) continue;
    entries += 1;
    const what = before === undefined ? 'was assigned to the Docker app' : now === undefined ? 'was removed from the Docker app' : 'was given another app role on the Docker app';
    const name = state.names[id] ?? (await nameOf(deps, id));
    return done({ fullReadNeeded: `group ${name} ${what} in Entra, which changes the access of all its members` });
  }
  // The same digest is the same listing: nobody was assigned, unassigned or given another role, and
  // the cursor's users need not even be unpacked. Otherwise both sides are walked once, without a
  // union of 200,000 ids: changed or new, then gone.
  const sameListing = state.listingDigest !== '' && assigned.digest === state.listingDigest;
  const before = sameListing ? null : state.assignedUsers.map;
  if (before !== null) {
    for (const [id, key] of assigned.users) {
      if (before.get(id) === key) continue;
      entries += 1;
      named.add(id);
    }
    for (const id of before.keys()) {
      if (assigned.users.has(id)) continue;
      entries += 1;
      named.add(id);
    }
  }
  // Already too many: the deltas need not be read (a full read follows).
  if (named.size > ctx.maxUsers) return done({ fullReadNeeded: tooMany() });

  // 2. Users: tenant-wide. An entry is followed for a user this tool manages or one directly
  // assigned (before or now): a new assignee is named by the listing above anyway. Anyone else is
  // dropped without a request: their change is a profile update of someone Docker does not hold,
  // and a group assignment that brings them in arrives through groups/delta. (A user held back by
  // a finding, e.g. a bad email, and assigned only through a group, is not managed: their fix
  // reaches Docker at the next full read.)
  const direct = (id: string) => assigned.users.has(id) || (before?.has(id) ?? false);
  const usersLink = await followDelta(deps, state.users, 'GET /users/delta', counter, (value, op) => {
    for (const [i, raw] of value.entries()) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id !== 'string' || id === '') throw deps.fail(new EntraMalformedError(`delta entry ${i + 1} has no string id`), op, 'read');
      entries += 1;
      if (ctx.isManaged(id) || direct(id)) named.add(id);
    }
    // Stop paging once too many are named: a bulk change can be thousands of pages.
    return named.size > ctx.maxUsers ? 'stop' : undefined;
  });
  if (usersLink === null) return done({ fullReadNeeded: tooMany() });

  // 3. Groups: members who joined or left an assigned (or, transitive, nested) group are always
  // named, managed or not: that is how people get or lose Docker through a group.
  const watched = new Set(state.watched);
  const transitive = deps.groupMembership === 'transitive';
  const groupLinks: string[] = [];
  for (const link of state.groups) {
    let reason: string | null = null;
    const next = await followDelta(deps, link, 'GET /groups/delta', counter, (value, op) => {
      for (const [i, raw] of value.entries()) {
        const g = (raw ?? {}) as Record<string, unknown>;
        const id = g.id;
        if (typeof id !== 'string' || id === '') throw deps.fail(new EntraMalformedError(`delta entry ${i + 1} has no string id`), op, 'read');
        // Only the groups the link was filtered on matter; another is ignored, not trusted.
        if (!watched.has(id)) continue;
        entries += 1;
        if (g['@removed'] !== undefined) {
          reason = `group ${label(id)} was deleted in Entra`;
          return 'stop';
        }
        const known = state.names[id];
        if (state.assignedGroups.has(id) && known !== undefined && typeof g.displayName === 'string' && g.displayName !== known) {
          reason = `group ${known} was renamed to ${g.displayName} in Entra, which moves its members to another team`;
          return 'stop';
        }
        const members = g['members@delta'];
        if (members === undefined || members === null) continue;
        if (!Array.isArray(members)) throw deps.fail(new EntraMalformedError('"members@delta" is not an array'), op, 'read');
        for (const [j, rawMember] of members.entries()) {
          const m = (rawMember ?? {}) as Record<string, unknown>;
          if (typeof m.id !== 'string' || m.id === '' || typeof m['@odata.type'] !== 'string') {
            throw deps.fail(new EntraMalformedError(`member ${j + 1} of group ${label(id)} in the delta has no id or @odata.type, or one is not a string`), op, 'read');
          }
          entries += 1;
          if (m['@odata.type'] === '#microsoft.graph.user') named.add(m.id);
          else if (m['@odata.type'] === '#microsoft.graph.group' && transitive) {
            // Nesting changed beneath a group whose transitive members are assigned: a whole
            // group's members, and a set of watched groups that no longer holds.
            reason = `a group was nested into or taken out of group ${label(id)} in Entra, which ENTRA_GROUP_MEMBERSHIP=transitive follows`;
            return 'stop';
          }
        }
      }
      return undefined;
    });
    if (reason !== null) return done({ fullReadNeeded: reason });
    groupLinks.push(next as string);
  }
  if (named.size > ctx.maxUsers) return done({ fullReadNeeded: tooMany() });

  const next = encodeCursor({
    ...state,
    users: usersLink,
    groups: groupLinks,
    roles: Object.fromEntries(sp.roles),
    assignedUsers: sameListing ? state.assignedUsers : AssignedUsers.of(assigned.users),
    assignedGroups: assigned.groups,
    listingDigest: assigned.digest ?? '',
  });
  return done({ next }, { sp, assigned });
}

/**
 * A newly assigned group's name, for the admin's reason only: a full read follows whatever it is,
 * so a failure here names the group by id rather than failing the run.
 */
async function nameOf(deps: ReadDeps, id: string): Promise<string> {
  try {
    const g = await deps.api.get(`/groups/${id}`, { route: 'GET /groups/{id}', select: ['id', 'displayName'] });
    return typeof g.displayName === 'string' && g.displayName !== '' ? g.displayName : id;
  } catch {
    return id;
  }
}

/** The cursor's state, or FeedExpiredError when it cannot be used (the run reads everything instead). */
function stateOf(deps: ReadDeps, cursor: FeedCursor): FeedState {
  const expired = (why: string, hint: string) => new FeedExpiredError(`entra: ${why}`, { system: 'entra', operation: 'read the stored change-feed cursor', hint });
  const state = decodeCursor(cursor);
  if (state === null) throw expired('the stored change-feed cursor is not one this version of docker-idp-sync wrote', 'Nothing to do: the full read keeps a new cursor.');
  if (state.settings !== settingsOf(deps)) {
    throw expired('the stored change-feed cursor was made with other settings', 'ENTRA_APP_ID, an attribute source or ENTRA_GROUP_MEMBERSHIP changed since it was made; the full read keeps a cursor for the new settings.');
  }
  // A link to another origin would take the token there (invariant 10). It can only come from a
  // changed GRAPH_BASE_URL (or ENTRA_CLOUD) or an altered state file: a full read is safe either way.
  for (const link of [state.users, ...state.groups]) {
    if (!deps.api.isOnGraphOrigin(link)) {
      throw expired(`the stored change-feed cursor points at ${originOf(link)}, not the configured Graph origin ${deps.api.origin}`, 'GRAPH_BASE_URL or ENTRA_CLOUD changed since it was made (or the state file was altered); nothing was sent there, and the full read keeps a cursor for this origin.');
    }
  }
  return state;
}

// ── delta paging ────────────────────────────────────────────────────────────────────────────────

/**
 * Pages through one delta round to its deltaLink, calling `onPage` with each page's entries;
 * `'stop'` from it ends the round early, and then the result is null. Throws FeedExpiredError when
 * Graph no longer knows the link, and the SourceReadError a full read would give for anything else:
 * a page that failed after retries, a malformed page, a link off the configured origin (invariant
 * 10), a link that repeats, or more pages than the cap. Empty pages with a nextLink are normal
 * (§1.5), and so are entries repeated across pages: neither is a loop.
 */
async function followDelta(
  deps: ReadDeps,
  first: string | { path: string; select: readonly string[] },
  route: string,
  counter: PageCounter,
  onPage: (value: unknown[], operation: string) => 'stop' | undefined,
): Promise<string | null> {
  // The tenant-wide users delta names every user of the tenant, not only the assigned ones, and
  // pages may be empty: a tenfold margin over a full listing's cap.
  const maxPages = 10 * pageCap(deps.maxUsers);
  const visited = new Set<string>();
  let link: string | null = typeof first === 'string' ? first : null;
  for (let page = 1; ; page++) {
    const op = `${route} (page ${page})`;
    if (deps.signal?.aborted) throw deps.fail(new EntraAbortedError(), op, 'read');
    let body: Record<string, unknown>;
    try {
      body = link === null ? await deps.api.get((first as { path: string }).path, { route, select: (first as { select: readonly string[] }).select }) : await deps.api.get(link, { route });
    } catch (err) {
      if (isExpired(err)) {
        throw new FeedExpiredError(`entra: Graph no longer knows the delta link (${route}: HTTP ${err.status}${err.code ? ` ${err.code}` : ''})`, {
          system: 'entra',
          operation: op,
          status: err.status,
          ...(err.code ? { remoteCode: err.code } : {}),
          hint: 'Delta links expire after 7 days without a run, and Graph may ask for a full resync at any time; the full read keeps a new cursor.',
        });
      }
      throw deps.fail(err, op, 'read');
    }
    const value = body.value;
    if (!Array.isArray(value)) throw deps.fail(new EntraMalformedError('the page has no "value" array'), op, 'read');
    const nextLink = body['@odata.nextLink'];
    const deltaLink = body['@odata.deltaLink'];
    for (const [name, v] of [
      ['@odata.nextLink', nextLink],
      ['@odata.deltaLink', deltaLink],
    ] as const) {
      if (v !== undefined && v !== null && (typeof v !== 'string' || v === '')) throw deps.fail(new EntraMalformedError(`"${name}" is not a string`), op, 'read');
    }
    counter.pages += 1;
    if (onPage(value, op) === 'stop') return null;
    if (typeof nextLink === 'string') {
      const nextOp = `${route} (page ${page + 1})`;
      if (!deps.api.isOnGraphOrigin(nextLink)) throw deps.fail(new EntraOffOriginError('the next page link', originOf(nextLink), deps.api.origin), nextOp, 'read');
      if (visited.has(nextLink)) throw deps.fail(new EntraMalformedError('the next page link points back at a page already read'), nextOp, 'read');
      if (page >= maxPages) {
        throw deps.fail(
          new EntraMalformedError(`the delta goes on past ${maxPages} pages, ten times what MAX_USERS (${deps.maxUsers}) allows a listing`, {
            hint: `Graph (or something between) keeps handing out next-page links. If the tenant really changed this much, raise MAX_USERS; otherwise a proxy may be altering answers. The next full read starts a new cursor.`,
          }),
          nextOp,
          'read',
        );
      }
      visited.add(nextLink);
      link = nextLink;
      continue;
    }
    if (typeof deltaLink !== 'string') throw deps.fail(new EntraMalformedError('the last page has neither "@odata.nextLink" nor "@odata.deltaLink"'), op, 'read');
    // The link is kept and called on the next run: it must be on the configured origin too.
    if (!deps.api.isOnGraphOrigin(deltaLink)) throw deps.fail(new EntraOffOriginError('the delta link', originOf(deltaLink), deps.api.origin), op, 'read');
    return deltaLink;
  }
}

/** Graph's ways of saying "this delta link is no longer valid; start over" (§1.5, §4). */
function isExpired(err: unknown): err is EntraHttpError {
  return err instanceof EntraHttpError && (err.status === 410 || err.code === 'syncStateNotFound' || err.code === 'resyncRequired');
}
