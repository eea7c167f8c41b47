import { deadline } from '../../transport/deadline.ts';
import { ClientCertificateCredential, ClientSecretCredential, type AccessToken, type ClientSecretCredentialOptions, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { AuthenticationHandler, Client, GraphError, HTTPMessageHandler, TelemetryHandler, type Context, type Middleware, type MiddlewareOptions } from '@microsoft/microsoft-graph-client';
// Under ESM the directory import throws ERR_UNSUPPORTED_DIR_IMPORT (gotcha 13).
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import type { Logger } from '../../logging/logger.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { GraphPacing } from '../../transport/graph-pacing.ts';
import { isFetchFailure, isTransientNetworkError, neverSent } from '../../transport/network.ts';
import type { Outcome } from '../../transport/policy.ts';
import { withRetries } from '../../transport/retry-loop.ts';
import { GRAPH } from '../../transport/systems.ts';
import type { BackoffPolicy } from '../../transport/wait-time.ts';
import { EntraAbortedError, EntraHttpError, EntraMalformedError, EntraOffOriginError, EntraTokenError, EntraTransportError, errorCode, originOf } from './errors.ts';

/**
 * Builds the credential and the Graph client with the settings the reference says are not optional
 * (entra-graph.md §0, §5), and exposes only GET and POST of JSON behind a small interface, so no SDK
 * type leaves this folder:
 * - `customHosts` holds the Graph base's hostname without port when it is not one of Microsoft's
 *   Graph hosts; otherwise the SDK sends no token, silently (gotcha 1);
 * - `disableInstanceDiscovery` when the authority is not one of Microsoft's, so MSAL does not call
 *   login.microsoftonline.com to validate it (gotcha 3);
 * - one retry policy, ours (RetryMiddleware below), in place of the SDK's RetryHandler;
 * - the token and every Graph request go only to their configured origins (invariant 10): Graph
 *   redirects are handled by hand and followed only on GRAPH_BASE_URL's origin, and the
 *   credential follows none.
 */

export type EntraCredential = { kind: 'secret'; secret: string } | { kind: 'certificate'; certificatePath: string /* PEM file with private key + certificate */ };

/** Authorities MSAL knows without discovery (§5.5, §6); anything else is validated by discovery, which needs the internet. */
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.microsoft.com',
  'login.windows.net',
  'sts.windows.net',
  'login-us.microsoftonline.com',
  'login.usgovcloudapi.net',
]);

