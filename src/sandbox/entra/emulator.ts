import { randomUUID } from 'node:crypto';
import type { Directory, DirectoryGroup, DirectoryUser } from '../directory.ts';
import { makeEmulatorCertificate, type EmulatorCertificate } from '../http/certificate.ts';
import { Emulator, compilePattern, type EmulatorRequest, type EmulatorResponse } from '../http/emulator.ts';
import { handleBatch, type BatchItem } from './batch.ts';
import { DeltaRoutes } from './delta.ts';
import { BatchItemFaults, GRAPH_CONTENT_TYPE } from './faults.ts';
import { parseFilter } from './filter.ts';
import { IdentityPlatform, type BearerVerdict } from './identity.ts';
import { APP_ROLE_ASSIGNMENT, GROUP, SERVICE_PRINCIPAL, USER, applySelect, contextSuffix, parseSelect, type EntityShape, type Selection } from './select.ts';
import {
  DOCKER_ATTRIBUTES,
  assignmentsJson,
  graphErrorBody,
  groupJson,
  servicePrincipalJson,
  userJson,
  type AttributeLocation,
  type DockerAttribute,
  type GraphView,
  type Json,
} from './wire.ts';

/**
 * Microsoft Graph and the Microsoft identity platform as the Docker sync uses them
 * (entra-graph.md §8), serving views of a Directory over HTTPS on 127.0.0.1, for the real
 * `@azure/identity` and `@microsoft/microsoft-graph-client`:
 * - OpenID discovery and the v2.0 token endpoint (client secret or certificate assertion);
 * - `/v1.0` service principal (by id and by `(appId='…')`), `appRoleAssignedTo`, users, groups,
 *   group members and transitive members, a user's `memberOf` and `transitiveMemberOf`, `$batch`;
 * - `users/delta` and `groups/delta` served from the Directory's change log (delta.ts);
 * - `$select` honoured (gotcha 10), `$top` clamped to 999, absolute `@odata.nextLink`s with
 *   `$skiptoken` on the emulator's own origin, Graph's headers and error bodies;
 * - 401 for any Graph request without a valid bearer, counted (the customHosts trap, gotcha 1);
 * - permissions that can be withdrawn (403, or limited member objects without User.Read.All);
 * - resource-unit throttling (§3) and per-item faults inside `$batch` (gotcha 8).
 * One origin serves both the authority and Graph, so every URL it names has one host spelling.
 */

export type { AttributeLocation } from './wire.ts';

/** The application permissions the reader needs (§2); all granted unless a test withdraws one. */
export type GraphPermission = 'Application.Read.All' | 'User.Read.All' | 'GroupMember.Read.All';
export const READ_PERMISSIONS: readonly GraphPermission[] = ['Application.Read.All', 'User.Read.All', 'GroupMember.Read.All'];

export const DEFAULT_TENANT_ID = '5d2b8f0e-3c4a-4e6f-9a1b-7c8d9e0f1a2b';
export const DEFAULT_CLIENT_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
export const DEFAULT_CLIENT_SECRET = 'sandbox~GraphClientSecret.not-a-real-secret_7Q';
export const DEFAULT_APP_ID = 'b7d8e3f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f';
export const DEFAULT_SERVICE_PRINCIPAL_ID = '8e88c2a4-6b1d-4f3e-a5c7-d9e0f1a2b3c4';

/** Graph's page-size bounds (user-list: default 100, max 999). */
const DEFAULT_TOP = 100;
const MAX_TOP = 999;
/** Listing snapshots kept for paging; an older skiptoken is answered as expired. */
const MAX_SNAPSHOTS = 64;

export interface GraphEmulatorOptions {
  directory: Directory;
  /** Default a fixed GUID. */
  tenantId?: string;
  /** Default a fixed GUID; the app registration the tool signs in as. */
  clientId?: string;
  /** Default a fixed sandbox value. */
  clientSecret?: string;
  /** The public certificate registered for certificate credentials (verifies client_assertion). */
  clientCertificatePem?: string;
  /** The Docker enterprise app's appId; default a fixed GUID. */
  appId?: string;
  /** Owner app of the directory extensions; default = appId. */
  extensionAppId?: string;
  /** Where the directory's docker* attributes are exposed. Default: dockerRole 'appRole', dockerOrg 'extension', dockerTeam 'extension'. */
  attributes?: Partial<Record<DockerAttribute, AttributeLocation>>;
  latencyMs?: number;
  /** Resource-unit throttling per 10 s window (reference §3), default off; when on, 429 + Retry-After + x-ms-throttle-* headers. */
  throttle?: GraphThrottle | false;
  /**
   * Serve at most this many objects a page whatever `$top` asks (Graph may return fewer than
   * `$top`), so tests can make many pages out of few objects. Default: `$top` alone decides.
   */
  pageSize?: number;
  /** Permissions granted to the app registration. Default: all of READ_PERMISSIONS. */
  permissions?: readonly GraphPermission[];
  /** Access-token lifetime in seconds; default 3599. */
  tokenTtlSeconds?: number;
  /** How long a delta token stays valid, against the Directory's clock; default 7 days (§1.5). */
  deltaTokenTtlMs?: number;
}

