/**
 * Docker's SCIM 2.0 API on 127.0.0.1, as docker-scim.md documents it and infers the rest (§10):
 * bearer auth, `resources` list key, pages of at most 200, the filter subset, the PUT-without-active
 * quirk, the Docker extension with org/team placement, seats, org:team groups, and Hub's rate
 * limit headers. Tests drive the real client against it and assert on its request log.
 */
import { BadJson, Emulator, type EmulatorRequest, type EmulatorResponse, type Handler } from '../http/emulator.ts';
import { WindowLimiter } from '../http/rate-limit.ts';
import type { DockerGroup, DockerUser } from '../../model/docker.ts';
import { resolvePath, type FilterNode } from './filter.ts';
import { GroupText } from './group-text.ts';
import { DockerStore, type DockerOrgConfig } from './store.ts';
import {
  ScimError,
  groupJson,
  listJson,
  resourceTypesJson,
  schemasJson,
  scimErrorBody,
  serviceProviderConfigJson,
  toModelUser,
  userJson,
  type StoredUser,
  type WireOptions,
} from './wire.ts';

export type { DockerOrgConfig } from './store.ts';
export { dockerRateLimited, dockerServerError } from './faults.ts';

/** The sandbox's token. Not a secret: it only opens this emulator. */
export const DEFAULT_DOCKER_SCIM_TOKEN = 'dckr_scim_sandbox_7f3a9c2e5b1d4086';

export const SCIM_PREFIX = '/v2/scim/2.0';
export const MAX_PAGE_SIZE = 200;
/** Gap: Docker's default `count` is undocumented; a small one makes a client that forgets `count` visible. */
const DEFAULT_PAGE_SIZE = 10;

export interface DockerScimEmulatorOptions {
  token?: string;
  /** Default [{name:'acme'},{name:'acmelabs'}]. */
  orgs?: DockerOrgConfig[];
  /** Default: the first org. */
  defaultOrg?: string;
  /** The SSO connection's default team; default 'everyone'. */
  defaultTeam?: string | null;
  /** Default 'resources', as Docker documents it (RFC 7644 says 'Resources'). */
  resourcesKey?: 'resources' | 'Resources';
  /** Default true: user responses carry the Docker extension object. Whether Docker echoes it is a gap. */
  echoExtension?: boolean;
  /** Status of the "Not enough seats" error, which is undocumented; default 403. */
  seatErrorStatus?: number;
  /** Default true; false makes a PUT that changes userName fail with 400 mutability (an undocumented point). */
  allowRename?: boolean;
  /**
   * A fixed-window limit on every request with the token: `perMinute` requests per window, the
   * window a minute unless `windowMs` shortens it (tests). 429s carry `Retry-After` (seconds, the
   * default) or `X-Retry-After` (unix time). Default false: no limit and no X-RateLimit-* headers.
   * `align` starts windows on the clock (see WindowLimiterOptions), for the benchmark's short windows.
   */
  rateLimit?: DockerRateLimit | false;
  /** Added inside the handler, so `load.maxInFlight` sees overlapping requests. */
  latencyMs?: number;
  /**
   * Default true. false serves the surface Docker's public API reference documents: no `/Groups`
   * routes at all (they answer 404), and ResourceTypes and Schemas that list only the User.
   */
  groups?: boolean;
  /** ServiceProviderConfig's `patch.supported`; default false, as Docker's published example says. */
  patchSupported?: boolean;
  /** What `PATCH /Groups/:id` answers: default 'ok'; 405 or 501 for a connection that refuses PATCH. */
  groupPatch?: 'ok' | 405 | 501;
  /**
   * The email domains verified on the SSO connection (`acme.com`; `*.acme.com` for its subdomains).
   * A user write (POST, PUT, PATCH) for an account of another domain is refused with
   * `domainErrorStatus` and a "Domain not verified" detail. Docker says such members "stay outside
   * SCIM" but not what its API answers (a gap). Default: every domain is verified.
   */
  verifiedDomains?: string[];
  /** Status of the "Domain not verified" refusal; default 403. */
  domainErrorStatus?: number;
}

export interface DockerRateLimit {
  perMinute: number;
  windowMs?: number;
  retryHeader?: 'Retry-After' | 'X-Retry-After';
  align?: boolean;
}