/** The SDK's own GRAPH_URLS (§6): these get a token without customHosts. */
const MICROSOFT_GRAPH_HOSTS = new Set(['graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'graph.microsoft.de', 'microsoftgraph.chinacloudapi.cn', 'canary.graph.microsoft.com']);

/** Same-origin redirects followed for one request; Graph itself does not redirect reads (a proxy might, once). */
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface ClientOptions {
  tenantId: string;
  clientId: string;
  credential: EntraCredential;
  authorityHost: string;
  graphBaseUrl: string;
  graphScope: string;
  logger: Logger;
  timeoutMs: number;
  maxRetries: number;
  backoff: BackoffPolicy;
  /** Sees every exchange (Graph requests, `$batch` POSTs, token requests), retry and rate-limit wait. */
  observer?: TransportObserver;
}

/** Per read: the caller's abort signal and the request count for ReadStats. */
export interface ReadSession {
  signal: AbortSignal | undefined;
  requests: number;
}

export interface GraphApi {
  /**
   * GET `target`: a path relative to the version (`/users/{id}`), with `$select`/`$top`, or an
   * absolute `@odata.nextLink` as Graph sent it. Resolves to the parsed JSON object; throws
   * EntraHttpError, EntraTransportError, EntraTokenError, EntraAbortedError or EntraMalformedError.
   * `route` names the request in logs (`GET /groups/{id}/members`).
   */
  get(target: string, opts: { route: string; select?: readonly string[]; top?: number }): Promise<Record<string, unknown>>;
  /** POST JSON to a path relative to the version (`/$batch`). */
  post(path: string, body: unknown, opts: { route: string }): Promise<Record<string, unknown>>;
  /** The configured Graph origin (scheme, host and port): the only one a request may go to. */
  readonly origin: string;
  /** Whether `url` is on that origin, so the token may go with it; any other URL is never requested. */
  isOnGraphOrigin(url: string): boolean;
}

/** The credential pipeline's request type, from its policy hook (core-rest-pipeline is not a dependency of ours). */
type TokenPolicy = NonNullable<ClientSecretCredentialOptions['additionalPolicies']>[number]['policy'];
type TokenRequest = Parameters<TokenPolicy['sendRequest']>[0];

export function isMicrosoftAuthority(authorityHost: string): boolean {
  return MICROSOFT_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
}

/**
 * The hosts the SDK must send the token to besides its own list: the base URL's hostname, lower
 * case and without port, since the SDK strips the port before looking (gotcha 1, §5.2).
 */
export function customHostsFor(graphBaseUrl: string): Set<string> {
  const host = new URL(graphBaseUrl).hostname.toLowerCase();
  return MICROSOFT_GRAPH_HOSTS.has(host) ? new Set() : new Set([host]);
}

/** A redirect the sign-in service answered with, which was not followed. */
export interface RefusedRedirect {
  status: number;
  /** The Location's origin only, or `no Location`. */
  origin: string;
}

export function createCredential(
  opts: Pick<ClientOptions, 'tenantId' | 'clientId' | 'credential' | 'authorityHost' | 'maxRetries' | 'backoff' | 'observer'>,
  onRedirect: (r: RefusedRedirect) => void = () => undefined,
): TokenCredential {
  // The credential's pipeline retries on its own (retryOptions below); this policy sits under its
  // retry policy ('perRetry'), so it sees each attempt of the same request object.
  const observer = opts.observer;
  const earlier = new WeakMap<TokenRequest, { at: number; limited: boolean }>();
  const common: ClientSecretCredentialOptions = {
    authorityHost: opts.authorityHost,
    disableInstanceDiscovery: !isMicrosoftAuthority(opts.authorityHost),
    // The token endpoint's 429/5xx are retried by the credential's own pipeline (§5.5); with our
    // bounds, so one setting governs how long a read can spend on retries.
    retryOptions: { maxRetries: opts.maxRetries, retryDelayInMs: Math.max(1, opts.backoff.baseMs), maxRetryDelayInMs: Math.max(1, opts.backoff.capMs) },
    // No redirects at all for discovery and the token POST. core-rest-pipeline's redirect policy
    // re-sends a POST's body on a 307 (the client secret or assertion), and only its newer versions
    // (ts-http-runtime's allowCrossOriginRedirects, default false) keep that to the same origin; a
    // real authority never redirects these requests, so one that does gets an error, whatever
    // version is installed (invariant 10).
    redirectOptions: { maxRetries: 0 },
    // MSAL then fails on the 3xx with a message that quotes the Location; this tells the caller
    // what really happened, so the admin gets a plain error.
    additionalPolicies: [
      {
        position: 'perRetry',
        policy: {
          name: 'docker-idp-sync-refused-redirect',
          async sendRequest(request, next) {
            const before = earlier.get(request);
            if (before) {
              observer?.retry('entra');
              if (before.limited) observer?.waited('entra', Date.now() - before.at);
            }
            let response: Awaited<ReturnType<typeof next>>;
            try {
              response = await next(request);
            } catch (err) {
              if (!request.abortSignal?.aborted) observer?.request('entra', request.method, 'network');
              earlier.set(request, { at: Date.now(), limited: false });
              throw err;
            }
            observer?.request('entra', request.method, response.status);
            const asked = response.headers.get('retry-after') !== undefined;
            earlier.set(request, { at: Date.now(), limited: GRAPH.rateLimitWait(response.status, asked) });
            if (response.status >= 300 && response.status < 400) {
              const location = response.headers.get('location');
              onRedirect({ status: response.status, origin: location ? originOf(location, request.url) : 'no Location' });
            }
            return response;
          },
        },
      },
    ],
  };
  return opts.credential.kind === 'secret'
    ? new ClientSecretCredential(opts.tenantId, opts.clientId, opts.credential.secret, common)
    : new ClientCertificateCredential(opts.tenantId, opts.clientId, { certificatePath: opts.credential.certificatePath }, common);
}

/** Per-call state the middleware fills in (handed over through the SDK's middleware options). */
class CallTrace implements MiddlewareOptions {
  readonly route: string;
  attempts = 0;
  /** What really went wrong: the SDK turns any thrown error into a GraphError, losing its type. */
  failure: unknown = null;
  constructor(route: string) {
    this.route = route;
  }
}

/**
 * The transport policy (src/transport/, GRAPH in systems.ts) for every Graph request, outermost in
 * the chain so a retry also gets a fresh token and telemetry headers. It replaces the SDK's
 * RetryHandler rather than adding to it: that one covers 429/503/504 only, waits 3 s and more
 * without a header, logs nothing, and would multiply with ours (§5.3). One policy, one bound:
 * - 429, 500, 502, 503, 504 wait for `Retry-After` when sent (seconds or a date, ≤180 s), else
 *   capped exponential backoff with full jitter; timeouts and resets likewise with backoff;
 * - requests are paced on the resource units Graph reports (transport/graph-pacing.ts), so a long
 *   read slows down near the quota instead of collecting 429s;
 * - each attempt has `timeoutMs`, which covers the body: it is read here, so a reset mid-body is
 *   retried like any other and the SDK parses a buffered copy;
 * - every wait is logged at warn with the route, status and wait;
 * - redirects are not left to fetch (which would re-send a $batch body on a 307/308, and to any
 *   origin): `redirect: 'manual'`, and a 3xx is followed here only when its Location is on the
 *   configured Graph origin, at most MAX_REDIRECTS times; one elsewhere is an EntraOffOriginError
 *   and nothing is sent there (invariant 10).
 * Bounded by `maxRetries`; then the last answer goes to the SDK (which raises GraphError for it), or
 * a transport error is thrown. Token failures are not retried: the credential already did (§5.5).
 */
class RetryMiddleware implements Middleware {
  private next: Middleware | null = null;
  private readonly opts: ClientOptions;
  private readonly session: () => ReadSession;
  private readonly pacing: GraphPacing;
  /** The configured Graph origin: the only one a redirect may lead to. */
  private readonly origin: string;

  constructor(opts: ClientOptions, session: () => ReadSession, pacing: GraphPacing) {
    this.opts = opts;
    this.session = session;
    this.pacing = pacing;
    this.origin = new URL(opts.graphBaseUrl).origin;
  }

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const trace = context.middlewareControl?.getMiddlewareOptions(CallTrace) as CallTrace | undefined;
    const session = this.session();
    const external = session.signal;
    const { maxRetries, backoff, logger, observer } = this.opts;
    const route = trace?.route ?? 'graph request';
    const options = context.options ?? {};
    context.options = options;
    // Authentication and telemetry append their headers on each pass; each attempt starts clean.
    const headers = { ...((options.headers ?? {}) as Record<string, string>) };
    const record = (err: unknown): unknown => {
      if (trace) trace.failure = err;
      return err;
    };
    // fetch follows redirects by default; they are judged in `attempt` instead.
    options.redirect = 'manual';

    const end = await withRetries<Sent>({
      policy: GRAPH,
      settings: { maxRetries, backoff },
      idempotent: true,
      signal: external,
      send: async (attempt) => {
        if (external?.aborted) throw record(new EntraAbortedError());
        if (trace) trace.attempts = attempt + 1;
        return this.attempt(context, headers, route, record);
      },
      onRetry: ({ value, attempts, waitMs, serverAsked, throttled }) => {
        // A 429 is about the app's quota, not this request: every Graph request waits as long.
        if (throttled) this.pacing.pause(Date.now() + waitMs);
        if (value.kind === 'answer') {
          logger.warn(
            { route, status: value.status, attempt: attempts, maxRetries, waitMs, retryAfter: serverAsked },
            value.status === 429 ? 'graph throttled the request (429); waiting before retrying' : 'graph server error; retrying',
          );
        } else {
          const code = errorCode(value.error);
          logger.warn({ route, error: value.kind === 'timeout' ? 'timeout' : (code ?? 'network error'), attempt: attempts, maxRetries, waitMs }, 'graph request failed; retrying');
        }
        observer?.retry('entra');
      },
      onRateLimitWait: (ms) => observer?.waited('entra', ms),
    });
    if (end.kind === 'aborted') throw record(new EntraAbortedError());
    const last = end.last.value;
    if (last.kind !== 'answer') throw record(new EntraTransportError(last.kind, end.attempts, errorCode(last.error), last.error));
    // The last answer stays in context.response: the SDK raises GraphError for a failure status.
  }

  /** One attempt, with the same-origin redirects it may follow: each hop is paced, timed and counted. */
  private async attempt(context: Context, headers: Record<string, string>, route: string, record: (err: unknown) => unknown): Promise<{ outcome: Outcome; value: Sent }> {
    const next = this.next as Middleware;
    const options = context.options as NonNullable<Context['options']>;
    const session = this.session();
    const external = session.signal;
    const { timeoutMs, logger, observer } = this.opts;
    for (let redirects = 0; ; ) {
      options.headers = { ...headers };
      const method = (options.method ?? 'GET').toUpperCase();
      const held = Date.now();
      let paced = false;
      const ticket = await this.pacing.take({ method, url: requestUrl(context), body: options.body }, external, (waitMs, why) => {
        paced = true;
        if (waitMs >= LOGGED_PAUSE_MS) logger.info({ route, waitMs, limit: why.limit, remaining: why.remaining }, 'graph quota nearly used; pausing until it refills');
      });
      if (paced) observer?.waited('entra', Date.now() - held);
      if (ticket === null) throw record(new EntraAbortedError());
      const timeout = deadline(timeoutMs, external);
      options.signal = timeout.signal;
      session.requests += 1;
      let body: ArrayBuffer;
      try {
        await next.execute(context);
        const res = context.response as Response;
        body = await res.arrayBuffer();
        context.response = new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
      } catch (err) {
        this.pacing.settle(ticket, null);
        // A token failure sent no Graph request (the credential's own policy counts its requests).
        if (err instanceof EntraTokenError) throw record(err);
        // Cut off by shutdown: no answer, but not the network's fault either; not counted.
        if (external?.aborted) throw record(new EntraAbortedError());
        observer?.request('entra', method, timeout.expired ? 'timeout' : 'network');
        if (timeout.expired) return { outcome: { kind: 'timeout' }, value: { kind: 'timeout', error: err } };
        if (!isTransientNetworkError(err) && !isFetchFailure(err)) throw record(err);
        return { outcome: { kind: 'network', transient: true, neverSent: neverSent(err) }, value: { kind: 'network', error: err } };
      } finally {
        timeout.clear();
      }

      const res = context.response as Response;
      this.pacing.settle(ticket, { status: res.status, headers: res.headers, body });
      observer?.request('entra', method, res.status);
      const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get('location') : null;
      if (location === null) return { outcome: { kind: 'answer', status: res.status, headers: res.headers }, value: { kind: 'answer', status: res.status } };
      // A redirect is not a retry: the hop is followed within this attempt.
      context.request = this.redirectTarget(context, res.status, location, ++redirects, record);
      logger.debug({ route, status: res.status, redirects }, 'graph redirected the request on its own origin; following');
      // 303, and 301/302 after a POST, become a GET without a body, as fetch would do.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        options.method = 'GET';
        delete options.body;
        for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-type') delete headers[k];
      }
    }
  }

  /**
   * Where a 3xx may be followed: its Location, resolved against the request, if it is on the
   * configured Graph origin. Anything else throws; the error names the origin only, since the
   * full URL of a hostile Location may carry anything.
   */
  private redirectTarget(context: Context, status: number, location: string, hop: number, record: (err: unknown) => unknown): string {
    const from = requestUrl(context);
    let target: URL | null = null;
    try {
      target = new URL(location, from);
    } catch {
      target = null;
    }
    if (target === null || target.origin !== this.origin) throw record(new EntraOffOriginError(`a redirect (HTTP ${status})`, target === null ? 'an invalid URL' : target.origin, this.origin));
    if (hop > MAX_REDIRECTS) throw record(new EntraMalformedError(`Graph redirected the request more than ${MAX_REDIRECTS} times (last HTTP ${status})`));
    return target.href;
  }
}

