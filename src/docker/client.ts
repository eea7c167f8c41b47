/**
 * The Docker SCIM 2.0 client: what the tool reads from and writes to Docker, in the project's own
 * types. Paging, lookups and the create/409 dance live here; transport concerns (retries, pacing,
 * concurrency, errors) live in http.ts; wire shapes in wire.ts.
 *
 * Deprovisioning is `active:false` through replaceUser; there is deliberately no delete method.
 */
import type { Logger } from '../logging/logger.ts';
import type { DockerCapabilities, DockerGroup, DockerSnapshot, DockerUser, UserAttributes } from '../model/docker.ts';
import type { TransportObserver } from '../model/telemetry.ts';
import { DockerApiError, badResponseError, readLimitError, responseError } from './errors.ts';
import { eachLimited } from '../util/concurrency.ts';
import { eqFilter } from './filter.ts';
import { ScimTransport, type ScimResponse, type TransportStats } from './http.ts';
import { WireError, groupBody, membersPatch, readGroup, readIds, readList, readPatchSupport, readUser, userBody, type ReadGroup } from './wire.ts';

export interface DockerClientOptions {
  /** The SCIM base URL, opaque (e.g. https://hub.docker.com/v2/scim/2.0); a trailing '/' is fine. */
  baseUrl: string;
  token: string;
  logger: Logger;
  /** Per request, default 30_000. */
  timeoutMs?: number;
  /** Default 5 (429, 5xx, timeouts, resets). */
  maxRetries?: number;
  /** Max requests in flight across the client, default 4. */
  concurrency?: number;
  /** Default 200, never more than 200 (Docker's documented maximum). */
  pageSize?: number;
  /**
   * The most accounts (and, separately, teams) a listing may hold, default 1,000,000. It caps a
   * listing at ceil(maxUsers / pageSize) + 1 pages, so a server that never stops answering with new
   * pages stops the run instead of holding it forever.
   */
  maxUsers?: number;
  /** Team member changes per PATCH request, default 100. */
  membersPerPatch?: number;
  /** Default 500 / 30_000. */
  backoff?: { baseMs: number; capMs: number };
  userAgent?: string;
  /** Sees every HTTP exchange, retry, rate-limit wait and listing page (the daemon's metrics). */
  observer?: TransportObserver;
  /**
   * Shutdown. Ends retry, Retry-After and pacing waits at once, without sending the request again,
   * and stops a listing between pages. A request in flight is answered (a write Docker did is known).
   */
  signal?: AbortSignal;
}

export type DockerClientStats = TransportStats;

/** Docker documents `count` as 1–200 (reference §3.2). */
const MAX_PAGE_SIZE = 200;
const DEFAULT_MAX_USERS = 1_000_000;
/**
 * Pages a listing may take beyond what the first page's totalResults needs. Accounts added by hand
 * or by JIT while the listing runs can push its end a page or so further; a total that keeps
 * growing past that is a server that never lets the listing end, and is treated as one.
 */
const PAGE_SLACK = 2;

/** userNames `or`-ed into one filter: short enough for any URL limit (about 60 characters each). */
const NAMES_PER_LOOKUP = 20;

export class DockerScimClient {
  private readonly http: ScimTransport;
  private readonly log: Logger;
  private readonly pageSize: number;
  private readonly membersPerPatch: number;
  private readonly maxUsers: number;
  private readonly observer: TransportObserver | undefined;
  private readonly signal: AbortSignal | undefined;
  /** Listing pages requested ahead of the one being read (see `pages`). */
  private readonly readAhead: number;
  /** Lookups in flight at once (the transport bounds and paces requests in any case). */
  private readonly concurrency: number;

