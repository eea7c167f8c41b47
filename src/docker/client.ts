/**
 * The Docker SCIM 2.0 client: what the tool reads from and writes to Docker, in the project's own
 * types. Paging, lookups and the create/409 dance live here; transport concerns (retries, pacing,
 * concurrency, errors) live in http.ts; wire shapes in wire.ts.
 *
 * Deprovisioning is `active:false` through replaceUser; there is deliberately no delete method.
 */
import type { Logger } from '../logging/logger.ts';
import type { DockerGroup, DockerSnapshot, DockerUser, UserAttributes } from '../model/docker.ts';
import { badResponseError, responseError } from './errors.ts';
import { eqFilter } from './filter.ts';
import { ScimTransport, type ScimResponse, type TransportStats } from './http.ts';
import { WireError, groupBody, membersPatch, readGroup, readList, readUser, userBody, type ReadGroup } from './wire.ts';

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
  /** Team member changes per PATCH request, default 100. */
  membersPerPatch?: number;
  /** Default 500 / 30_000. */
  backoff?: { baseMs: number; capMs: number };
  userAgent?: string;
}

export type DockerClientStats = TransportStats;

/** Docker documents `count` as 1–200 (reference §3.2). */
const MAX_PAGE_SIZE = 200;

export class DockerScimClient {
  private readonly http: ScimTransport;
  private readonly log: Logger;
  private readonly pageSize: number;
  private readonly membersPerPatch: number;

  constructor(opts: DockerClientOptions) {
    if (!opts.baseUrl) throw new TypeError('DockerScimClient: baseUrl is required');
    if (!opts.token) throw new TypeError('DockerScimClient: token is required');
    this.log = opts.logger;
    this.pageSize = clamp(opts.pageSize ?? MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    this.membersPerPatch = Math.max(1, Math.floor(opts.membersPerPatch ?? 100));
    this.http = new ScimTransport({
      baseUrl: opts.baseUrl,
      token: opts.token,
      logger: opts.logger,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxRetries: Math.max(0, Math.floor(opts.maxRetries ?? 5)),
      concurrency: Math.max(1, Math.floor(opts.concurrency ?? 4)),
      backoff: opts.backoff ?? { baseMs: 500, capMs: 30_000 },
      userAgent: opts.userAgent ?? 'docker-idp-sync',
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

  /** Users and groups, complete or throws. */
  async snapshot(): Promise<DockerSnapshot> {
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
    const [users, groups] = await Promise.all([collect(this.users()), collect(this.groups())]);
    return { users, groups };
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
    return this.read(res, `GET /Users/${id}`, readUser);
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
    if (res.status !== 409) return { user: this.read(res, `POST /Users (${label})`, readUser), existed: false };
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

  /** PUT /Users/{id} with every managed attribute, `active` always explicit. */
  async replaceUser(id: string, attrs: UserAttributes): Promise<DockerUser> {
    const label = `update ${attrs.userName}`;
    const res = await this.http.request({ method: 'PUT', path: `/Users/${encodeURIComponent(id)}`, body: userBody(attrs), label });
    return this.read(res, `PUT /Users/${id} (${label})`, readUser);
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
  async createGroup(displayName: string): Promise<{ group: DockerGroup; existed: boolean }> {
    const label = `create team ${displayName}`;
    const res = await this.http.request({ method: 'POST', path: '/Groups', body: groupBody(displayName), label, accept: [409] });
    if (res.status !== 409) return { group: this.read(res, `POST /Groups (${label})`, (b) => readGroup(b).group), existed: false };
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
   * server gives no total. An empty page before the total is reached, or a page of only repeats
   * (a server ignoring startIndex), is an error: the listing would be incomplete.
   */
  private async *pages<T extends DockerUser | ReadGroup>(path: '/Users' | '/Groups', read: (v: unknown) => T): AsyncGenerator<T> {
    const seen = new Set<string>();
    let startIndex = 1;
    for (let page = 1; ; page++) {
      const label = `page ${page}`;
      const op = `GET ${path} (${label})`;
      const res = await this.http.request({ method: 'GET', path, query: { startIndex, count: this.pageSize }, label });
      const list = this.read(res, op, readList);
      const items = list.resources.map((r) => this.read(res, op, () => read(r)));
      let fresh = 0;
      for (const item of items) {
        const id = 'group' in item ? item.group.id : item.id;
        if (seen.has(id)) continue;
        seen.add(id);
        fresh++;
        yield item;
      }
      const n = items.length;
      if (n > 0 && fresh === 0) throw badResponseError(op, res.status, `page ${page} repeats earlier items only (is startIndex ignored?)`);
      startIndex += n;
      if (list.totalResults !== null) {
        if (startIndex > list.totalResults) return;
        if (n === 0) throw badResponseError(op, res.status, `page ${page} is empty but totalResults is ${list.totalResults}; the listing would be incomplete`);
      } else if (n < this.pageSize) return;
    }
  }

  private async groupById(id: string, displayName: string): Promise<DockerGroup> {
    const res = await this.http.request({ method: 'GET', path: `/Groups/${encodeURIComponent(id)}`, label: `team ${displayName}` });
    return this.read(res, `GET /Groups/${id}`, (b) => readGroup(b).group);
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

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(n)));
}
