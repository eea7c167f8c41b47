import { OktaApiError } from '@okta/okta-sdk-nodejs';
import type { Logger } from '../../logging/logger.ts';
import { FeedExpiredError, SourceReadError } from '../../model/errors.ts';
import type { ChangeFeed, ChangeSet, FeedContext, FeedCursor, ScopedRead } from '../../model/idp.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { LOG_PAGE_SIZE, type LogStart, type OktaConnection, type Pager } from './client.ts';
import { OktaAbortedError, OktaMalformedError, OktaOffOriginError } from './errors.ts';
import { changedGroupReason, groupsThatMatter, pushMappingsReason, ruleMatchReason, type GroupEvent } from './feed-groups.ts';
import { pageCap, type PageCounter, type ReadDeps } from './listing.ts';
import { classify, decodeCursor, encodeCursor, LOG_FILTER, teamGroupsKey, type OktaFeedCursor } from './log-events.ts';
import { readOktaUsers } from './scoped-read.ts';
import type { FoundGroup, TeamGroupConfig } from './team-groups.ts';

/**
 * Okta's change feed for incremental runs: the System Log (okta.md §1.4), polled from where the
 * last run stopped, narrowed to the events that can change what Docker should hold, as hints; the
 * users they name are then read afresh (scoped-read.ts).
 *
 * Paging: through the SDK's `systemLogApi.listLogEvents` Collection, page by page by hand, like
 * the full read's listings (same executor: auth, origin check, retries, pacing). Not `for await`
 * or `.each()`: a polling query always has a `next` link, even on an empty page, so the SDK's
 * iteration yields `null` there and never ends (gotcha 2). A poll ends at the first empty page,
 * and its `next` link is the cursor kept for the next run, followed verbatim (never rebuilt).
 *
 * `start()` polls too, from a little before now to the end, and keeps Okta's own position there,
 * not a time of ours: what happened before it is the full read's to see, and what happens after
 * it is on the pages the next run reads, whatever the host's clock says.
 */

/**
 * How far before "now" `start()` (and a cursor set to a time) polls from. `since` is read on
 * Okta's clock, and may stay on the pages its `next` links lead to; a host clock running ahead of
 * Okta's would put it in Okta's future and hide what happens until then. A minute covers any clock
 * kept by NTP; the events `start()` reads there are not named, only passed.
 */
export const START_OVERLAP_MS = 60_000;

/** Runs `work` on the source's connection, one call of the source at a time, counting its requests. */
export type Exclusive = <T>(
  signal: AbortSignal | undefined,
  work: (conn: OktaConnection, requests: () => number, signal: AbortSignal | undefined) => Promise<T>,
) => Promise<T>;

export interface OktaFeedOptions {
  appId: string;
  /** OKTA_ORG_URL, normalised: a kept `next` link must be on its origin. */
  orgUrl: string;
  logger: Logger;
  /** MAX_USERS: bounds the log's pages as it bounds every listing's. */
  maxUsers: number;
  /** Users read at once by `readUsers`. */
  concurrency: number;
  observer?: TransportObserver;
  fail: (err: unknown, operation: string, subject: 'app' | 'group') => SourceReadError;
  exclusive: Exclusive;
  /** OKTA_TEAM_GROUPS and OKTA_GROUP_RULE: which group events matter, and what the cursor was taken for. */
  teamGroups: TeamGroupConfig;
}

const LOGS = 'GET /api/v1/logs';

/**
 * How long the team-group listing `changesSince` made stays good for the `readUsers` that follows
 * it (once). A group assigned or removed after the listing is in the log after the cursor, and the
 * next run reads everything for it; reusing the listing saves a request in the app bucket, the
 * tightest one (okta.md §3.1).
 */
const LISTING_REUSE_MS = 60_000;