  constructor(opts: DockerClientOptions) {
    if (!opts.baseUrl) throw new TypeError('DockerScimClient: baseUrl is required');
    if (!opts.token) throw new TypeError('DockerScimClient: token is required');
    this.log = opts.logger;
    this.pageSize = clamp(opts.pageSize ?? MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    this.membersPerPatch = Math.max(1, Math.floor(opts.membersPerPatch ?? 100));
    this.maxUsers = Math.max(1, Math.floor(opts.maxUsers ?? DEFAULT_MAX_USERS));
    this.observer = opts.observer;
    this.signal = opts.signal;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
    this.readAhead = 2 * this.concurrency;
    this.http = new ScimTransport({
      baseUrl: opts.baseUrl,
      token: opts.token,
      logger: opts.logger,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxRetries: Math.max(0, Math.floor(opts.maxRetries ?? 5)),
      concurrency: Math.max(1, Math.floor(opts.concurrency ?? 4)),
      backoff: opts.backoff ?? { baseMs: 500, capMs: 30_000 },
      userAgent: opts.userAgent ?? 'docker-idp-sync',
      ...(opts.observer ? { observer: opts.observer } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  get stats(): DockerClientStats {
    return this.http.stats;
  }

  /** Every user, page by page (count ≤ 200). Throws on any failed page: never a partial list. */
  async *users(): AsyncGenerator<DockerUser> {
    yield* this.pages('/Users', readUser);
  }

  /** Every group with its members. */
  async *groups(): AsyncGenerator<DockerGroup> {
    for await (const g of this.pages('/Groups', readGroup)) {
      // A list may leave members out (RFC 7644 lets servers trim large attributes); an empty team
      // read that way would make the planner re-add everyone, so ask for the group itself.
      yield g.hasMembers ? g.group : await this.groupById(g.group.id, g.group.displayName);
    }
  }

  /** Users and groups, complete or throws; no groups at all when this run does not sync teams. */
  async snapshot(opts: { groups?: boolean } = {}): Promise<DockerSnapshot> {
    // Both listings run at once (they share the client's concurrency); the first failure stops the other.
    const stop = { now: false };
    const collect = async <T>(gen: AsyncGenerator<T>): Promise<T[]> => {
      const out: T[] = [];
      try {
        for await (const item of gen) {
          if (stop.now) break;
          out.push(item);
        }
      } catch (err) {
        stop.now = true;
        throw err;
      }
      return out;
    };
    const [users, groups] = await Promise.all([collect(this.users()), opts.groups === false ? [] : collect(this.groups())]);
    return { users, groups };
  }

  /**
   * What an incremental run needs of Docker instead of every account: the accounts with these
   * userNames, and with these ids, and every team with its members (a few requests: the planner
   * must know which teams the accounts are in). The userNames go `or`-ed into a few filtered
   * listings (Docker documents `or`); only a linked id none of them returned (renamed by hand, or
   * gone) costs a GET of its own. Complete or throws, like `snapshot()`: a lookup that failed is
   * never taken for an account that does not exist.
   */
  async lookup(ids: readonly string[], userNames: readonly string[], opts: { groups?: boolean } = {}): Promise<DockerSnapshot> {
    const byId = new Map<string, DockerUser>();
    const keep = (u: DockerUser | null) => {
      if (u && !byId.has(u.id)) byId.set(u.id, u);
    };
    const names = [...new Map(userNames.map((n) => [n.toLowerCase(), n])).values()];
    const chunks: string[][] = [];
    for (let i = 0; i < names.length; i += NAMES_PER_LOOKUP) chunks.push(names.slice(i, i + NAMES_PER_LOOKUP));
    const groups: DockerGroup[] = [];
    await Promise.all([
      eachLimited(chunks, this.concurrency, async (chunk) => {
        for (const u of await this.findUsersByUserNames(chunk)) keep(u);
      }),
      (async () => {
        if (opts.groups === false) return;
        for await (const g of this.groups()) groups.push(g);
      })(),
    ]);
    const missing = [...new Set(ids)].filter((id) => !byId.has(id));
    await eachLimited(missing, this.concurrency, async (id) => keep(await this.getUser(id)));
    // In the order a listing would give, so the planner's first-account-wins rule does not depend on timing.
    const users = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { users, groups };
  }

  /** The accounts with any of these userNames (case-insensitively, as Docker compares them): one filtered listing. */
  async findUsersByUserNames(userNames: readonly string[]): Promise<DockerUser[]> {
    if (userNames.length === 0) return [];
    if (userNames.length > NAMES_PER_LOOKUP) throw new RangeError(`at most ${NAMES_PER_LOOKUP} userNames a lookup`);
    const label = `find ${userNames.length} user${userNames.length === 1 ? '' : 's'} by userName`;
    const filter = userNames.map((n) => eqFilter('userName', n)).join(' or ');
    const res = await this.http.request({ method: 'GET', path: '/Users', query: { filter, startIndex: 1, count: MAX_PAGE_SIZE }, label });
    const op = `GET /Users (${label})`;
    const list = this.read(res, op, readList);
    const users = list.resources.map((r) => this.read(res, op, () => readUser(r)));
    const wanted = new Set(userNames.map((n) => n.toLowerCase()));
    // userNames are unique in Docker, so one page holds them all; more, or others, is not an answer to this question.
    if ((list.totalResults ?? users.length) > users.length) throw badResponseError(op, res.status, `${list.totalResults} accounts match ${userNames.length} userNames, more than one page`);
    const stray = users.find((u) => !wanted.has(u.userName.toLowerCase()));
    if (stray) throw badResponseError(op, res.status, `the answer holds ${stray.userName}, which was not asked for`);
    return users;
  }

  /** The user with this userName (compared case-insensitively, as Docker does), or null. */
  async findUserByUserName(userName: string): Promise<DockerUser | null> {
    const label = `find user ${userName}`;
    const res = await this.http.request({ method: 'GET', path: '/Users', query: { filter: eqFilter('userName', userName), startIndex: 1, count: 10 }, label });
    const users = this.read(res, `GET /Users (${label})`, (b) => readList(b).resources.map(readUser));
    return users.find((u) => u.userName === userName) ?? users.find((u) => u.userName.toLowerCase() === userName.toLowerCase()) ?? null;
  }

  /** The user, or null when Docker no longer has it (404). */
  async getUser(id: string): Promise<DockerUser | null> {
    const res = await this.http.request({ method: 'GET', path: `/Users/${encodeURIComponent(id)}`, accept: [404] });
    if (res.status === 404) return null;
    return this.read(res, `GET /Users/${id}`, (b) => sameId(readUser(b), id));
  }

  /**
   * POST /Users. A 409 means the userName is taken: the existing account is looked up and returned
   * with `existed: true`, for the caller to adopt or refuse. When the 409 follows an attempt whose
   * answer was lost (timeout, reset, 5xx), the account is almost certainly the one that attempt
   * created, so it is returned as created (`existed: false`); the planner saw no such account.
   */
  async createUser(attrs: UserAttributes): Promise<{ user: DockerUser; existed: boolean }> {
    const label = `create ${attrs.userName}`;
    const res = await this.http.request({ method: 'POST', path: '/Users', body: userBody(attrs), label, accept: [409] });
    if (res.status !== 409) {
      const user = await this.created(res, `POST /Users (${label})`, 'user', attrs.userName, readUser, (u) => u.userName, (n) => this.findUserByUserName(n));
      return { user, existed: false };
    }
    const user = await this.findUserByUserName(attrs.userName);
    if (!user) throw this.conflictWithoutMatch(res, `POST /Users (${label})`);
    const ours = res.ambiguousAttempts > 0;
    this.log.info(
      { userName: attrs.userName, dockerId: user.id, ambiguousAttempts: res.ambiguousAttempts },
      ours
        ? `docker: ${attrs.userName} answered 409 after a lost answer to an earlier attempt: taking it as created by that attempt`
        : `docker: ${attrs.userName} already exists in Docker (409); found it by userName`,
    );
    return { user, existed: !ours };
  }

  /**
   * PUT /Users/{id} with every managed attribute, `active` always explicit. An answer describing
   * another id is a bad response: the write went to the id in the URL, but nothing in such an
   * answer can be trusted, and DOCKER_BAD_RESPONSE is what makes the journal treat the write as
   * unconfirmed, for the next run to re-read. Its userName is not checked: whether Docker applies
   * a rename on PUT is undocumented, and the next run's read shows what it did.
   */
  async replaceUser(id: string, attrs: UserAttributes): Promise<DockerUser> {
    const label = `update ${attrs.userName}`;
    const res = await this.http.request({ method: 'PUT', path: `/Users/${encodeURIComponent(id)}`, body: userBody(attrs), label });
    return this.read(res, `PUT /Users/${id} (${label})`, (b) => sameId(readUser(b), id));
  }

  async findGroupByName(displayName: string): Promise<DockerGroup | null> {
    const label = `find team ${displayName}`;
    const res = await this.http.request({ method: 'GET', path: '/Groups', query: { filter: eqFilter('displayName', displayName), startIndex: 1, count: 10 }, label });
    const groups = this.read(res, `GET /Groups (${label})`, (b) => readList(b).resources.map(readGroup));
    const match = groups.find((g) => g.group.displayName === displayName) ?? groups.find((g) => g.group.displayName.toLowerCase() === displayName.toLowerCase());
    if (!match) return null;
    return match.hasMembers ? match.group : this.groupById(match.group.id, match.group.displayName);
  }

  /** POST /Groups for an `org:team` name; a 409 is answered with the existing group. */
  async createGroup(displayName: string, externalId?: string): Promise<{ group: DockerGroup; existed: boolean }> {
    const label = `create team ${displayName}`;
    const res = await this.http.request({ method: 'POST', path: '/Groups', body: groupBody(displayName, externalId), label, accept: [409] });
    if (res.status !== 409) {
      const group = await this.created(res, `POST /Groups (${label})`, 'team', displayName, (b) => readGroup(b).group, (g) => g.displayName, (n) => this.findGroupByName(n));
      return { group, existed: false };
    }
    const group = await this.findGroupByName(displayName);
    if (!group) throw this.conflictWithoutMatch(res, `POST /Groups (${label})`);
    this.log.info({ group: displayName, groupId: group.id }, `docker: team ${displayName} already exists (409); found it by name`);
    return { group, existed: res.ambiguousAttempts === 0 };
  }

  /** PATCH add in chunks of `membersPerPatch`; returns the requests sent. */
  addMembers(groupId: string, userIds: readonly string[]): Promise<number> {
    return this.patchMembers('add', groupId, userIds);
  }

  /** PATCH remove in chunks of `membersPerPatch`; returns the requests sent. */
  removeMembers(groupId: string, userIds: readonly string[]): Promise<number> {
    return this.patchMembers('remove', groupId, userIds);
  }

  /**
   * What this connection offers, in four small GETs sent at once. The three discovery endpoints
   * are documented but only inform: one that answers 404 says nothing, and the run goes on. `/Groups`
   * is asked for one item: a 404 there means a connection without teams. Any other failure (a
   * rejected token, an outage) throws, as every read does, so a run never plans on a guess.
   */
  async discover(): Promise<DockerCapabilities> {
    const get = (path: string, query?: Record<string, number>) =>
      this.http.request({ method: 'GET', path, accept: [404], label: 'discovery', ...(query ? { query } : {}) });
    const [spc, types, schemas, groups] = await Promise.all([
      get('/ServiceProviderConfig'),
      get('/ResourceTypes'),
      get('/Schemas'),
      get('/Groups', { startIndex: 1, count: 1 }),
    ]);
    if (groups.status !== 404) this.read(groups, 'GET /Groups (discovery)', readList);
    return {
      patch: spc.status === 404 ? null : this.read(spc, 'GET /ServiceProviderConfig', readPatchSupport),
      groups: groups.status === 404 ? 'absent' : 'present',
      resourceTypes: types.status === 404 ? [] : this.read(types, 'GET /ResourceTypes', readIds),
      schemas: schemas.status === 404 ? [] : this.read(schemas, 'GET /Schemas', readIds),
    };
  }

  async serviceProviderConfig(): Promise<Record<string, unknown>> {
    const res = await this.http.request({ method: 'GET', path: '/ServiceProviderConfig' });
    return this.read(res, 'GET /ServiceProviderConfig', (b) => {
      if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new WireError('not a JSON object');
      return b as Record<string, unknown>;
    });
  }

  // ---- internals ----

  /**
   * Offset paging: startIndex advances by what each page actually returned (a server may return
   * fewer than asked). It ends when startIndex passes totalResults, or on a short page when the
   * server gives no total. Every way a listing could go on without end is an error, since the
   * listing would be incomplete or never finish: an empty page before the total is reached, a page
   * of only repeats (a server ignoring startIndex), more pages than the first page's totalResults
   * allows (plus PAGE_SLACK), and more than the cap `maxUsers` sets, whatever the server claims.
   *
   * Read ahead: once the first page has told the total and the page size, the next pages' offsets
   * are known, so up to `readAhead` of them are requested at once (the transport bounds what is in
   * flight and paces it). At 100,000 accounts the listing was the critical path of a run with
   * nothing to do, one round trip after another. Pages are still taken in order and checked by the
   * rules above, exactly as if read one by one: a page is used only if it was asked for at the
   * offset the previous page leads to. If the server's page size changes, the pages asked for at
   * other offsets are dropped and reading goes on from where the last page ended.
   */
  private async *pages<T extends DockerUser | ReadGroup>(path: '/Users' | '/Groups', read: (v: unknown) => T): AsyncGenerator<T> {
    const seen = new Set<string>();
    const cap = Math.ceil(this.maxUsers / this.pageSize) + 1;
    let advertised: { total: number; perPage: number; pages: number } | null = null;
    const request = (startIndex: number, page: number) => this.http.request({ method: 'GET', path, query: { startIndex, count: this.pageSize }, label: `page ${page}` });
    const ahead = new Map<number, Promise<ScimResponse>>();
    const readAhead = (from: number, page: number) => {
      if (advertised === null) return;
      const last = Math.min(advertised.pages, cap);
      for (let i = 0, start = from, p = page; i < this.readAhead && p <= last; i++, start += advertised.perPage, p++) {
        if (ahead.has(start)) continue;
        const pending = request(start, p);
        // Its failure is seen when (if) the page is taken; one never taken must not crash the process.
        pending.catch(() => {});
        ahead.set(start, pending);
      }
    };
    let startIndex = 1;
    for (let page = 1; ; page++) {
      const op = `GET ${path} (page ${page})`;
      // A read stopped part-way is thrown away whole, so shutdown need not wait for the rest.
      if (this.signal?.aborted) throw shutdownBetweenPages(op);
      const early = ahead.get(startIndex);
      ahead.delete(startIndex);
      const res = await (early ?? request(startIndex, page));
      const list = this.read(res, op, readList);
      const items = list.resources.map((r) => this.read(res, op, () => read(r)));
      const fresh: T[] = [];
      for (const item of items) {
        const id = 'group' in item ? item.group.id : item.id;
        if (seen.has(id)) continue;
        seen.add(id);
        fresh.push(item);
      }
      const n = items.length;
      if (n > 0 && fresh.length === 0) throw badResponseError(op, res.status, `page ${page} repeats earlier items only (is startIndex ignored?)`);
      this.observer?.listed?.('docker', path === '/Users' ? 'users' : 'groups', seen.size, list.totalResults);
      yield* fresh;
      startIndex += n;
      if (list.totalResults !== null) {
        if (startIndex > list.totalResults) return;
        if (n === 0) throw badResponseError(op, res.status, `page ${page} is empty but totalResults is ${list.totalResults}; the listing would be incomplete`);
      } else if (n < this.pageSize) return;
      // The listing goes on. The first page's own size is the page size the server keeps to (it may
      // return fewer than asked), so its total says how many pages the whole listing needs.
      if (page === 1 && list.totalResults !== null) advertised = { total: list.totalResults, perPage: n, pages: Math.ceil(list.totalResults / n) };
      if (advertised !== null && page >= advertised.pages + PAGE_SLACK) {
        throw badResponseError(
          op,
          res.status,
          `page ${page} does not end the listing, but the first page's totalResults (${advertised.total} at ${advertised.perPage} per page) needs ${advertised.pages} page(s); now it says ${list.totalResults ?? 'nothing'}, so the listing might never end`,
        );
      }
      if (page >= cap) throw readLimitError(`GET ${path}`, res.status, { pages: page, records: seen.size, maxUsers: this.maxUsers, pageSize: this.pageSize });
      readAhead(startIndex, page + 1);
    }
  }

  private async groupById(id: string, displayName: string): Promise<DockerGroup> {
    const res = await this.http.request({ method: 'GET', path: `/Groups/${encodeURIComponent(id)}`, label: `team ${displayName}` });
    return this.read(res, `GET /Groups/${id}`, (b) => sameId(readGroup(b).group, id));
  }

  /**
   * The account or team a create's 2xx answer describes, if it is the one that was sent: the same
   * name (ignoring case, as Docker compares) and an id. An answer naming anything else cannot say
   * what the create did, and linking the id it names would send this user's changes and teams to
   * someone else's account. So the name is looked up: found, that is the result; not found, the
   * create fails as DOCKER_BAD_RESPONSE, which the journal treats like a lost answer (the write may
   * have happened), so the next run looks again before planning.
   */
  private async created<T extends { id: string }>(
    res: ScimResponse,
    operation: string,
    what: 'user' | 'team',
    name: string,
    reader: (body: unknown) => T,
    nameOf: (t: T) => string,
    lookup: (name: string) => Promise<T | null>,
  ): Promise<T> {
    let claim: string;
    try {
      const answer = reader(res.body);
      if (nameOf(answer).toLowerCase() === name.toLowerCase()) return answer;
      claim = `it describes ${what} ${short(nameOf(answer))} (id ${short(answer.id)})`;
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      claim = err.message;
    }
    let found: T | null;
    try {
      found = await lookup(name);
    } catch (err) {
      throw badResponseError(operation, res.status, `the answer does not describe ${name} (${claim}), and looking ${name} up failed: ${(err as Error).message}`);
    }
    if (found) {
      this.log.warn({ operation, dockerId: found.id }, `docker: ${operation} answered ${res.status} but ${claim}; found ${name} by name and took that ${what} instead`);
      return found;
    }
    throw badResponseError(
      operation,
      res.status,
      `the answer does not describe ${name} (${claim}), and no ${what} named ${name} was found; whether the create happened is unknown`,
      'Nothing was linked to the account the answer named. The next run looks for this name again before planning. If this repeats, check that the SCIM base URL points at Docker directly, not through a proxy that changes answers.',
    );
  }

  private async patchMembers(op: 'add' | 'remove', groupId: string, userIds: readonly string[]): Promise<number> {
    let sent = 0;
    for (let i = 0; i < userIds.length; i += this.membersPerPatch) {
      const chunk = userIds.slice(i, i + this.membersPerPatch);
      await this.http.request({
        method: 'PATCH',
        path: `/Groups/${encodeURIComponent(groupId)}`,
        body: membersPatch(op, chunk),
        label: `${op} ${chunk.length} member(s), chunk ${sent + 1}`,
      });
      sent++;
    }
    return sent;
  }

  /** Runs a wire reader, turning a shape it cannot read into DOCKER_BAD_RESPONSE. */
  private read<T>(res: ScimResponse, operation: string, reader: (body: unknown) => T): T {
    try {
      return reader(res.body);
    } catch (err) {
      if (err instanceof WireError) throw badResponseError(operation, res.status, err.message);
      throw err;
    }
  }

  private conflictWithoutMatch(res: ScimResponse, operation: string) {
    const body = (res.body ?? {}) as { detail?: unknown; scimType?: unknown };
    const err = responseError({
      operation,
      status: 409,
      attempts: 1,
      ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
      ...(typeof body.scimType === 'string' ? { scimType: body.scimType } : {}),
    });
    this.log.error({ operation, status: 409 }, `docker: ${operation} answered 409 but no match was found by name`);
    return err;
  }
}

/** A resource fetched or written by id must be that id: anything else is not an answer to the request. */
function sameId<T extends { id: string }>(got: T, id: string): T {
  if (got.id !== id) throw new WireError(`the answer describes id ${short(got.id)}, not ${short(id)}; its contents are not trusted`);
  return got;
}

function shutdownBetweenPages(operation: string): DockerApiError {
  return new DockerApiError(`Docker SCIM ${operation} was not read: stopped for shutdown`, {
    operation,
    code: 'DOCKER_ABORTED',
    hint: 'The run stopped before planning, so nothing was changed; the next run reads Docker again.',
    transient: true,
  });
}

function short(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(n)));
}
