import type { Logger } from '../../logging/logger.ts';
import { scrubber } from '../../logging/scrub.ts';
import { SourceReadError } from '../../model/errors.ts';
import type { IdpSnapshot, Source, TeamGroupVia } from '../../model/idp.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { connectOkta, normalizeOrgUrl, type OktaAuth, type OktaConnection } from './client.ts';
import { isPrivateKeyParseError, privateKeyError, toSourceReadError } from './errors.ts';
import { createOktaFeed, type Exclusive } from './feed.ts';
import { findOktaUsers } from './find-users.ts';
import { readOkta } from './read.ts';
import type { TeamGroupConfig } from './team-groups.ts';
import type { TeamGroupRule } from './transform.ts';

/**
 * The Okta source: reads who is assigned to the Docker app, with their app profile and the org:team
 * groups they are in (assigned to the app, matched by name rule or pushed: OKTA_TEAM_GROUPS), into
 * an IdpSnapshot; complete, or a SourceReadError. Its change feed (feed.ts) follows
 * the System Log between full reads, on the same connection.
 */

export type { OktaAuth } from './client.ts';

export interface OktaSourceOptions {
  /** May end with '/'; it is stripped (gotcha 6). http:// is allowed (config restricts it to loopback). */
  orgUrl: string;
  appId: string;
  auth: OktaAuth;
  logger: Logger;
  /** Per request, including its body. Default 30 000. */
  timeoutMs?: number;
  /** Retries for 429, 5xx, timeouts and resets. Default 4. */
  maxRetries?: number;
  /** Capped exponential backoff with full jitter. Default 1 000 / 30 000 ms. */
  backoff?: { baseMs: number; capMs: number };
  /**
   * The most users the app (or one group) may have. Each listing stops with an error after the
   * pages this many need, plus one, so a paging loop cannot keep a run going forever. Default 1 000 000.
   */
  maxUsers?: number;
  /** Sees every HTTP exchange (token requests included), retry, rate-limit wait and listing page. */
  observer?: TransportObserver;
  /** Shutdown: aborts every read of this source, as an aborted `read(signal)` does. */
  signal?: AbortSignal;
  /** Where the groups that become teams are found (OKTA_TEAM_GROUPS). Default: assigned to the app. */
  teamGroups?: readonly TeamGroupVia[];
  /** OKTA_GROUP_RULE; required when `teamGroups` includes 'rule'. */
  groupRule?: TeamGroupRule | null;
}

/** Group-member listings in flight at once; also the users an incremental run reads at once. */
const MEMBER_READ_CONCURRENCY = 4;

export function createOktaSource(opts: OktaSourceOptions): Source {
  const orgUrl = normalizeOrgUrl(opts.orgUrl);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxRetries = opts.maxRetries ?? 4;
  const backoff = opts.backoff ?? { baseMs: 1000, capMs: 30_000 };
  const maxUsers = opts.maxUsers ?? 1_000_000;
  // The config schema validates the setting; NaN here would quietly lift every page cap.
  if (!Number.isInteger(maxUsers) || maxUsers < 1) throw new RangeError(`okta source: maxUsers must be a positive integer, not ${maxUsers}`);
  const teamGroups: TeamGroupConfig = { sources: [...new Set<TeamGroupVia>(opts.teamGroups ?? ['assigned'])], rule: opts.groupRule ?? null };
  // The config schema refuses both; here they would read no team groups at all, and empty every team.
  if (teamGroups.sources.length === 0) throw new RangeError('okta source: teamGroups must name at least one of assigned, rule, push');
  if (teamGroups.sources.includes('rule') && teamGroups.rule === null) throw new RangeError('okta source: teamGroups includes rule but no groupRule was given');
  const auth = opts.auth;
  // Invariant 8: whatever text from Okta or a library ends up in an error is scrubbed of these.
  const scrub = scrubber(auth.kind === 'token' ? [auth.token] : [auth.privateKey]);
  const logger = opts.logger;

  // One SDK client for the source's life, so an OAuth access token is reused across reads.
  let connection: OktaConnection | null = null;
  // Reads (full, feed, scoped) run one at a time: the executor's per-read state (abort signal,
  // request count) is shared.
  let queue: Promise<unknown> = Promise.resolve();

  const fail = (err: unknown, operation: string, subject: 'app' | 'group' | 'token'): SourceReadError => {
    if (isPrivateKeyParseError(err)) return privateKeyError(operation);
    return toSourceReadError(err, { operation, subject, authKind: auth.kind, orgUrl, appId: opts.appId, timeoutMs, scrub });
  };

  function connect(): OktaConnection {
    if (connection === null) {
      try {
        // The SDK does not check the URL itself; a bad one would surface as a confusing first request.
        const url = new URL(orgUrl);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`unsupported protocol ${url.protocol}`);
        connection = connectOkta({ orgUrl, auth, logger, timeoutMs, maxRetries, backoff, ...(opts.observer ? { observer: opts.observer } : {}) });
      } catch (err) {
        // The SDK validates its settings when the client is built (URL, mode, missing values).
        throw new SourceReadError(`okta: the Okta client could not be set up: ${scrub(err instanceof Error ? err.message : String(err))}`, {
          system: 'okta',
          operation: 'configure the Okta client',
          hint: 'Check OKTA_ORG_URL (https://your-org.okta.com) and that the Okta credentials are set for the chosen authentication mode.',
        });
      }
    }
    return connection;
  }

  /** One read of any kind: queued behind the others, with the executor's session its own. */
  const exclusive: Exclusive = (callerSignal, work) => {
    const signal = eitherSignal(opts.signal, callerSignal);
    const run = queue.then(async () => {
      const conn = connect();
      const session = { signal, requests: 0 };
      conn.executor.session = session;
      try {
        return await work(conn, () => session.requests, signal);
      } finally {
        conn.executor.session = { signal: undefined, requests: 0 };
      }
    });
    // then(), not catch(): catch passes the snapshot through, and the queue would keep 100,000
    // users reachable through the whole apply.
    queue = run.then(() => undefined, () => undefined);
    return run;
  };

  return {
    kind: 'okta',
    read(signal?: AbortSignal): Promise<IdpSnapshot> {
      return exclusive(signal, async (conn, requests, sig) => {
        try {
          return await readOkta(
            {
              lists: conn.lists,
              getJson: conn.getJson,
              appId: opts.appId,
              logger,
              signal: sig,
              fail,
              concurrency: MEMBER_READ_CONCURRENCY,
              maxUsers,
              teamGroups,
              ...(opts.observer ? { observer: opts.observer } : {}),
            },
            requests,
          );
        } catch (err) {
          throw fail(err, `read the Docker app ${opts.appId} from Okta`, 'app');
        }
      });
    },
    findUserIds(emails: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, readonly string[]>> {
      return exclusive(signal, async (conn, _requests, sig) => {
        try {
          return await findOktaUsers({ lists: conn.lists, fail, signal: sig, maxUsers }, emails, { pages: 0 });
        } catch (err) {
          throw fail(err, 'find Okta users by email (GET /api/v1/users?search=…)', 'app');
        }
      });
    },
    feed: createOktaFeed({
      appId: opts.appId,
      orgUrl,
      logger,
      maxUsers,
      concurrency: MEMBER_READ_CONCURRENCY,
      ...(opts.observer ? { observer: opts.observer } : {}),
      fail,
      exclusive,
      teamGroups,
    }),
  };
}

/** The source's shutdown signal and the read's own, whichever aborts first. */
function eitherSignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  return a && b ? AbortSignal.any([a, b]) : (a ?? b);
}