export interface GraphThrottle {
  ruPerWindow: number;
  /** Default 10 000 (the identity-and-access quotas are per 10 s). */
  windowMs?: number;
  /** Windows start at multiples of `windowMs` on the clock, so a shortened window ends where Retry-After says. */
  align?: boolean;
  /**
   * Retry-After to the millisecond (Graph's own sample is `2.128`, §3) instead of whole seconds:
   * with the benchmark's one-second windows, a whole second would overstate the wait up to twice.
   */
  fractionalRetryAfter?: boolean;
}

/** One Graph request as the emulator saw it, `$batch` items included. */
export interface GraphRequestLog {
  readonly method: string;
  readonly route: string;
  /** Without the version: `/users/{id}`. */
  readonly path: string;
  readonly query: string;
  /** What the Authorization header held (for a batch item: the outer request's). */
  readonly bearer: BearerVerdict;
  readonly inBatch: boolean;
  readonly status: number;
  /** Resource units charged (§3): 0 for a request refused before the budget (401, 403, 429) and for `$batch` itself. */
  readonly ru: number;
  readonly at: number;
}

/** A request reaching a Graph handler: version stripped, from the wire or from inside a `$batch`. */
interface GraphReq {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly params: Readonly<Record<string, string>>;
  readonly clientRequestId: string;
  readonly inBatch: boolean;
  readonly raw: EmulatorRequest | null;
}

type GraphHandler = (req: GraphReq) => EmulatorResponse | Promise<EmulatorResponse>;

interface GraphRoute {
  method: string;
  name: string;
  regex: RegExp;
  keys: string[];
  permission: GraphPermission | null;
  handler: GraphHandler;
}

export class GraphEmulator {
  readonly http: Emulator;
  readonly directory: Directory;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly appId: string;
  readonly extensionAppId: string;
  readonly servicePrincipalId: string;
  readonly identity: IdentityPlatform;
  /** Faults for single `$batch` items (a 429 inside the 200, gotcha 8). */
  readonly batchFaults = new BatchItemFaults();
  /** `users/delta` and `groups/delta`; their faults (expired tokens, replays, empty pages) are `delta.faults`. */
  readonly delta: DeltaRoutes;
  /** Every Graph request, batch items included, with what its bearer was. */
  readonly log: GraphRequestLog[] = [];
  /** Issued tokens, and requests that arrived without a valid bearer (the §0.1 trap). */
  readonly auth: { readonly tokensIssued: number; unauthenticated: number };
  /** Granted permissions; a test may withdraw one mid-run. */
  readonly permissions: Set<GraphPermission>;
  /** See GraphEmulatorOptions.pageSize; null for "as `$top` says". */
  pageSize: number | null;
  private readonly locations: Record<DockerAttribute, AttributeLocation>;
  private readonly view: GraphView;
  private readonly tls: { key: string; cert: string } = { key: '', cert: '' };
  private cert: EmulatorCertificate | null = null;
  private readonly routes: GraphRoute[] = [];
  private readonly snapshots = new Map<number, readonly Json[]>();
  private nextSeq = 1;
  private bucket: ResourceUnitBucket | null = null;