export class DockerScimEmulator {
  readonly http: Emulator;
  readonly token: string;
  /** Requests inside a handler right now, and the most ever at once (concurrency tests). */
  readonly load = { inFlight: 0, maxInFlight: 0 };
  /** Content-Type of every write request, counted (the client must send application/scim+json). */
  readonly mediaTypes: Record<string, number> = {};
  latencyMs: number;
  private readonly store: DockerStore;
  private readonly resourcesKey: 'resources' | 'Resources';
  private readonly echoExtension: boolean;
  private limiter: WindowLimiter | null = null;
  private retryHeader: 'Retry-After' | 'X-Retry-After' = 'Retry-After';
  private scimBase: string | null = null;
  private readonly groupText = new GroupText();
  private readonly surface: { groups: boolean; patchSupported: boolean; groupPatch: 'ok' | 405 | 501 };

  constructor(opts: DockerScimEmulatorOptions = {}) {
    this.token = opts.token ?? DEFAULT_DOCKER_SCIM_TOKEN;
    const orgs = opts.orgs ?? [{ name: 'acme' }, { name: 'acmelabs' }];
    const defaultOrg = opts.defaultOrg ?? orgs[0]?.name;
    if (defaultOrg === undefined || !orgs.some((o) => o.name === defaultOrg)) throw new Error('DockerScimEmulator: defaultOrg must be one of orgs');
    this.store = new DockerStore({
      orgs,
      defaultOrg,
      defaultTeam: opts.defaultTeam === undefined ? 'everyone' : opts.defaultTeam,
      seatErrorStatus: opts.seatErrorStatus ?? 403,
      allowRename: opts.allowRename ?? true,
      verifiedDomains: opts.verifiedDomains ?? null,
      domainErrorStatus: opts.domainErrorStatus ?? 403,
    });
    this.resourcesKey = opts.resourcesKey ?? 'resources';
    this.echoExtension = opts.echoExtension ?? true;
    this.latencyMs = opts.latencyMs ?? 0;
    this.setRateLimit(opts.rateLimit ?? false);
    this.surface = { groups: opts.groups ?? true, patchSupported: opts.patchSupported ?? false, groupPatch: opts.groupPatch ?? 'ok' };
    this.http = new Emulator({ name: 'docker-scim', defaultHeaders: { 'content-type': 'application/scim+json' } });
    this.http.notFound = this.guard((req) => ({ status: 404, body: scimErrorBody(404, `no route for ${req.method} ${req.path}`) }));
    this.http.onError = (err) => errorResponse(err);
    this.routes();
  }