/** One attempt's end: an answer (left in the context for the SDK), or the failure that left none. */
type Sent = { kind: 'answer'; status: number } | { kind: 'timeout' | 'network'; error: unknown };

/** Quota pauses shorter than this are timer slack, not worth a log line. */
const LOGGED_PAUSE_MS = 50;

function requestUrl(context: Context): string {
  return typeof context.request === 'string' ? context.request : context.request.url;
}

export interface GraphConnection {
  readonly api: GraphApi;
  /** The current read's session; the source swaps it per read. */
  session: ReadSession;
}

export function connectGraph(opts: ClientOptions): GraphConnection {
  let refused: RefusedRedirect | null = null;
  const credential = createCredential(opts, (r) => {
    refused = r;
  });
  const state: { session: ReadSession } = { session: { signal: undefined, requests: 0 } };
  const session = () => state.session;

  // Wrapped so a sign-in failure is recognisable once the SDK has turned it into a GraphError.
  // MSAL's client-credential flow honours neither `requestOptions.timeout` nor `abortSignal`
  // (checked: a token endpoint that stalls holds the read until it answers), so the wait is bounded
  // here: the credential's own attempts, each `timeoutMs`. A late answer is left to MSAL's cache.
  const tokenBudgetMs = opts.timeoutMs * (opts.maxRetries + 1);
  const reuse = new TokenReuse();
  const tokens: TokenCredential = {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const kept = reuse.get(scopes, options, Date.now());
      if (kept) return kept;
      const signal = session().signal;
      refused = null;
      const pending = credential.getToken(scopes, { ...options, ...(signal ? { abortSignal: signal } : {}) });
      pending.catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const stop = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new EntraTokenError(new Error(`no answer from the sign-in service within ${tokenBudgetMs} ms`), { timedOut: true })), tokenBudgetMs);
        onAbort = () => reject(new EntraAbortedError());
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const token = await Promise.race([pending, stop]);
        if (!token) throw new Error('the credential returned no token');
        reuse.keep(scopes, options, token);
        return token;
      } catch (err) {
        if (err instanceof EntraTokenError || err instanceof EntraAbortedError) throw err;
        if (signal?.aborted) throw new EntraAbortedError();
        throw new EntraTokenError(err, { redirect: refused });
      } finally {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
    },
  };

  const base = new URL(opts.graphBaseUrl);
  const client = Client.initWithMiddleware({
    middleware: [
      new RetryMiddleware(opts, session, new GraphPacing()),
      new AuthenticationHandler(new TokenCredentialAuthenticationProvider(tokens, { scopes: [opts.graphScope] })),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ],
    baseUrl: `${base.origin}/`,
    defaultVersion: 'v1.0',
    customHosts: customHostsFor(opts.graphBaseUrl),
  });

  async function call(route: string, send: (trace: CallTrace) => Promise<unknown>): Promise<Record<string, unknown>> {
    const trace = new CallTrace(route);
    let result: unknown;
    try {
      result = await send(trace);
    } catch (err) {
      throw translate(err, trace);
    }
    // A 200 that is not JSON (a proxy's HTML page) comes back from the SDK as a stream (§5.4).
    if (result === null || typeof result !== 'object' || Array.isArray(result) || Object.getPrototypeOf(result) !== Object.prototype) {
      throw new EntraMalformedError('the answer is not a JSON object');
    }
    return result as Record<string, unknown>;
  }

  const api: GraphApi = {
    origin: base.origin,
    get(target, o) {
      return call(o.route, (trace) => {
        let req = client.api(target).middlewareOptions([trace]);
        if (o.select) req = req.select([...o.select]);
        if (o.top !== undefined) req = req.top(o.top);
        return req.get();
      });
    },
    post(path, body, o) {
      return call(o.route, (trace) => client.api(path).middlewareOptions([trace]).post(body));
    },
    // The whole origin, port and scheme included: the SDK would send the token to any https URL
    // on the base's hostname or on one of Microsoft's Graph hosts (gotcha 1), which is wider than
    // what the admin configured.
    isOnGraphOrigin(url) {
      return originOf(url) === base.origin;
    },
  };
  return {
    api,
    get session() {
      return state.session;
    },
    set session(s: ReadSession) {
      state.session = s;
    },
  };
}