  constructor(opts: GraphEmulatorOptions) {
    this.directory = opts.directory;
    this.tenantId = opts.tenantId ?? DEFAULT_TENANT_ID;
    this.clientId = opts.clientId ?? DEFAULT_CLIENT_ID;
    this.clientSecret = opts.clientSecret ?? DEFAULT_CLIENT_SECRET;
    this.appId = opts.appId ?? DEFAULT_APP_ID;
    this.extensionAppId = opts.extensionAppId ?? this.appId;
    this.servicePrincipalId = DEFAULT_SERVICE_PRINCIPAL_ID;
    this.pageSize = opts.pageSize ?? null;
    this.permissions = new Set(opts.permissions ?? READ_PERMISSIONS);
    this.locations = { dockerRole: 'appRole', dockerOrg: 'extension', dockerTeam: 'extension', ...(opts.attributes ?? {}) };
    for (const attr of DOCKER_ATTRIBUTES) {
      const loc = this.locations[attr];
      if (typeof loc === 'object' && !(Number.isInteger(loc.extensionAttribute) && loc.extensionAttribute >= 1 && loc.extensionAttribute <= 15)) {
        throw new Error(`${attr}: extensionAttribute must be 1..15`);
      }
    }
    this.identity = new IdentityPlatform({
      tenantId: this.tenantId,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      ...(opts.clientCertificatePem ? { clientCertificatePem: opts.clientCertificatePem } : {}),
      ...(opts.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: opts.tokenTtlSeconds } : {}),
    });
    const identity = this.identity;
    this.auth = {
      get tokensIssued() {
        return identity.issued;
      },
      unauthenticated: 0,
    };
    const extensionName = (attr: DockerAttribute) => this.extensionProperty(attr);
    this.view = { appId: this.appId, servicePrincipalId: this.servicePrincipalId, locations: this.locations, extensionName };
    this.setThrottle(opts.throttle ?? false);
    const self = this;
    this.delta = new DeltaRoutes(
      {
        directory: this.directory,
        view: this.view,
        get origin() {
          return self.origin;
        },
        get pageSize() {
          return self.pageSize;
        },
        registeredExtensions: () => this.registeredExtensions(),
        error: (status, code, message, clientRequestId, headers) => this.error(status, code, message, clientRequestId, headers),
      },
      opts.deltaTokenTtlMs,
    );

