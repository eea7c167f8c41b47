import type { Directory, DirectoryGroup, DirectoryUser } from '../directory.ts';
import { Emulator, type EmulatorRequest, type EmulatorResponse, type Handler } from '../http/emulator.ts';
import { WindowLimiter, type WindowState } from '../http/rate-limit.ts';
import { ExpressionError } from './expression.ts';
import { oktaRequestId } from './faults.ts';
import { parseGroupSearch } from './group-search.ts';
import { parseUserSearch } from './user-search.ts';
import { OktaAuthServer, type OktaOAuthOptions } from './oauth.ts';
import { SystemLog } from './system-log.ts';
import { appJson, appUserJson, errorJson, groupAssignmentJson, groupJson, pushMappingId, pushMappingJson, userJson } from './wire.ts';

/**
 * The Okta Management API as the Docker sync reads it (okta.md §8), serving views of a Directory
 * over plain HTTP on 127.0.0.1, for the real `@okta/okta-sdk-nodejs`:
 * app users, app group assignments, group members, users (listed, or found with `search`), single
 * users, a user's groups, the app, the groups listing with `search` and `q`, single groups, the
 * app's Group Push mappings, and the
 * System Log (system-log.ts: the Directory's change log as Okta events); SSWS and
 * private_key_jwt auth (with DPoP if asked); Link-header paging with opaque cursors; Okta's error
 * bodies; per-bucket rate limits with the real headers.
 */

export interface OktaEmulatorOptions {
  directory: Directory;
  /** Default '0oadockerapp1'. */
  appId?: string;
  /** The SSWS token accepted. Default: a fixed sandbox value. */
  apiToken?: string;
  /** Enables `POST /oauth2/v1/token` for an OAuth service app using private_key_jwt. */
  oauth?: OktaOAuthOptions;
  latencyMs?: number;
  /**
   * Requests per window in each §3.1 bucket. Default 600 a minute, generous enough that tests only
   * meet it when they ask. `windowMs` (default 60 000) lets a test see a reset in seconds.
   */
  rateLimit?: OktaRateLimit | false;
  /**
   * `GET /api/v1/apps/{appId}/group-push/mappings`: served ('on', the default), or as an org
   * without that API answers (404 E0000007, 'absent') or credentials that may not read it
   * (403 E0000006, 'forbidden'). Also settable later on `pushApi`.
   */
  pushApi?: PushApi;
}

export type PushApi = 'on' | 'absent' | 'forbidden';

export type OktaBucket = 'apps' | 'app' | 'groups' | 'users' | 'oauth';
/**
 * `/api/v1/logs` has a bucket of its own (§3.1: 50 a minute on Enterprise, before the token's
 * share), and so has `/api/v1/groups/{id}` alone ('group': 600 to 1,000). Kept out of OktaBucket
 * so a table of every bucket's limit need not name them; unnamed, each gets `perMinute` like any
 * bucket.
 */
export type OktaRouteBucket = OktaBucket | 'logs' | 'group';

export interface OktaRateLimit {
  /** Requests per window in every bucket not named in `buckets`. */
  perMinute: number;
  windowMs?: number;
  /** Per-bucket limits, as okta.md §3.1 tabulates them (e.g. `/apps/*` far below `/groups`). */
  buckets?: Partial<Record<OktaRouteBucket, number>>;
  /** Windows start on the clock (see WindowLimiterOptions), for the benchmark's short windows. */
  align?: boolean;
}

/** The §3.1 bucket of each route, as the emulator counts them; the benchmark reads its floor from it. */
export const OKTA_ROUTE_BUCKETS = {
  getApp: 'app',
  listAppUsers: 'apps',
  getAppUser: 'apps',
  listAppGroups: 'apps',
  // Group Push mappings live under `/api/v1/apps/{id}/`, the app listings' bucket (§3.1).
  listGroupPushMappings: 'apps',
  // §3.1: "`/api/v1/groups` except `/api/v1/groups/{id}`" (the listing, search, members) and
  // "`/api/v1/groups/{id}` only" are two buckets.
  listGroups: 'groups',
  getGroup: 'group',
  listGroupUsers: 'groups',
  getUser: 'users',
  listUsers: 'users',
  // `/api/v1/users/{id}/groups` extends GET/POST `/api/v1/users` (§3.1's "extensions count
  // toward the base URL"); the emulator counts it with the other user reads.
  listUserGroups: 'users',
  listLogEvents: 'logs',
  token: 'oauth',
} as const satisfies Record<string, OktaRouteBucket>;