export function createOktaFeed(o: OktaFeedOptions): ChangeFeed {
  const now = Date.now;
  let listing: { at: number; groups: FoundGroup[] } | null = null;
  const groups = teamGroupsKey(o.teamGroups.sources, o.teamGroups.rule);
  /** From a little before `at`, where the log may stand on Okta's clock (START_OVERLAP_MS). */
  const earlier = (at: number) => new Date(at - START_OVERLAP_MS).toISOString();
  const sinceCursor = (at: number): FeedCursor => encodeCursor({ v: 1, app: o.appId, since: earlier(at), groups });
  const nextCursor = (next: string, at: number): FeedCursor => encodeCursor({ v: 1, app: o.appId, next, groups, at: earlier(at) });
  const readDeps = (conn: OktaConnection, signal: AbortSignal | undefined): ReadDeps => ({
    lists: conn.lists,
    getJson: conn.getJson,
    teamGroups: o.teamGroups,
    appId: o.appId,
    logger: o.logger,
    signal,
    fail: o.fail,
    concurrency: o.concurrency,
    maxUsers: o.maxUsers,
    ...(o.observer ? { observer: o.observer } : {}),
  });

  return {
    start(signal?: AbortSignal): Promise<FeedCursor> {
      return o.exclusive(signal, async (conn, _requests, sig) => {
        const startedAt = now();
        const from = { since: earlier(startedAt), filter: LOG_FILTER };
        const polled = await poll({ o, conn, signal: sig, from, refusedIsExpiry: false, onPage: () => true });
        // No `next` link at the end (not what Okta's polling does): the time is the best position left.
        return polled.end !== null ? nextCursor(polled.end, startedAt) : sinceCursor(startedAt);
      });
    },

    async changesSince(cursor: FeedCursor, ctx: FeedContext, signal?: AbortSignal): Promise<ChangeSet> {
      const kept = keptCursor(cursor, o.appId, originOf(o.orgUrl), groups);
      listing = null;
      return o.exclusive(signal, (conn, requests, sig) =>
        readLog({ o, conn, deps: readDeps(conn, sig), cursor: kept, ctx, requests, startedAt: now(), sinceCursor, nextCursor, listed: (teams) => (listing = { at: now(), groups: teams }) }),
      );
    },

    readUsers(idpIds: readonly string[], signal?: AbortSignal): Promise<ScopedRead> {
      const fresh = listing !== null && now() - listing.at < LISTING_REUSE_MS ? listing.groups : undefined;
      listing = null;
      return o.exclusive(signal, (conn, requests, sig) => readOktaUsers(readDeps(conn, sig), idpIds, requests, fresh));
    },
  };
}

/** null for a URL that is not one: connecting then fails with the source's own configuration error. */
function originOf(orgUrl: string): string | null {
  try {
    return new URL(orgUrl).origin;
  } catch {
    return null;
  }
}

/** The state file's cursor, or FeedExpiredError when it cannot be followed: nothing is sent then. */
function keptCursor(text: FeedCursor, appId: string, origin: string | null, groups: string): OktaFeedCursor {
  const c = decodeCursor(text);
  const expired = (why: string) =>
    new FeedExpiredError(`okta: ${why}`, {
      system: 'okta',
      operation: 'resume the Okta System Log feed',
      hint: 'Nothing to do: this run reads everything, as a full run does, and keeps a fresh cursor.',
    });
  if (c === null) throw expired('the change-feed cursor in the state file is not one this version of the Okta source wrote');
  if (c.app !== appId) throw expired(`the change-feed cursor was taken for Okta app ${c.app}, and OKTA_APP_ID is now ${appId}`);
  // Other team groups: which members are in which team is only known from a full read.
  if ((c.groups ?? 'assigned') !== groups) throw expired(`the change-feed cursor was taken when team groups were found by ${c.groups ?? 'assigned'}, and OKTA_TEAM_GROUPS/OKTA_GROUP_RULE now say ${groups}`);
  if ('next' in c && origin !== null && new URL(c.next).origin !== origin) {
    // Invariant 10 holds for a kept link too: it was checked when it was kept, so another origin
    // here means OKTA_ORG_URL changed since (a custom domain, say).
    throw expired(`the change-feed cursor points to ${new URL(c.next).origin}, not to OKTA_ORG_URL's ${origin}`);
  }
  return c;
}

interface Poll {
  o: OktaFeedOptions;
  conn: OktaConnection;
  signal: AbortSignal | undefined;
  from: LogStart;
  /**
   * Each non-empty page's events, in order; returns false to stop polling early. Throws to fail the
   * read (a malformed event).
   */
  onPage: (items: unknown[], op: string) => boolean;
  /** A 400 on the first page is the kept position refused (FeedExpiredError); for `start()` it is an error like any. */
  refusedIsExpiry: boolean;
}

interface Polled {
  pages: number;
  entries: number;
  /** The `next` link of the last page read, checked to be on the org's origin; null when there was none, or polling stopped early. */
  end: string | null;
}

/**
 * Reads the System Log from `from` to its present end: page after page until one comes back
 * empty (the documented end of a poll; its `next` link is where the next poll starts), or
 * `onPage` says stop. Any page that fails after the executor's retries fails the whole poll.
 */