    this.http = new Emulator({
      name: 'graph',
      tls: this.tls,
      ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}),
    });
    this.http.notFound = (req) =>
      req.path.startsWith('/v1.0/')
        ? this.error(400, 'BadRequest', `Resource not found for the segment '${req.path.split('/')[2] ?? ''}'.`, clientRequestIdOf(req))
        : { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
    this.http.onError = (_err, req) => this.error(500, 'generalException', 'An unexpected error occurred.', clientRequestIdOf(req));

    const h = this.http;
    h.route('GET', '/:tenant/v2.0/.well-known/openid-configuration', 'discovery', (r) => this.identity.discovery(r, this.origin));
    h.route('POST', '/:tenant/oauth2/v2.0/token', 'token', (r) => this.identity.token(r, this.origin));

    this.graphRoute('GET', '/servicePrincipals/:id', 'servicePrincipal', 'Application.Read.All', (r) => this.servicePrincipal(r, r.params.id ?? '', null));
    this.graphRoute('GET', '/servicePrincipals/:id/appRoleAssignedTo', 'appRoleAssignedTo', 'Application.Read.All', (r) => this.appRoleAssignedTo(r, r.params.id ?? '', null));
    this.graphRoute('GET', '/users', 'users', 'User.Read.All', (r) => this.users(r));
    // Before `/users/:id` and `/groups/:id`, which would take `delta` for an id. `microsoft.graph.delta`
    // is the fully qualified spelling the SDKs generate.
    for (const fn of ['delta', 'microsoft.graph.delta']) {
      this.graphRoute('GET', `/users/${fn}`, 'usersDelta', 'User.Read.All', (r) => this.delta.serve('users', r));
      this.graphRoute('GET', `/groups/${fn}`, 'groupsDelta', 'GroupMember.Read.All', (r) => this.delta.serve('groups', r));
    }
    this.graphRoute('GET', '/users/:id', 'user', 'User.Read.All', (r) => this.user(r));
    // A user's groups: GroupMember.Read.All is what reading group membership takes (§2).
    this.graphRoute('GET', '/users/:id/memberOf', 'userMemberOf', 'GroupMember.Read.All', (r) => this.memberOf(r, false));
    this.graphRoute('GET', '/users/:id/transitiveMemberOf', 'userTransitiveMemberOf', 'GroupMember.Read.All', (r) => this.memberOf(r, true));
    this.graphRoute('GET', '/groups/:id', 'group', 'GroupMember.Read.All', (r) => this.group(r));
    this.graphRoute('GET', '/groups/:id/members', 'groupMembers', 'GroupMember.Read.All', (r) => this.members(r, false));
    this.graphRoute('GET', '/groups/:id/transitiveMembers', 'groupTransitiveMembers', 'GroupMember.Read.All', (r) => this.members(r, true));
    // `servicePrincipals(appId='…')` is one path segment; the base router matches whole segments,
    // so these come last and check the segment's shape themselves (anything else is Graph's 400).
    this.graphRoute('GET', '/:key', 'servicePrincipalByAppId', 'Application.Read.All', (r) => this.byAppIdKey(r, (appId) => this.servicePrincipal(r, null, appId)));
    this.graphRoute('GET', '/:key/appRoleAssignedTo', 'appRoleAssignedTo', 'Application.Read.All', (r) => this.byAppIdKey(r, (appId) => this.appRoleAssignedTo(r, null, appId)));
    h.route('POST', '/v1.0/$batch', 'batch', (r) => this.batch(r));
  }

  get certificate(): EmulatorCertificate {
    if (!this.cert) throw new Error('graph emulator is not started: its certificate is made by start()');
    return this.cert;
  }

  /** Starts HTTPS on 127.0.0.1; returns the origin, which is both the authority host and the Graph base. */
  async start(port = 0): Promise<string> {
    if (!this.cert) {
      this.cert = await makeEmulatorCertificate();
      this.tls.key = this.cert.key;
      this.tls.cert = this.cert.cert;
    }
    return this.http.start(port);
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  get origin(): string {
    return this.http.baseUrl;
  }

  /** e.g. extension_b7d8e3f01a2b4c3d8e4f5a6b7c8d9e0f_dockerTeam (the owner app's appId without dashes). */
  extensionProperty(attr: DockerAttribute): string {
    return `extension_${this.extensionAppId.replace(/-/g, '').toLowerCase()}_${attr}`;
  }

  /** The directory extensions registered in the tenant: those the attributes live in. */
  registeredExtensions(): string[] {
    return DOCKER_ATTRIBUTES.filter((a) => this.locations[a] === 'extension').map((a) => this.extensionProperty(a));
  }

  /** Replaces the throttle, with a fresh window (the benchmark turns it on after an unlimited setup run). */
  setThrottle(t: GraphThrottle | false): void {
    this.bucket = t ? new ResourceUnitBucket(t.ruPerWindow, t.windowMs ?? 10_000, t.align ?? false, t.fractionalRetryAfter ?? false) : null;
  }

  /** Forgets listing snapshots and the throttle window (between test phases). */
  reset(): void {
    this.snapshots.clear();
    this.delta.reset();
    this.bucket?.reset();
  }

  // ── plumbing ────────────────────────────────────────────────────────────────────────────────

  private graphRoute(method: string, pattern: string, name: string, permission: GraphPermission | null, handler: GraphHandler): void {
    const route: GraphRoute = { method, name, ...compilePattern(pattern), permission, handler };
    this.routes.push(route);
    this.http.route(method, `/v1.0${pattern}`, name, async (req) => {
      const greq: GraphReq = {
        method: req.method,
        path: req.path.replace(/^\/v1\.0/, ''),
        query: req.query,
        params: req.params,
        clientRequestId: clientRequestIdOf(req),
        inBatch: false,
        raw: req,
      };
      const verdict = this.identity.check(headerOf(req, 'authorization'));
      const res = await this.serve(route, greq, verdict);
      return res;
    });
  }

  /**
   * What every Graph request goes through, on the wire or inside a batch: the bearer (401, counted),
   * the permission (403), the resource-unit budget (429), then the handler; Graph's headers on the way out.
   */
  private async serve(route: GraphRoute, req: GraphReq, bearer: BearerVerdict): Promise<EmulatorResponse> {
    let res: EmulatorResponse;
    let cost = 1;
    let charged = 0;
    if (bearer !== 'valid') {
      this.auth.unauthenticated += 1;
      res = this.error(401, 'InvalidAuthenticationToken', bearer === 'missing' ? 'Access token is empty.' : 'IDX14100: JWT is not well formed, there are no dots (.).', req.clientRequestId);
      res.headers = {
        ...res.headers,
        'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
      };
    } else if (route.permission && !this.permissions.has(route.permission)) {
      res = this.error(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.', req.clientRequestId);
    } else {
      cost = resourceUnits(route.name, req.query);
      const charge = this.bucket?.charge(cost) ?? null;
      if (charge?.limited) {
        res = this.error(429, 'TooManyRequests', 'Too many requests.', req.clientRequestId);
        res.headers = {
          ...res.headers,
          'retry-after': String(charge.retryAfterSeconds),
          'x-ms-throttle-scope': `Tenant_Application/ReadWrite/${this.clientId}/${this.tenantId}`,
          'x-ms-throttle-information': 'ResourceUnitLimitExceeded',
        };
      } else {
        charged = cost;
        res = await route.handler(req);
        if (charge && charge.percentage >= 0.8) res.headers = { ...res.headers, 'x-ms-throttle-limit-percentage': charge.percentage.toFixed(1) };
      }
    }
    const requestId = randomUUID();
    res.headers = {
      'content-type': GRAPH_CONTENT_TYPE,
      'request-id': requestId,
      'client-request-id': req.clientRequestId,
      'x-ms-resource-unit': String(cost),
      'cache-control': 'no-cache',
      'odata-version': '4.0',
      ...(res.headers ?? {}),
    };
    this.log.push({ method: req.method, route: route.name, path: req.path, query: queryString(req.query), bearer, inBatch: req.inBatch, status: res.status, ru: charged, at: Date.now() });
    return res;
  }

  private error(status: number, code: string, message: string, clientRequestId: string, headers: Record<string, string> = {}): EmulatorResponse {
    const requestId = randomUUID();
    return {
      status,
      headers: { 'content-type': GRAPH_CONTENT_TYPE, 'request-id': requestId, 'client-request-id': clientRequestId, ...headers },
      body: graphErrorBody(code, message, requestId, clientRequestId),
    };
  }

  private notFound(req: GraphReq, id: string): EmulatorResponse {
    return this.error(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`, req.clientRequestId);
  }

  private badSelect(req: GraphReq, message: string): EmulatorResponse {
    return this.error(400, 'Request_BadRequest', message, req.clientRequestId);
  }

  private context(fragment: string): string {
    return `${this.origin}/v1.0/$metadata#${fragment}`;
  }

  // ── $batch ──────────────────────────────────────────────────────────────────────────────────

  private async batch(req: EmulatorRequest): Promise<EmulatorResponse> {
    const clientRequestId = clientRequestIdOf(req);
    const bearer = this.identity.check(headerOf(req, 'authorization'));
    const outer: EmulatorResponse = await (async () => {
      if (bearer !== 'valid') {
        this.auth.unauthenticated += 1;
        return this.error(401, 'InvalidAuthenticationToken', bearer === 'missing' ? 'Access token is empty.' : 'IDX14100: JWT is not well formed, there are no dots (.).', clientRequestId);
      }
      const res = await handleBatch(req, (item) => this.batchItem(item, bearer));
      if (res.status !== 200) return this.error(res.status, 'BadRequest', ((res.body as { error?: { message?: string } }).error?.message ?? 'Invalid batch payload format.'), clientRequestId);
      return res;
    })();
    this.log.push({ method: 'POST', route: 'batch', path: '/$batch', query: '', bearer, inBatch: false, status: outer.status, ru: 0, at: Date.now() });
    const units = (outer.body as { responses?: Array<{ headers?: Record<string, string> }> } | undefined)?.responses?.reduce((n, r) => n + Number(r.headers?.['x-ms-resource-unit'] ?? 0), 0) ?? 0;
    outer.headers = {
      'content-type': GRAPH_CONTENT_TYPE,
      'request-id': randomUUID(),
      'client-request-id': clientRequestId,
      'x-ms-resource-unit': String(units),
      'odata-version': '4.0',
      ...(outer.headers ?? {}),
    };
    return outer;
  }

  private async batchItem(item: BatchItem, bearer: BearerVerdict): Promise<EmulatorResponse> {
    const fault = this.batchFaults.take(item.url);
    const url = new URL(item.url, 'https://graph.invalid');
    const path = safeDecode(url.pathname.replace(/\/{2,}/g, '/'));
    const clientRequestId = item.headers['client-request-id'] ?? randomUUID();
    let matched: { route: GraphRoute; params: Record<string, string> } | null = null;
    for (const r of this.routes) {
      if (r.method !== item.method) continue;
      const m = r.regex.exec(path);
      if (!m) continue;
      matched = { route: r, params: Object.fromEntries(r.keys.map((k, i) => [k, m[i + 1] ?? ''])) };
      break;
    }
    const greq: GraphReq = { method: item.method, path, query: url.searchParams, params: matched?.params ?? {}, clientRequestId, inBatch: true, raw: null };
    if (fault) {
      this.log.push({ method: item.method, route: matched?.route.name ?? 'unmatched', path, query: url.search, bearer, inBatch: true, status: fault.status, ru: 0, at: Date.now() });
      return { status: fault.status, ...(fault.headers ? { headers: fault.headers } : {}), ...(fault.body !== undefined ? { body: fault.body } : {}) };
    }
    if (!matched) return this.error(400, 'BadRequest', `Resource not found for the segment '${path.split('/')[1] ?? ''}'.`, clientRequestId);
    return this.serve(matched.route, greq, bearer);
  }

  // ── handlers ────────────────────────────────────────────────────────────────────────────────

  private byAppIdKey(req: GraphReq, then: (appId: string) => EmulatorResponse): EmulatorResponse {
    const key = req.params.key ?? '';
    const m = /^servicePrincipals\(appId='([^']*)'\)$/.exec(key);
    if (!m) return this.error(400, 'BadRequest', `Resource not found for the segment '${key}'.`, req.clientRequestId);
    return then(m[1] as string);
  }

  /** The Docker service principal, by object id or by appId; null when neither names it. */
  private findServicePrincipal(id: string | null, appId: string | null): Json | null {
    if (id !== null && id.toLowerCase() !== this.servicePrincipalId) return null;
    if (appId !== null && appId.toLowerCase() !== this.appId.toLowerCase()) return null;
    return servicePrincipalJson(this.directory, this.view);
  }

  private servicePrincipal(req: GraphReq, id: string | null, appId: string | null): EmulatorResponse {
    const sel = parseSelect(req.query.get('$select'), [SERVICE_PRINCIPAL], []);
    if ('error' in sel) return this.badSelect(req, sel.error);
    const sp = this.findServicePrincipal(id, appId);
    if (!sp) return this.notFound(req, id ?? `servicePrincipals(appId='${appId ?? ''}')`);
    return { status: 200, body: { '@odata.context': this.context(`servicePrincipals${contextSuffix(sel)}/$entity`), ...applySelect(sp, SERVICE_PRINCIPAL, sel) } };
  }

  private appRoleAssignedTo(req: GraphReq, id: string | null, appId: string | null): EmulatorResponse {
    if (!this.findServicePrincipal(id, appId)) return this.notFound(req, id ?? `servicePrincipals(appId='${appId ?? ''}')`);
    return this.page(req, [APP_ROLE_ASSIGNMENT], () => assignmentsJson(this.directory, this.view), (o, sel) => applySelect(o, APP_ROLE_ASSIGNMENT, sel), (sel) => `servicePrincipals('${this.servicePrincipalId}')/appRoleAssignedTo${contextSuffix(sel)}`);
  }

  /** Every user, or those a `$filter` on id, userPrincipalName or mail selects (filter.ts). */
  private users(req: GraphReq): EmulatorResponse {
    const raw = req.query.get('$filter');
    const filter = raw === null ? () => true : parseFilter(raw, ['id', 'userPrincipalName', 'mail']);
    if (typeof filter === 'string') return this.error(400, 'Request_UnsupportedQuery', filter, req.clientRequestId);
    return this.page(
      req,
      [USER],
      () => [...this.directory.users.values()].sort(byId).map((u) => userJson(u, this.view)).filter(filter),
      (o, sel) => applySelect(o, USER, sel),
      (sel) => `users${contextSuffix(sel)}`,
    );
  }

  private findUser(idOrUpn: string): DirectoryUser | null {
    const byId = this.directory.users.get(idOrUpn);
    if (byId) return byId;
    const lower = idOrUpn.toLowerCase();
    for (const u of this.directory.users.values()) {
      const upn = userJson(u, this.view).userPrincipalName;
      if (typeof upn === 'string' && upn.toLowerCase() === lower) return u;
    }
    return null;
  }

  private user(req: GraphReq): EmulatorResponse {
    const sel = parseSelect(req.query.get('$select'), [USER], this.registeredExtensions());
    if ('error' in sel) return this.badSelect(req, sel.error);
    const u = this.findUser(req.params.id ?? '');
    if (!u) return this.notFound(req, req.params.id ?? '');
    return { status: 200, body: { '@odata.context': this.context(`users${contextSuffix(sel)}/$entity`), ...applySelect(userJson(u, this.view), USER, sel) } };
  }

  private group(req: GraphReq): EmulatorResponse {
    const sel = parseSelect(req.query.get('$select'), [GROUP], []);
    if ('error' in sel) return this.badSelect(req, sel.error);
    const g = this.directory.groups.get(req.params.id ?? '');
    if (!g) return this.notFound(req, req.params.id ?? '');
    return { status: 200, body: { '@odata.context': this.context(`groups${contextSuffix(sel)}/$entity`), ...applySelect(groupJson(g), GROUP, sel) } };
  }

  /**
   * Direct members (users and nested groups), or with transitive, everything beneath. Without
   * User.Read.All the listing still works (it needs GroupMember.Read.All), but users come back as
   * `id` and `@odata.type` with every other property null (§2, gotcha 11).
   */
  private members(req: GraphReq, transitive: boolean): EmulatorResponse {
    const g = this.directory.groups.get(req.params.id ?? '');
    if (!g) return this.notFound(req, req.params.id ?? '');
    const limited = !this.permissions.has('User.Read.All');
    return this.page(
      req,
      [USER, GROUP],
      () => {
        const users: Json[] = this.directory.membersOf(g.id, transitive).map((u) => ({ '@odata.type': '#microsoft.graph.user', ...userJson(u, this.view) }));
        const groups: Json[] = (transitive ? nestedGroups(this.directory, g) : [...g.groupMembers].map((id) => this.directory.groups.get(id)).filter((x): x is DirectoryGroup => !!x)).map((n) => ({
          '@odata.type': '#microsoft.graph.group',
          ...groupJson(n),
        }));
        return [...users, ...groups].sort((a, b) => byId(a as unknown as { id: string }, b as unknown as { id: string }));
      },
      (o, sel) => {
        const isUser = o['@odata.type'] === '#microsoft.graph.user';
        const shape = isUser ? USER : GROUP;
        const body = applySelect(o, shape, sel);
        // Limited information: the object is there, its properties are not (gotcha 11).
        if (isUser && limited) for (const k of Object.keys(body)) if (k !== 'id') body[k] = null;
        return { '@odata.type': o['@odata.type'], ...body };
      },
      (sel) => `directoryObjects${contextSuffix(sel)}`,
    );
  }

  /**
   * The groups a user is a member of (`memberOf`), or with transitive, also every group those are
   * nested in (`transitiveMemberOf`). Only groups: the emulator has no directory roles or
   * administrative units, which Graph lists here too (a reader filters on `@odata.type`).
   */
  private memberOf(req: GraphReq, transitive: boolean): EmulatorResponse {
    const u = this.findUser(req.params.id ?? '');
    if (!u) return this.notFound(req, req.params.id ?? '');
    return this.page(
      req,
      [GROUP],
      () => {
        const found = new Map<string, DirectoryGroup>();
        for (const g of this.directory.groups.values()) if (g.members.has(u.id)) found.set(g.id, g);
        if (transitive) {
          // Parents of what was found, until nothing new: nesting may go any depth, and may loop.
          for (let grew = true; grew; ) {
            grew = false;
            for (const g of this.directory.groups.values()) {
              if (found.has(g.id)) continue;
              for (const child of g.groupMembers) {
                if (found.has(child)) {
                  found.set(g.id, g);
                  grew = true;
                  break;
                }
              }
            }
          }
        }
        return [...found.values()].sort(byId).map((g) => ({ '@odata.type': '#microsoft.graph.group', ...groupJson(g) }));
      },
      (o, sel) => ({ '@odata.type': o['@odata.type'], ...applySelect(o, GROUP, sel) }),
      (sel) => `directoryObjects${contextSuffix(sel)}`,
    );
  }

  /**
   * One page of a listing, as Graph pages: `$top` (default 100, clamped to 1..999, and to
   * `pageSize` when set), an absolute `@odata.nextLink` on this origin carrying the other options
   * and an opaque `$skiptoken`. The list is taken when the first page is served and kept for the
   * listing's later pages, so pages never skip or repeat an object however the Directory changes.
   */
  private page(
    req: GraphReq,
    shapes: readonly EntityShape[],
    list: () => readonly Json[],
    render: (o: Json, sel: Selection) => Json,
    context: (sel: Selection) => string,
  ): EmulatorResponse {
    const sel = parseSelect(req.query.get('$select'), shapes, this.registeredExtensions());
    if ('error' in sel) return this.badSelect(req, sel.error);
    const topParam = req.query.get('$top');
    let top = DEFAULT_TOP;
    if (topParam !== null) {
      const n = Number(topParam);
      if (!Number.isInteger(n) || n < 1) return this.error(400, 'Request_BadRequest', `Invalid page size specified: '${topParam}'. Must be between 1 and ${MAX_TOP} inclusive.`, req.clientRequestId);
      top = Math.min(n, MAX_TOP);
    }
    const size = this.pageSize !== null ? Math.min(top, this.pageSize) : top;
    const token = decodeSkipToken(req.query.get('$skiptoken'));
    if (token === 'invalid') return this.error(400, 'Directory_ExpiredPageToken', 'The specified page token value has expired and can no longer be included in your request.', req.clientRequestId);
    let all: readonly Json[] | undefined;
    let seq: number;
    if (token) {
      seq = token.seq;
      all = this.snapshots.get(seq);
      if (!all) return this.error(400, 'Directory_ExpiredPageToken', 'The specified page token value has expired and can no longer be included in your request.', req.clientRequestId);
    } else {
      seq = this.nextSeq++;
      all = list();
      this.snapshots.set(seq, all);
      if (this.snapshots.size > MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value as number);
    }
    const offset = token?.offset ?? 0;
    const pageNo = token?.page ?? 1;
    const items = all.slice(offset, offset + size);
    const body: Json = { '@odata.context': this.context(context(sel)) };
    if (offset + size < all.length) {
      const params: string[] = [];
      for (const [k, v] of req.query) if (k.toLowerCase() !== '$skiptoken') params.push(`${k}=${encodeQueryValue(v)}`);
      params.push(`$skiptoken=${encodeSkipToken({ seq, offset: offset + size, page: pageNo + 1 })}`);
      body['@odata.nextLink'] = `${this.origin}/v1.0${encodePath(req.path)}?${params.join('&')}`;
    }
    body.value = items.map((o) => render(o, sel));
    return { status: 200, body, page: pageNo };
  }
}

/** Every group beneath `g` (nested at any depth), for transitiveMembers. */
function nestedGroups(dir: Directory, g: DirectoryGroup): DirectoryGroup[] {
  const out = new Map<string, DirectoryGroup>();
  const stack = [...g.groupMembers];
  while (stack.length) {
    const id = stack.pop() as string;
    if (out.has(id) || id === g.id) continue;
    const child = dir.groups.get(id);
    if (!child) continue;
    out.set(id, child);
    stack.push(...child.groupMembers);
  }
  return [...out.values()];
}

/**
 * Resource units of a request (§3): users list 2, members 3, transitiveMembers 5, anything else 1;
 * `$select` −1, `$expand` +1, `$top` below 20 −1; never below 1.
 */
export function resourceUnits(route: string, query: URLSearchParams): number {
  let ru = route === 'users' ? 2 : route === 'groupMembers' ? 3 : route === 'groupTransitiveMembers' ? 5 : 1;
  if (query.has('$select')) ru -= 1;
  if (query.has('$expand')) ru += 1;
  const top = Number(query.get('$top'));
  if (query.has('$top') && Number.isFinite(top) && top < 20) ru -= 1;
  return Math.max(1, ru);
}

/** A fixed window of resource units, as the identity-and-access quotas are stated (per 10 s). */
class ResourceUnitBucket {
  private start: number;
  private used = 0;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly align: boolean;
  private readonly fractional: boolean;

  constructor(limit: number, windowMs: number, align: boolean, fractional: boolean) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.align = align;
    this.fractional = fractional;
    this.start = this.windowStart(Date.now());
  }

  private windowStart(now: number): number {
    return this.align ? now - (now % this.windowMs) : now;
  }

  charge(cost: number): { limited: boolean; retryAfterSeconds: number; percentage: number } {
    const now = Date.now();
    if (now - this.start >= this.windowMs) {
      this.start = this.windowStart(now);
      this.used = 0;
    }
    const left = (this.start + this.windowMs - now) / 1000;
    const retryAfterSeconds = this.fractional ? Math.max(0.001, Math.ceil(left * 1000) / 1000) : Math.max(1, Math.ceil(left));
    // Throttled requests count too (§3 "Throttled calls still count"), but never past the limit.
    if (this.used + cost > this.limit) return { limited: true, retryAfterSeconds, percentage: this.used / this.limit };
    this.used += cost;
    return { limited: false, retryAfterSeconds, percentage: this.used / this.limit };
  }

  reset(): void {
    this.start = this.windowStart(Date.now());
    this.used = 0;
  }
}