/**
 * MSAL renews a client-credential token this long before it expires (its default
 * `tokenRenewalOffsetSeconds`); a kept token is given up at the same moment, so renewal happens
 * exactly when it did before.
 */
export const TOKEN_RENEWAL_MS = 5 * 60_000;

/**
 * The last access token, handed out again while MSAL would hand out the same one. MSAL answers every
 * request from its own cache, but each lookup costs ~1 ms of CPU (cache scans, logging, telemetry),
 * and a read of 100,000 users sends ~250 requests. A call with options beyond the abort signal
 * (claims, another tenant) always goes to the credential.
 */
export class TokenReuse {
  private kept: { scopes: string; token: AccessToken } | null = null;

  get(scopes: string | string[], options: GetTokenOptions | undefined, now: number): AccessToken | null {
    const kept = this.kept;
    if (kept === null || !plain(options) || kept.scopes !== scopeKey(scopes)) return null;
    const { expiresOnTimestamp, refreshAfterTimestamp } = kept.token;
    if (expiresOnTimestamp - now <= TOKEN_RENEWAL_MS || (refreshAfterTimestamp !== undefined && now >= refreshAfterTimestamp)) {
      this.kept = null;
      return null;
    }
    return kept.token;
  }

  keep(scopes: string | string[], options: GetTokenOptions | undefined, token: AccessToken): void {
    this.kept = plain(options) ? { scopes: scopeKey(scopes), token } : null;
  }
}

function scopeKey(scopes: string | string[]): string {
  return typeof scopes === 'string' ? scopes : scopes.join(' ');
}

/** No option that could make the credential answer with another token. */
function plain(options: GetTokenOptions | undefined): boolean {
  if (options === undefined) return true;
  for (const [k, v] of Object.entries(options)) if (v !== undefined && k !== 'abortSignal' && k !== 'requestOptions' && k !== 'tracingOptions') return false;
  return true;
}

/** Whatever the SDK threw, as one of this folder's errors. */
function translate(err: unknown, trace: CallTrace): unknown {
  if (trace.failure !== null) return trace.failure;
  if (err instanceof GraphError) {
    if (err.statusCode >= 200 && err.statusCode < 300) {
      return new EntraMalformedError(`the body is not valid JSON (${err.code ?? 'parse error'}: ${err.message})`, { cause: err });
    }
    if (err.statusCode > 0) {
      // GraphError.body is the JSON of the inner `error` object when Graph sent one (§5.4).
      const code = typeof err.code === 'string' && err.code !== '' ? err.code : null;
      return new EntraHttpError(err.statusCode, code, err.message || null, err.requestId ?? null, trace.attempts || 1);
    }
  }
  return err;
}