async function poll(p: Poll): Promise<Polled> {
  const { o, signal } = p;
  const op = (n: number) => `${LOGS} (page ${n})`;
  // A log that pages on past what MAX_USERS allows a listing is looping, not busy.
  const maxPages = pageCap(o.maxUsers, LOG_PAGE_SIZE);
  let pager: Pager;
  try {
    pager = await p.conn.lists.logEvents(p.from);
  } catch (err) {
    throw feedError(o.fail(err, op(1), 'app'));
  }
  const seen = new Set<string>();
  let page = 0;
  let entries = 0;
  let end: string | null = null;
  while (pager.nextUri !== undefined) {
    page += 1;
    if (signal?.aborted) throw o.fail(new OktaAbortedError(), op(page), 'app');
    if (page > maxPages) throw logTooLong(op(page), maxPages);
    let items: unknown;
    try {
      items = await pager.getNextPage();
    } catch (err) {
      // The kept link (or `since`) is the only thing a first page can be refused for.
      if (p.refusedIsExpiry && page === 1 && err instanceof OktaApiError && err.status === 400) throw cursorRefused(err, op(1));
      throw feedError(o.fail(err, op(page), 'app'));
    }
    if (!Array.isArray(items)) throw o.fail(new OktaMalformedError('the page is not a JSON array'), op(page), 'app');
    end = pager.nextUri ?? null;
    if (items.length === 0) break;
    entries += items.length;
    const uuids = items.map((e) => (e !== null && typeof e === 'object' && typeof (e as { uuid?: unknown }).uuid === 'string' ? (e as { uuid: string }).uuid : null));
    if (uuids.every((u) => u !== null && seen.has(u))) {
      throw o.fail(new OktaMalformedError('every event on the page was already read on an earlier page (a next link that goes round in circles)'), op(page), 'app');
    }
    for (const u of uuids) if (u !== null) seen.add(u);
    if (!p.onPage(items, op(page))) return { pages: page, entries, end: null };
  }
  return { pages: page, entries, end: end === null ? null : checkedLink(end, op(page), o) };
}

interface LogRead {
  o: OktaFeedOptions;
  conn: OktaConnection;
  deps: ReadDeps;
  cursor: OktaFeedCursor;
  ctx: FeedContext;
  requests: () => number;
  startedAt: number;
  sinceCursor: (at: number) => FeedCursor;
  nextCursor: (next: string, at: number) => FeedCursor;
  /** Told the team-group listing, when the log needed one. */
  listed: (teams: FoundGroup[]) => void;
}

async function readLog(r: LogRead): Promise<ChangeSet> {
  const { o, deps, ctx } = r;
  const started = performance.now();
  const named = new Set<string>();
  const members: Array<{ groupId: string; userId: string | null }> = [];
  const groupChanges: Array<{ groupId: string; name: string }> = [];
  const created: GroupEvent[] = [];
  let full: string | null = null;
  let dropped = 0;
  const tooMany = () => (named.size > ctx.maxUsers ? `the Okta System Log names more than ${ctx.maxUsers} users since the last run: a full read is cheaper` : null);

  const polled = await poll({
    o,
    conn: r.conn,
    signal: deps.signal,
    from: 'next' in r.cursor ? { next: r.cursor.next } : { since: r.cursor.since, filter: LOG_FILTER },
    refusedIsExpiry: true,
    onPage: (items, op) => {
      for (const [i, event] of items.entries()) {
        const v = classify(event, o.appId);
        switch (v.kind) {
          case 'malformed':
            throw o.fail(new OktaMalformedError(`event ${i + 1} is ${v.why}`), op, 'app');
          case 'user':
            named.add(v.userId);
            break;
          case 'managed-user':
            // A profile or lifecycle event is tenant-wide: it reaches us for every Okta user. Only
            // those this tool manages can have anything to change in Docker, so the others are
            // dropped without a request; a user not yet managed (held for bad input, say) is
            // picked up by the next full read. Assignment and membership events are never dropped:
            // they are how a new user reaches Docker.
            if (ctx.isManaged(v.userId)) named.add(v.userId);
            else dropped += 1;
            break;
          case 'member':
            members.push({ groupId: v.groupId, userId: v.userId });
            break;
          case 'group':
            groupChanges.push({ groupId: v.groupId, name: v.name });
            break;
          case 'group-created':
            created.push({ groupId: v.groupId, name: v.name, what: 'created' });
            break;
          case 'full':
            full ??= v.reason;
            break;
          case 'ignore':
            break;
        }
      }
      full ??= tooMany();
      // The run reads everything now; what is left of the log would only be read to be ignored.
      return full === null;
    },
  });

  const counter: PageCounter = { pages: 0 };
  const { sources, rule } = o.teamGroups;
  const ruleMode = sources.includes('rule') && rule !== null;
  // Group Push mappings have no events to follow: asked for by time, one request (feed-groups.ts).
  if (full === null && sources.includes('push')) full = await pushMappingsReason(deps, r.cursor.at ?? ('since' in r.cursor ? r.cursor.since : undefined), counter);

  // Membership and group events matter only for the groups assigned to the app (their members
  // have the app through them) and the team groups: their listings (feed-groups.ts), and only
  // when the log has such events. Under a rule, a new group may be a new team.
  if (full === null && (members.length > 0 || groupChanges.length > 0 || (ruleMode && created.length > 0))) {
    const groups = await groupsThatMatter(deps, counter);
    r.listed(groups.teams);
    full = changedGroupReason(groupChanges, groups);
    if (full === null && ruleMode) full = await ruleMatchReason([...created, ...groupChanges.map((g) => ({ ...g, what: 'changed' as const }))], groups, deps);
    for (const m of members) {
      if (full !== null || !groups.byId.has(m.groupId)) continue;
      if (m.userId === null) full = 'an Okta System Log membership event of a group assigned to the Docker app or a team group names no user to read again';
      else named.add(m.userId);
    }
    full ??= tooMany();
  }

  let next: FeedCursor;
  if (full !== null) {
    // The run reads everything instead, and what that read sees needs no event after this one.
    next = r.sinceCursor(r.startedAt);
  } else if (polled.end !== null) {
    next = r.nextCursor(polled.end, r.startedAt);
  } else {
    // Okta's polling always sends `next` (§1.4); without one, poll again from when this read began.
    o.logger.warn({ pages: polled.pages }, 'the Okta System Log answered without a next link; the next run polls from the time this one started');
    next = r.sinceCursor(r.startedAt);
  }

  const stats = { requests: r.requests(), pages: polled.pages + counter.pages, durationMs: Math.round(performance.now() - started) };
  o.logger.info({ entries: polled.entries, named: named.size, dropped, fullReadNeeded: full, ...stats }, 'okta change feed read');
  return { userIds: [...named], ...(full !== null ? { fullReadNeeded: full } : {}), next, entries: polled.entries, stats };
}