interface SkipToken {
  seq: number;
  offset: number;
  page: number;
}

function encodeSkipToken(t: SkipToken): string {
  return Buffer.from(JSON.stringify(['RFNwdAIA', t.seq, t.offset, t.page])).toString('base64url');
}

function decodeSkipToken(raw: string | null): SkipToken | null | 'invalid' {
  if (raw === null || raw === '') return null;
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || typeof v[1] !== 'number' || typeof v[2] !== 'number' || typeof v[3] !== 'number') return 'invalid';
    return { seq: v[1], offset: v[2], page: v[3] };
  } catch {
    return 'invalid';
  }
}

/** Query values as Graph writes them in nextLinks: `$` and `,` literal, the rest percent-encoded. */
function encodeQueryValue(v: string): string {
  return encodeURIComponent(v).replace(/%2C/gi, ',').replace(/%24/g, '$');
}

function encodePath(path: string): string {
  return path
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%28/g, '(').replace(/%29/g, ')').replace(/%3D/gi, '=').replace(/%27/g, "'"))
    .join('/');
}

function queryString(q: URLSearchParams): string {
  const s = [...q].map(([k, v]) => `${k}=${v}`).join('&');
  return s ? `?${s}` : '';
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function headerOf(req: EmulatorRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function clientRequestIdOf(req: EmulatorRequest): string {
  return headerOf(req, 'client-request-id') ?? randomUUID();
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