export const DEFAULT_APP_ID = '0oadockerapp1';
export const DEFAULT_API_TOKEN = '00sandbox-okta-api-token-not-a-secret';

/** Page-size bounds per list (okta.md §1). Group members have no documented max; 10 000 is a guard. */
const LIMITS = {
  appUsers: { min: 1, max: 500, def: 50 },
  appGroups: { min: 20, max: 200, def: 20 },
  groupUsers: { min: 1, max: 10_000, def: 1000 },
  // The spec gives `/users/{id}/groups` no paging parameters (a user's groups come in one answer);
  // the emulator pages past 10,000 all the same, so a reader that ignored `next` would be caught.
  userGroups: { min: 1, max: 10_000, def: 10_000 },
  // `/api/v1/groups`: Okta recommends at most 200 a page; no documented max. 10 000 is a guard.
  groups: { min: 1, max: 10_000, def: 10_000 },
  // `/api/v1/users`: default 200, no documented max (okta.md §1); 10 000 is a guard.
  users: { min: 1, max: 10_000, def: 200 },
  // Group Push mappings: no documented bounds (okta.md is silent); 100 by default, 1000 at most, chosen here.
  pushMappings: { min: 1, max: 1000, def: 100 },
} as const;

/** `q` is not paged: one answer of at most `limit` groups, 300 by default (SDK 8.1.0 `GroupApiListGroupsRequest.q`). */
const QUERY_DEFAULT_LIMIT = 300;

const PUSH_STATUSES = new Set(['ACTIVE', 'INACTIVE', 'ERROR']);

type Scope = 'okta.apps.read' | 'okta.groups.read' | 'okta.users.read' | 'okta.logs.read' | null;

/**
 * A position in a listing: which listing snapshot, the last id served, the next page number, and
 * whether an injected empty page comes first.
 */
interface Cursor {
  seq: number;
  after: string;
  page: number;
  empty: boolean;
}

/** Listing snapshots kept for paging; older ones are recomputed from the Directory if asked for. */
const MAX_SNAPSHOTS = 64;

export class OktaEmulator {
  readonly http: Emulator;
  readonly directory: Directory;
  readonly appId: string;
  readonly apiToken: string;
  /** Present when `oauth` was configured. */
  readonly authServer: OktaAuthServer | null;
  /**
   * Gotcha 2 switch: every page of a listing is followed by an empty page that still carries a
   * `next` link (to the real continuation, or to a final empty page). The SDK's `for await` yields
   * `null` there and `.each()` stops early; a correct reader neither stops nor duplicates.
   */
  emptyPageWithNext = false;
  /**
   * Users that are members of an assigned group but not yet app users: Okta applies group
   * assignments asynchronously, so for a while a member is missing from `/apps/{id}/users`.
   */
  readonly notYetAssigned = new Set<string>();
  /**
   * The origin clients reach this emulator by when a proxy sits in front (test/support/proxy.ts):
   * a client assertion's `aud` names the token URL on the origin the client was configured with.
   * null: the emulator's own.
   */
  publicOrigin: string | null = null;
  /** `/api/v1/logs`; tests reach it to expire cursors, prune the seeding's events or inject events. */
  readonly systemLog: SystemLog;
  /** Whether the Group Push mappings API is there (see OktaEmulatorOptions.pushApi). */
  pushApi: PushApi;
  private limiter: WindowLimiter;
  /**
   * The sorted id list of each listing in progress, taken when its first page is served. Sorting
   * the whole Directory for every page made a 100k-user read spend seconds in the emulator; a
   * snapshot per listing also keeps the page boundaries consistent. Objects are rendered live, so
   * attribute changes show on later pages; users added mid-listing show on the next listing.
   */
  private readonly snapshots = new Map<number, readonly { id: string }[]>();
  private nextSeq = 1;