/**
 * The `next` link a poll ended on is kept unsent; it is checked as the executor checks every URL
 * it sends (invariant 10), so a link elsewhere fails this run rather than a later one.
 */
function checkedLink(link: string, op: string, o: OktaFeedOptions): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw o.fail(new OktaMalformedError('the next link is not an absolute URL'), op, 'app');
  }
  const origin = new URL(o.orgUrl).origin;
  if (url.origin !== origin) throw o.fail(new OktaOffOriginError(url.origin, origin, null), op, 'app');
  return link;
}

function cursorRefused(err: OktaApiError, op: string): FeedExpiredError {
  const code = typeof err.errorCode === 'string' ? err.errorCode : undefined;
  const summary = typeof err.errorSummary === 'string' ? err.errorSummary : undefined;
  const causes = Array.isArray(err.errorCauses) ? err.errorCauses.map((c) => (c as { errorSummary?: unknown }).errorSummary).filter((s): s is string => typeof s === 'string') : [];
  const remote = [summary, ...causes].filter(Boolean).join('; ');
  return new FeedExpiredError(`okta: the System Log refused the kept position (HTTP 400${code ? ` ${code}` : ''}${remote ? ` "${remote}"` : ''})`, {
    system: 'okta',
    operation: op,
    status: 400,
    ...(code ? { remoteCode: code } : {}),
    ...(remote ? { remoteMessage: remote } : {}),
    hint: 'Nothing to do: this run reads everything, as a full run does, and keeps a fresh cursor. The System Log keeps events for 90 days; runs further apart than that always read everything.',
    cause: err,
  });
}

/** The read error, with a hint for the one permission only the feed needs. */
function feedError(e: SourceReadError): SourceReadError {
  if (e.status !== 403 || !e.operation.startsWith(LOGS)) return e;
  return new SourceReadError(e.message, {
    system: 'okta',
    operation: e.operation,
    status: 403,
    ...(e.remoteCode ? { remoteCode: e.remoteCode } : {}),
    ...(e.remoteMessage ? { remoteMessage: e.remoteMessage } : {}),
    hint: 'Incremental runs read the Okta System Log. For an OAuth service app, grant and request okta.logs.read (OKTA_SCOPES) besides the read scopes; for an API token, create it as an admin whose role can read the System Log (Read-Only Administrator can). Full runs do not need it.',
    cause: e,
  });
}

function logTooLong(op: string, maxPages: number): SourceReadError {
  return new SourceReadError(`okta: ${op} refused: the System Log goes on past ${maxPages} pages of ${LOG_PAGE_SIZE} events since the last run`, {
    system: 'okta',
    operation: op,
    hint: `If Okta really logged more than ${maxPages * LOG_PAGE_SIZE} matching events since the last run (a bulk import, a long pause), run a full sync (without --incremental) to move the feed past them, or raise MAX_USERS; otherwise Okta (or a proxy) keeps sending next links that never end. The run was stopped before planning.`,
    transient: false,
  });
}