  async start(port = 0): Promise<string> {
    const origin = await this.http.start(port);
    this.scimBase = `${origin}${SCIM_PREFIX}`;
    return this.scimBase;
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  get baseUrl(): string {
    if (!this.scimBase) throw new Error('Docker SCIM emulator is not started');
    return this.scimBase;
  }

  /** Replaces the rate limit, with a fresh window (the benchmark turns it on after an unlimited setup run). */
  setRateLimit(rl: DockerRateLimit | false): void {
    this.limiter = rl ? new WindowLimiter(rl.perMinute, rl.windowMs ?? 60_000, Date.now, { align: rl.align ?? false }) : null;
    this.retryHeader = rl ? (rl.retryHeader ?? 'Retry-After') : 'Retry-After';
  }

  get quirks(): { readonly putWithoutActive: number } {
    return this.store.quirks;
  }

  // ---- test helpers: direct state access, no HTTP ----

  seedUser(u: { userName: string; givenName?: string; familyName?: string; active?: boolean; role?: string; org?: string; team?: string | null }): DockerUser {
    return toModelUser(this.store.seedUser(u));
  }

  user(idOrUserName: string): DockerUser | undefined {
    const u = this.store.users.get(idOrUserName) ?? this.store.userByName(idOrUserName);
    return u ? toModelUser(u) : undefined;
  }

  allUsers(): DockerUser[] {
    return [...this.store.users.values()].map(toModelUser);
  }

  group(displayName: string): DockerGroup | undefined {
    const g = this.store.groupByName(displayName);
    return g ? { id: g.id, displayName: g.displayName, members: [...g.members] } : undefined;
  }

  teamMembers(displayName: string): string[] {
    const g = this.store.groupByName(displayName);
    if (!g) return [];
    return [...g.members].map((id) => this.store.users.get(id)?.userName ?? id).sort();
  }

  groupNames(): string[] {
    return [...this.store.groups.values()].map((g) => g.displayName).sort();
  }

  editUser(
    id: string,
    patch: Partial<{ userName: string; givenName: string; familyName: string; active: boolean; role: string; org: string; team: string | null; email: string | null }>,
  ): void {
    this.store.editUser(id, patch);
  }

  deleteUser(id: string): void {
    this.store.deleteUser(id);
  }

  /** An admin renaming a team in Docker's Admin Console (not through SCIM). */
  renameGroup(displayName: string, to: string): void {
    const g = this.store.groupByName(displayName);
    if (!g) throw new Error(`no Docker team ${displayName}`);
    g.displayName = to;
  }

  // ---- HTTP ----

  private wire(): WireOptions {
    return { baseUrl: this.scimBase ?? SCIM_PREFIX, echoExtension: this.echoExtension };
  }

  private userOut(u: StoredUser, status = 200): EmulatorResponse {
    const body = userJson(u, this.wire());
    return { status, body, ...(status === 201 ? { headers: { location: String((body.meta as { location: string }).location) } } : {}) };
  }

  /**
   * Every route runs through here: latency (inside, so overlap is measurable), the rate limit
   * (counted before auth, as Hub counts every request), the exact bearer token, then the handler.
   * Rate-limit headers go on every response while a limit is configured.
   */
  private guard(handler: Handler): Handler {
    return async (req): Promise<EmulatorResponse> => {
      this.load.inFlight++;
      this.load.maxInFlight = Math.max(this.load.maxInFlight, this.load.inFlight);
      try {
        if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
        let rlHeaders: Record<string, string> = {};
        if (this.limiter) {
          const s = this.limiter.hit('scim');
          rlHeaders = { 'x-ratelimit-limit': String(s.limit), 'x-ratelimit-remaining': String(s.remaining), 'x-ratelimit-reset': String(s.resetAt) };
          if (s.limited) {
            const retry: Record<string, string> =
              this.retryHeader === 'Retry-After'
                ? { 'retry-after': String(Math.max(1, Math.ceil((s.resetAt * 1000 - Date.now()) / 1000))) }
                : { 'x-retry-after': String(s.resetAt) };
            return { status: 429, headers: { ...rlHeaders, ...retry }, body: scimErrorBody(429, 'Rate limit exceeded') };
          }
        }
        if (req.method !== 'GET') {
          const ct = String(req.headers['content-type'] ?? '(none)').split(';')[0]?.trim().toLowerCase() ?? '(none)';
          this.mediaTypes[ct] = (this.mediaTypes[ct] ?? 0) + 1;
        }
        const auth = req.headers.authorization ?? '';
        const m = /^Bearer (.+)$/i.exec(auth);
        if (!m || m[1] !== this.token) {
          return { status: 401, headers: rlHeaders, body: scimErrorBody(401, 'Unauthorized: the bearer token is missing or not valid') };
        }
        let res: EmulatorResponse;
        try {
          res = await handler(req);
        } catch (err) {
          res = errorResponse(err);
        }
        return { ...res, headers: { ...rlHeaders, ...(res.headers ?? {}) } };
      } finally {
        this.load.inFlight--;
      }
    };
  }

  private route(method: string, path: string, name: string, handler: Handler): void {
    this.http.route(method, `${SCIM_PREFIX}${path}`, name, this.guard(handler));
  }

  private routes(): void {
    const s = this.store;
    const { groups, patchSupported, groupPatch } = this.surface;
    this.route('GET', '/ServiceProviderConfig', 'serviceProviderConfig', () => ({ status: 200, body: serviceProviderConfigJson({ patchSupported }) }));
    this.route('GET', '/ResourceTypes', 'resourceTypes', () => {
      const items = resourceTypesJson({ groups });
      return { status: 200, body: listJson(this.resourcesKey, items, items.length, 1) };
    });
    this.route('GET', '/ResourceTypes/:name', 'resourceType', (req) => {
      const item = resourceTypesJson({ groups }).find((r) => r.id === req.params.name);
      if (!item) throw new ScimError(404, `ResourceType ${req.params.name} not found`);
      return { status: 200, body: item };
    });
    this.route('GET', '/Schemas', 'schemas', () => {
      const items = schemasJson();
      return { status: 200, body: listJson(this.resourcesKey, items, items.length, 1) };
    });
    this.route('GET', '/Schemas/:id', 'schema', (req) => {
      const item = schemasJson().find((r) => r.id === req.params.id);
      if (!item) throw new ScimError(404, `Schema ${req.params.id} not found`);
      return { status: 200, body: item };
    });

    this.route('GET', '/Users', 'listUsers', (req) => this.list(req, s.userList(), (u) => userJson(u, this.wire()), (node) => s.userIndex(node)));
    this.route('GET', '/Users/:id', 'getUser', (req) => this.userOut(s.getUser(req.params.id ?? '')));
    this.route('POST', '/Users', 'createUser', (req) => this.userOut(s.createUser(jsonBody(req)), 201));
    this.route('PUT', '/Users/:id', 'replaceUser', (req) => this.userOut(s.replaceUser(req.params.id ?? '', jsonBody(req))));
    this.route('PATCH', '/Users/:id', 'patchUser', (req) => this.userOut(s.patchUser(req.params.id ?? '', jsonBody(req))));
    // Gap: DELETE /Users is undocumented. The tool must deprovision with active:false only, so the
    // emulator refuses it, and the request log lets a test assert that none was ever sent.
    this.route('DELETE', '/Users/:id', 'deleteUser', () => ({
      status: 405,
      body: scimErrorBody(405, 'DELETE is not supported; deprovision a user with active:false'),
    }));

    // The documented surface: no /Groups routes, so every group request is a 404 from notFound.
    if (!groups) return;
    const groupOut = (id: string, status = 200): EmulatorResponse => ({ status, body: this.groupText.render(s.getGroup(id), this.wire(), s.users) });
    this.route('GET', '/Groups', 'listGroups', (req) => this.list(req, s.groups.values(), (g) => groupJson(g, this.wire(), s.users)));
    this.route('GET', '/Groups/:id', 'getGroup', (req) => groupOut(req.params.id ?? ''));
    this.route('POST', '/Groups', 'createGroup', (req) => groupOut(s.createGroup(jsonBody(req)).id, 201));
    // Gap: RFC 7644 allows 200 with the group or 204 for a PATCH; the emulator answers 200 with it.
    this.route('PATCH', '/Groups/:id', 'patchGroup', (req) => {
      if (groupPatch !== 'ok') return { status: groupPatch, body: scimErrorBody(groupPatch, 'PATCH is not supported on this connection') };
      return groupOut(s.patchGroup(req.params.id ?? '', jsonBody(req)).id);
    });
    this.route('PUT', '/Groups/:id', 'replaceGroup', (req) => groupOut(s.replaceGroup(req.params.id ?? '', jsonBody(req)).id));
    this.route('DELETE', '/Groups/:id', 'deleteGroup', (req) => {
      s.deleteGroup(req.params.id ?? '');
      return { status: 204 };
    });
  }

  /**
   * A filtered, sorted, paged ListResponse, reporting its page number for page faults. Only the
   * returned page is turned into JSON unless a filter or sort needs the attributes.
   */
  private list<T>(
    req: EmulatorRequest,
    items: Iterable<T>,
    toJson: (item: T) => Record<string, unknown>,
    index?: (node: FilterNode) => T[] | null,
  ): EmulatorResponse {
    const startIndex = intParam(req, 'startIndex', 1);
    const count = intParam(req, 'count', DEFAULT_PAGE_SIZE);
    if (startIndex < 1) throw new ScimError(400, 'startIndex must be 1 or more', 'invalidValue');
    // Gap: Docker's schema says count ≤ 200 but not what a larger count does; the emulator refuses
    // it (400) rather than clamp, so a client asking for more fails loudly here.
    if (count < 1 || count > MAX_PAGE_SIZE) throw new ScimError(400, `count must be between 1 and ${MAX_PAGE_SIZE}`, 'invalidValue');
    let selected = this.store.select(items, param(req, 'filter'), toJson, index);
    const sortBy = param(req, 'sortBy');
    if (sortBy) {
      const keyed = selected.map((item) => ({ item, key: String(resolvePath(toJson(item), sortBy)[0] ?? '').toLowerCase() }));
      const desc = (param(req, 'sortOrder') ?? '').toLowerCase() === 'descending';
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) * (desc ? -1 : 1));
      selected = keyed.map((k) => k.item);
    }
    const page = selected.slice(startIndex - 1, startIndex - 1 + count).map(toJson);
    return {
      status: 200,
      body: listJson(this.resourcesKey, page, selected.length, startIndex),
      page: Math.floor((startIndex - 1) / count) + 1,
    };
  }
}

/** Query parameter names matched case-insensitively, as attribute names are in SCIM. */
function param(req: EmulatorRequest, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [k, v] of req.query) if (k.toLowerCase() === lower) return v;
  return null;
}

function intParam(req: EmulatorRequest, name: string, dflt: number): number {
  const raw = param(req, name);
  if (raw === null || raw === '') return dflt;
  if (!/^-?\d+$/.test(raw)) throw new ScimError(400, `${name} must be an integer`, 'invalidValue');
  return Number(raw);
}

function jsonBody(req: EmulatorRequest): Record<string, unknown> {
  const body = req.json<unknown>();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ScimError(400, 'the request body must be a JSON object', 'invalidSyntax');
  return body as Record<string, unknown>;
}

function errorResponse(err: unknown): EmulatorResponse {
  if (err instanceof ScimError) return { status: err.status, body: err.body() };
  if (err instanceof BadJson) return { status: 400, body: scimErrorBody(400, err.message, 'invalidSyntax') };
  return { status: 500, body: scimErrorBody(500, `internal error: ${String(err)}`) };
}