  constructor(opts: OktaEmulatorOptions) {
    this.directory = opts.directory;
    this.appId = opts.appId ?? DEFAULT_APP_ID;
    this.apiToken = opts.apiToken ?? DEFAULT_API_TOKEN;
    this.authServer = opts.oauth ? new OktaAuthServer(opts.oauth) : null;
    this.pushApi = opts.pushApi ?? 'on';
    this.limiter = limiterFor(opts.rateLimit === undefined ? { perMinute: 600 } : opts.rateLimit);
    this.systemLog = new SystemLog({
      directory: this.directory,
      appId: this.appId,
      viaGroup: (u) => !this.notYetAssigned.has(u.id) && this.directory.assignedGroups().some((g) => g.members.has(u.id)),
    });

    this.http = new Emulator({
      name: 'okta',
      ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}),
      // Gotcha 3: the SDK cannot parse a body without this header.
      defaultHeaders: { 'content-type': 'application/json' },
    });
    this.http.notFound = (req) => this.error(404, 'E0000007', `Not found: Resource not found: ${req.path}`);
    this.http.onError = () => this.error(500, 'E0000009', 'Internal Server Error');

    const h = this.http;
    const route = (method: string, pattern: string, name: keyof typeof OKTA_ROUTE_BUCKETS, scope: Scope, handler: Handler) =>
      h.route(method, pattern, name, this.api(OKTA_ROUTE_BUCKETS[name], scope, handler));
    route('GET', '/api/v1/apps/:appId', 'getApp', 'okta.apps.read', (r) => this.getApp(r));
    route('GET', '/api/v1/apps/:appId/users', 'listAppUsers', 'okta.apps.read', (r) => this.listAppUsers(r));
    route('GET', '/api/v1/apps/:appId/users/:userId', 'getAppUser', 'okta.apps.read', (r) => this.getAppUser(r));
    route('GET', '/api/v1/apps/:appId/groups', 'listAppGroups', 'okta.apps.read', (r) => this.listAppGroups(r));
    route('GET', '/api/v1/apps/:appId/group-push/mappings', 'listGroupPushMappings', 'okta.apps.read', (r) => this.listGroupPushMappings(r));
    route('GET', '/api/v1/groups', 'listGroups', 'okta.groups.read', (r) => this.listGroups(r));
    route('GET', '/api/v1/groups/:groupId', 'getGroup', 'okta.groups.read', (r) => this.getGroup(r));
    route('GET', '/api/v1/groups/:groupId/users', 'listGroupUsers', 'okta.groups.read', (r) => this.listGroupUsers(r));
    route('GET', '/api/v1/users', 'listUsers', 'okta.users.read', (r) => this.listUsers(r));
    route('GET', '/api/v1/users/:userId', 'getUser', 'okta.users.read', (r) => this.getUser(r));
    route('GET', '/api/v1/users/:userId/groups', 'listUserGroups', 'okta.users.read', (r) => this.listUserGroups(r));
    route('GET', '/api/v1/logs', 'listLogEvents', 'okta.logs.read', (r) => this.listLogEvents(r));
    route('POST', '/oauth2/v1/token', 'token', null, (r) => this.token(r));
  }

  start(port = 0): Promise<string> {
    return this.http.start(port);
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** The rate-limit window state per bucket is forgotten (e.g. between test phases). */
  resetRateLimits(): void {
    this.limiter.reset();
  }

  /** Replaces the limits, with fresh windows (the benchmark turns them on after an unlimited setup run). */
  setRateLimit(rl: OktaRateLimit | false): void {
    this.limiter = limiterFor(rl);
  }

  /** Wraps a handler with what every Okta response has: rate limiting, auth, request id, limit headers. */
  private api(bucket: OktaRouteBucket, scope: Scope, handler: Handler): Handler {
    return async (req) => {
      const window = this.limiter.hit(bucket);
      let res: EmulatorResponse;
      if (window.limited) {
        res = this.error(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
      } else {
        res = (bucket === 'oauth' ? null : this.authorize(req, scope)) ?? (await handler(req));
      }
      res.headers = { ...rateHeaders(window), 'x-okta-request-id': oktaRequestId(), ...(res.headers ?? {}) };
      return res;
    };
  }

  /** null when allowed; otherwise the 401/403 Okta would send. */
  private authorize(req: EmulatorRequest, scope: Scope): EmulatorResponse | null {
    const auth = req.headers.authorization ?? '';
    if (auth === `SSWS ${this.apiToken}`) return null;
    if (this.authServer && /^(Bearer|DPoP) /.test(auth)) {
      const verdict = this.authServer.check(req, auth);
      if (!verdict.ok) return this.error(401, 'E0000011', 'Invalid token provided');
      if (scope && verdict.scopes !== 'all' && !verdict.scopes.has(scope)) {
        return this.error(403, 'E0000006', 'You do not have permission to perform the requested action');
      }
      return null;
    }
    return this.error(401, 'E0000011', 'Invalid token provided');
  }

  private error(status: number, code: string, summary: string): EmulatorResponse {
    return { status, body: errorJson(code, summary, oktaRequestId()) };
  }

  private token(req: EmulatorRequest): EmulatorResponse {
    if (!this.authServer) return this.error(404, 'E0000007', 'Not found: Resource not found: /oauth2/v1/token');
    return this.authServer.token(req, `${this.publicOrigin ?? this.baseUrl}/oauth2/v1/token`);
  }

  private appNotFound(req: EmulatorRequest): EmulatorResponse | null {
    if (req.params.appId === this.appId) return null;
    return this.error(404, 'E0000007', `Not found: Resource not found: ${req.params.appId ?? ''} (AppInstance)`);
  }

  private getApp(req: EmulatorRequest): EmulatorResponse {
    return this.appNotFound(req) ?? { status: 200, body: appJson(this.baseUrl, this.appId) };
  }

  /** App users: the Directory's assigned users, minus those whose group assignment Okta has not applied yet. */
  private appUsers(): DirectoryUser[] {
    return this.directory.assignedUsers().filter((u) => u.assigned || !this.notYetAssigned.has(u.id));
  }

  /** The same test as appUsers() for one user. */
  private isAppUser(u: DirectoryUser): boolean {
    if (u.assigned) return true;
    if (this.notYetAssigned.has(u.id)) return false;
    return this.directory.assignedGroups().some((g) => g.members.has(u.id));
  }

  /** The assigned group that gives a user the app (first by id, as a stand-in for assignment priority). */
  private viaGroup(u: DirectoryUser, assignedById: readonly DirectoryGroup[]): DirectoryGroup | null {
    if (u.assigned) return null;
    return assignedById.find((g) => g.members.has(u.id)) ?? null;
  }

  private listAppUsers(req: EmulatorRequest): EmulatorResponse {
    const missing = this.appNotFound(req);
    if (missing) return missing;
    const expandUser = req.query.get('expand') === 'user';
    const groups = sortById(this.directory.assignedGroups());
    return this.page(req, LIMITS.appUsers, () => this.appUsers(), (u) =>
      appUserJson(u, { base: this.baseUrl, appId: this.appId, viaGroup: this.viaGroup(u, groups), expandUser }),
    );
  }

  private getAppUser(req: EmulatorRequest): EmulatorResponse {
    const missing = this.appNotFound(req);
    if (missing) return missing;
    // One user's assignment, without listing (and sorting) every assigned user per request.
    const u = this.directory.users.get(req.params.userId ?? '');
    if (!u || !this.isAppUser(u)) return this.error(404, 'E0000007', `Not found: Resource not found: ${req.params.userId ?? ''} (AppUser)`);
    const expandUser = req.query.get('expand') === 'user';
    const groups = sortById(this.directory.assignedGroups());
    return { status: 200, body: appUserJson(u, { base: this.baseUrl, appId: this.appId, viaGroup: this.viaGroup(u, groups), expandUser }) };
  }

  private listAppGroups(req: EmulatorRequest): EmulatorResponse {
    const missing = this.appNotFound(req);
    if (missing) return missing;
    const groups = sortById(this.directory.assignedGroups());
    const expandGroup = req.query.get('expand') === 'group';
    return this.page(req, LIMITS.appGroups, () => groups, (g) =>
      groupAssignmentJson(this.baseUrl, this.appId, g, groups.indexOf(g), expandGroup),
    );
  }

  /**
   * `GET /api/v1/groups`: every group, paged; or those a `search` selects (group-search.ts), paged
   * alike; or, with `q`, those whose name starts with it, in one answer without a `next` link, cut
   * at `limit` (300 by default): Okta's "you can't page a query". `search` wins over `q`.
   */
  private listGroups(req: EmulatorRequest): EmulatorResponse {
    if (req.query.get('filter') !== null) return this.error(400, 'E0000001', 'Api validation failed: filter (not emulated)');
    const search = req.query.get('search');
    const q = req.query.get('q');
    const all = () => [...this.directory.groups.values()];
    if (search !== null) {
      let selects: (g: DirectoryGroup) => boolean;
      try {
        selects = parseGroupSearch(search);
      } catch (err) {
        if (err instanceof ExpressionError) return this.error(400, 'E0000031', `Invalid search criteria: ${err.message}`);
        throw err;
      }
      return this.page(req, LIMITS.groups, () => all().filter(selects), (g) => groupJson(this.baseUrl, g));
    }
    if (q !== null) {
      const limitParam = req.query.get('limit');
      const limit = limitParam === null ? QUERY_DEFAULT_LIMIT : Number(limitParam);
      if (!Number.isInteger(limit) || limit < 1) return this.error(400, 'E0000001', 'Api validation failed: limit');
      const hits = sortById(all().filter((g) => g.name.toLowerCase().startsWith(q.toLowerCase()))).slice(0, limit);
      const self = new URL(req.path, this.baseUrl);
      for (const [k, v] of req.query) self.searchParams.append(k, v);
      return { status: 200, headers: { link: [`<${self.href}>; rel="self"`] }, body: hits.map((g) => groupJson(this.baseUrl, g)), page: 1 };
    }
    return this.page(req, LIMITS.groups, all, (g) => groupJson(this.baseUrl, g));
  }

  private getGroup(req: EmulatorRequest): EmulatorResponse {
    const g = this.directory.groups.get(req.params.groupId ?? '');
    if (!g) return this.error(404, 'E0000007', `Not found: Resource not found: ${req.params.groupId ?? ''} (UserGroup)`);
    return { status: 200, body: groupJson(this.baseUrl, g) };
  }

  /**
   * `GET /api/v1/apps/{appId}/group-push/mappings`: one mapping per group with a `pushed` status,
   * paged by mapping id, narrowed by `status`, `sourceGroupId` and `lastUpdated` (on or after, in
   * `YYYY-MM-DDTHH:mm:ssZ` as the SDK documents; a fraction of a second is accepted too).
   */
  private listGroupPushMappings(req: EmulatorRequest): EmulatorResponse {
    if (this.pushApi === 'absent') return this.error(404, 'E0000007', `Not found: Resource not found: ${req.path}`);
    if (this.pushApi === 'forbidden') return this.error(403, 'E0000006', 'You do not have permission to perform the requested action');
    const missing = this.appNotFound(req);
    if (missing) return missing;
    const status = req.query.get('status');
    if (status !== null && !PUSH_STATUSES.has(status)) return this.error(400, 'E0000001', 'Api validation failed: status');
    const lastUpdatedParam = req.query.get('lastUpdated');
    const since = lastUpdatedParam === null ? null : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(lastUpdatedParam) ? Date.parse(lastUpdatedParam) : NaN;
    if (Number.isNaN(since)) return this.error(400, 'E0000001', 'Api validation failed: lastUpdated');
    const source = req.query.get('sourceGroupId');
    const mappings = () =>
      [...this.directory.groups.values()]
        .filter((g) => g.pushed && (status === null || g.pushed === status) && (source === null || g.id === source) && (since === null || (g.pushUpdated ?? 0) >= since))
        .map((g) => ({ id: pushMappingId(this.appId, g.id), group: g }));
    return this.page(req, LIMITS.pushMappings, mappings, (m) => pushMappingJson(this.baseUrl, this.appId, m.group));
  }

  private listGroupUsers(req: EmulatorRequest): EmulatorResponse {
    const g = this.directory.groups.get(req.params.groupId ?? '');
    if (!g) return this.error(404, 'E0000007', `Not found: Resource not found: ${req.params.groupId ?? ''} (UserGroup)`);
    return this.page(req, LIMITS.groupUsers, () => this.directory.membersOf(g.id), (u) => userJson(this.baseUrl, u));
  }

  /**
   * `GET /api/v1/users`: every user, paged; or those a `search` selects (user-search.ts), paged
   * alike. `filter` and `q` are not emulated: a reader that sends them gets a 400, not a silently
   * unfiltered list.
   */
  private listUsers(req: EmulatorRequest): EmulatorResponse {
    for (const p of ['filter', 'q']) if (req.query.get(p) !== null) return this.error(400, 'E0000001', `Api validation failed: ${p} (not emulated)`);
    const search = req.query.get('search');
    let selects: (u: DirectoryUser) => boolean = () => true;
    if (search !== null) {
      try {
        selects = parseUserSearch(search);
      } catch (err) {
        if (err instanceof ExpressionError) return this.error(400, 'E0000031', `Invalid search criteria: ${err.message}`);
        throw err;
      }
    }
    return this.page(req, LIMITS.users, () => [...this.directory.users.values()].filter(selects), (u) => userJson(this.baseUrl, u));
  }

  private getUser(req: EmulatorRequest): EmulatorResponse {
    const idOrLogin = req.params.userId ?? '';
    let u: DirectoryUser;
    try {
      u = this.directory.user(idOrLogin);
    } catch {
      return this.error(404, 'E0000007', `Not found: Resource not found: ${idOrLogin} (User)`);
    }
    return { status: 200, body: userJson(this.baseUrl, u) };
  }

  /** The groups a user is a direct member of, every group (Okta's answer is not narrowed to the app). */
  private listUserGroups(req: EmulatorRequest): EmulatorResponse {
    const u = this.directory.users.get(req.params.userId ?? '');
    if (!u) return this.error(404, 'E0000007', `Not found: Resource not found: ${req.params.userId ?? ''} (User)`);
    const groups = [...this.directory.groups.values()].filter((g) => g.members.has(u.id));
    return this.page(req, LIMITS.userGroups, () => groups, (g) => groupJson(this.baseUrl, g));
  }

  /**
   * `/api/v1/logs` (okta.md §1.4): the page comes from the SystemLog; the links are made here like
   * every listing's, `self` and `next` as two `link` headers with absolute URLs on this server.
   */
  private listLogEvents(req: EmulatorRequest): EmulatorResponse {
    const answer = this.systemLog.query(req.query);
    if (!answer.ok) {
      const body = errorJson('E0000001', answer.summary, oktaRequestId());
      if (answer.cause) body.errorCauses = [{ errorSummary: answer.cause }];
      return { status: 400, body };
    }
    const self = new URL(req.path, this.baseUrl);
    for (const [k, v] of req.query) self.searchParams.append(k, v);
    const links = [`<${self.href}>; rel="self"`];
    if (answer.after !== null) {
      const next = new URL(req.path, this.baseUrl);
      for (const [k, v] of req.query) if (k !== 'after') next.searchParams.append(k, v);
      next.searchParams.set('after', answer.after);
      links.push(`<${next.href}>; rel="next"`);
    }
    return { status: 200, headers: { link: links }, body: answer.events, page: answer.page };
  }

  /**
   * One page of a listing sorted by id, with `link` headers as real Okta sends them: `self` and
   * `next` as two separate headers, absolute URLs on this server (the SDK follows `next` verbatim,
   * host included). The cursor is opaque; it names the listing's snapshot and the last id
   * served, so no item is skipped or served twice however the Directory changes between pages.
   */
  private page<T extends { id: string }>(
    req: EmulatorRequest,
    bounds: { min: number; max: number; def: number },
    list: () => readonly T[],
    render: (item: T) => unknown,
  ): EmulatorResponse {
    const limitParam = req.query.get('limit');
    let limit: number = bounds.def;
    if (limitParam !== null) {
      const n = Number(limitParam);
      if (!Number.isInteger(n)) return this.error(400, 'E0000001', `Api validation failed: limit`);
      // Above or below the documented bounds real Okta's behaviour is unverified (okta.md §9); clamp.
      limit = Math.min(bounds.max, Math.max(bounds.min, n));
    }
    const cursor = decodeCursor(req.query.get('after'));
    if (cursor === 'invalid') return this.error(400, 'E0000001', 'Api validation failed: after');
    const pageNo = cursor?.page ?? 1;
    let seq = cursor?.seq ?? 0;
    let all = this.snapshots.get(seq) as readonly T[] | undefined;
    if (!all) {
      all = sortById(list());
      seq = this.nextSeq++;
      this.snapshots.set(seq, all);
      if (this.snapshots.size > MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value as number);
    }
    const start = cursor === null ? 0 : firstAfter(all, cursor.after);
    const items = cursor?.empty ? [] : all.slice(start, start + limit);
    const last = items.at(-1)?.id ?? cursor?.after ?? '';
    const more = firstAfter(all, last) < all.length && (cursor?.empty || items.length === limit);

    const self = new URL(req.path, this.baseUrl);
    for (const [k, v] of req.query) self.searchParams.append(k, v);
    const links = [`<${self.href}>; rel="self"`];
    let nextCursor: Cursor | null = null;
    if (this.emptyPageWithNext && !cursor?.empty) nextCursor = { seq, after: last, page: pageNo + 1, empty: true };
    else if (more) nextCursor = { seq, after: last, page: pageNo + 1, empty: false };
    if (nextCursor) {
      const next = new URL(req.path, this.baseUrl);
      for (const [k, v] of req.query) if (k !== 'after') next.searchParams.append(k, v);
      next.searchParams.set('after', encodeCursor(nextCursor));
      next.searchParams.set('limit', String(limit));
      links.push(`<${next.href}>; rel="next"`);
    }
    return { status: 200, headers: { link: links }, body: items.map(render), page: pageNo };
  }
}

function limiterFor(rl: OktaRateLimit | false): WindowLimiter {
  // Disabled still sends the headers (real Okta always does), from a limit nothing reaches.
  if (rl === false) return new WindowLimiter(Number.MAX_SAFE_INTEGER, 60_000);
  return new WindowLimiter(rl.perMinute, rl.windowMs ?? 60_000, Date.now, { perBucket: rl.buckets ?? {}, align: rl.align ?? false });
}

function rateHeaders(w: WindowState): Record<string, string> {
  return {
    'x-rate-limit-limit': String(w.limit),
    'x-rate-limit-remaining': String(w.remaining),
    'x-rate-limit-reset': String(w.resetAt),
  };
}

function sortById<T extends { id: string }>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Index of the first item whose id sorts after `id` (items sorted by id). */
function firstAfter(items: readonly { id: string }[], id: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as { id: string }).id <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.seq, c.after, c.page, c.empty ? 1 : 0])).toString('base64url');
}

function decodeCursor(raw: string | null): Cursor | null | 'invalid' {
  if (raw === null || raw === '') return null;
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'string' || typeof v[2] !== 'number') return 'invalid';
    return { seq: v[0], after: v[1], page: v[2], empty: v[3] === 1 };
  } catch {
    return 'invalid';
  }
}
