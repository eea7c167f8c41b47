import { deadline } from '../../transport/deadline.ts';
import { DefaultRequestExecutor } from '@okta/okta-sdk-nodejs';
import type { Logger } from '../../logging/logger.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { isNodeFetchSystemError, isTransientNetworkError, neverSent } from '../../transport/network.ts';
import { throttlePauseMs, type Outcome } from '../../transport/policy.ts';
import { oktaQuota } from '../../transport/quota.ts';
import { withRetries } from '../../transport/retry-loop.ts';
import { OKTA } from '../../transport/systems.ts';
import type { BackoffPolicy } from '../../transport/wait-time.ts';
import { ATTEMPTS_HEADER, OktaAbortedError, OktaMalformedError, OktaOffOriginError, OktaTokenError, OktaTransportError } from './errors.ts';
import { bucketOf, oktaPacer } from './pacing.ts';

/**
 * Every HTTP request the Okta SDK makes, API calls and token requests alike, goes through here
 * (the SDK's only hook for transport; okta.md §6). It applies the shared transport policy
 * (src/transport/, OKTA in systems.ts) instead of the SDK's own retries:
 * - 429: wait for the window to reset (`X-Rate-Limit-Reset`, by the answer's `Date` when our clock
 *   is skewed), and hold the bucket's other requests until then;
 * - 5xx, timeouts, resets and refused connections: capped exponential backoff with jitter;
 * - a per-request timeout that covers the body, not just the headers;
 * - pacing per bucket by `X-Rate-Limit-Remaining` (pacing.ts), so 429s are the exception;
 * - token-endpoint failures become an error instead of a cached "token" of `undefined` (§5.2);
 * - the credential goes only to the configured origin (DESIGN.md invariant 10): a request whose URL
 *   is elsewhere (a paging link Okta, or something posing as it, sent) is refused before it is
 *   sent, and redirects are followed here, within the origin, never by node-fetch.
 * Retries are bounded by `maxRetries`; when they run out the last answer goes to the SDK, which
 * raises OktaApiError for it, or a transport error is thrown.
 */

/** The node-fetch v2 request options the SDK passes (its typings import node-fetch types we do not have). */
type SdkRequest = Parameters<DefaultRequestExecutor['fetch']>[0];

interface FetchHeaders {
  get(name: string): string | null;
  set(name: string, value: string): void;
}

/** The parts of a node-fetch v2 Response this file touches. */
interface FetchResponse {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly headers: FetchHeaders;
  arrayBuffer(): Promise<ArrayBuffer>;
}

type FetchResponseCtor = new (
  body: Buffer,
  init: { url: string; status: number; statusText: string; headers: FetchHeaders },
) => FetchResponse;

export interface ExecutorOptions {
  /** OKTA_ORG_URL's origin (scheme, host and port): the only place requests, and so credentials, may go. */
  origin: string;
  logger: Logger;
  timeoutMs: number;
  maxRetries: number;
  backoff: BackoffPolicy;
  /** Sees every exchange (API calls and token requests), retry and rate-limit wait. */
  observer?: TransportObserver;
}

/** Okta does not redirect API or token calls at all; a few hops allow a proxy's path fix-up, more is a loop. */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Pacing pauses shorter than this (timer slack right after a 429's wait) are not worth a log line. */
const LOGGED_PAUSE_MS = 50;

/** Per read: the caller's abort signal and the request count for ReadStats. */
export interface ReadSession {
  readonly signal: AbortSignal | undefined;
  requests: number;
}

/** One attempt's result: an answer with its whole body, or the failure that left none. */
type Sent = { kind: 'answer'; res: FetchResponse; body: Buffer } | { kind: 'timeout' | 'network'; error: unknown };

export class OktaRequestExecutor extends DefaultRequestExecutor {
  private readonly opts: ExecutorOptions;
  private readonly pacer = oktaPacer();
  session: ReadSession = { signal: undefined, requests: 0 };

  constructor(opts: ExecutorOptions) {
    // The SDK's own 429 loop is switched off (maxRetries 0 disables it, §3.4): one retry policy, ours.
    super({ maxRetries: 0, requestTimeout: 0 });
    this.opts = opts;
  }

  /**
   * node-fetch v2 would follow a redirect itself, keeping `Authorization` whenever the host name
   * matches (a different port or scheme included) and resending a POST body (the token request's
   * client assertion) on 307/308. So redirects are never left to it: each hop is checked against
   * the configured origin and sent through `send` like any request (retries, pacing, timeout).
   * Every hop keeps the method and body, as 307/308 require; 301/302/303 do the same rather than
   * turn into a GET (Okta sends none of them, so no real answer depends on the difference).
   */
  override async fetch(request: SdkRequest): Promise<FetchResponse> {
    let current = request as SdkRequest & { url?: unknown };
    for (let hop = 0; ; hop++) {
      const res = await this.send(current);
      const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get('location') : null;
      if (location === null) return res;
      let to: URL;
      try {
        // node-fetch has already resolved a relative Location against the request URL.
        to = new URL(location, String(current.url));
      } catch {
        throw new OktaMalformedError(`HTTP ${res.status} redirects to a Location that is not a URL`);
      }
      if (to.origin !== this.opts.origin) throw new OktaOffOriginError(to.origin, this.opts.origin, res.status);
      if (hop >= MAX_REDIRECTS) throw new OktaMalformedError(`more than ${MAX_REDIRECTS} redirects in a row (the last HTTP ${res.status}); Okta itself does not redirect API calls`);
      current = { ...current, url: to.href };
    }
  }

  /** One request, with retries and pacing; a redirect comes back as it is. */
  private async send(request: SdkRequest): Promise<FetchResponse> {
    const req = request as { url?: unknown; method?: unknown; headers?: Record<string, string> };
    const url = new URL(String(req.url));
    // The one check that covers every URL the SDK builds or takes from an answer (paging links
    // above all): compared by origin, never by host name, so another port or http instead of
    // https is "elsewhere" too. Refused before the request exists, so no credential leaves.
    if (url.origin !== this.opts.origin) throw new OktaOffOriginError(url.origin, this.opts.origin, null);
    const path = url.pathname.replace(/\/{2,}/g, '/');
    const method = String(req.method ?? 'GET').toUpperCase();
    const route = `${method} ${routeTemplate(path)}`;
    const bucket = bucketOf(path);
    const isToken = path.endsWith('/oauth2/v1/token');
    const { maxRetries, timeoutMs, backoff, logger, observer } = this.opts;
    const external = this.session.signal;
    let retryFor: string | null = null;

    const end = await withRetries<Sent>({
      policy: OKTA,
      settings: { maxRetries, backoff },
      // An unreadable body is handed to the SDK, never resent here (see below).
      idempotent: false,
      signal: external,
      send: async (attempt) => {
        if (external?.aborted) throw new OktaAbortedError();
        const gated = Date.now();
        let paced = false;
        const ticket = await this.pacer.take(bucket, 1, external, (waitMs, why) => {
          // Waiting for a bucket's first answer is not the server limiting the rate.
          if (why.reason === 'learning') return;
          paced = true;
          if (waitMs >= LOGGED_PAUSE_MS) logger.info({ route, bucket, waitMs, limit: why.limit, remaining: why.remaining }, 'okta rate limit nearly used; pausing until the window resets');
        });
        if (paced) observer?.waited('okta', Date.now() - gated);
        if (ticket === null) throw new OktaAbortedError();

        const timeout = deadline(timeoutMs, external);
        const signal = timeout.signal;
        // A retry resends the same Authorization (and, in DPoP mode, the same proof): the SDK sets
        // them before calling us. Okta documents no replay check on API-call proofs (gap; okta.md §5.2).
        const headers: Record<string, string> = { ...req.headers };
        if (attempt > 0) {
          // What the SDK's own retry sends, so Okta support can tie retries together.
          if (retryFor) headers['X-Okta-Retry-For'] = retryFor;
          headers['X-Okta-Retry-Count'] = String(attempt);
        }
        this.session.requests += 1;

        let res: FetchResponse;
        let body: Buffer;
        try {
          res = (await super.fetch({ ...request, headers, signal, redirect: 'manual' } as SdkRequest)) as FetchResponse;
          // Read the body here so the timeout and a reset mid-body are retried like any other. It is
          // not parsed here: a complete 200 whose JSON is broken is not a transport hiccup (more
          // likely a proxy rewriting answers), so the SDK's parse error fails the read unretried.
          body = Buffer.from(await res.arrayBuffer());
        } catch (err) {
          this.pacer.settle(ticket, null);
          // Cut off by shutdown: no answer, but not the network's fault either; not counted.
          if (external?.aborted) throw new OktaAbortedError();
          observer?.request('okta', method, timeout.expired ? 'timeout' : 'network');
          if (timeout.expired) return { outcome: { kind: 'timeout' }, value: { kind: 'timeout', error: err } };
          if (!isTransientNetworkError(err) && !isNodeFetchSystemError(err)) throw err;
          const outcome: Outcome = { kind: 'network', transient: true, neverSent: neverSent(err) };
          return { outcome, value: { kind: 'network', error: err } };
        } finally {
          timeout.clear();
        }
        const now = Date.now();
        this.pacer.settle(ticket, oktaQuota(res.headers, now), res.status === 429 ? throttlePauseMs(OKTA, res.headers, now) : null);
        retryFor = res.headers.get('x-okta-request-id') ?? retryFor;
        observer?.request('okta', method, res.status);
        return { outcome: { kind: 'answer', status: res.status, headers: res.headers }, value: { kind: 'answer', res, body } };
      },
      onRetry: ({ value, attempts, waitMs, throttled }) => {
        // A 429 is about the bucket, not this request: its other requests wait as long.
        if (throttled) this.pacer.pause(bucket, Date.now() + waitMs);
        if (value.kind !== 'answer') {
          const code = errorCode(value.error);
          logger.warn({ route, error: value.kind === 'timeout' ? 'timeout' : (code ?? 'network error'), attempt: attempts, maxRetries, waitMs }, 'okta request failed; retrying');
        } else if (value.res.status === 429) {
          logger.warn({ route, status: 429, attempt: attempts, maxRetries, waitMs }, 'okta rate limited (429); waiting for the window to reset');
        } else {
          logger.warn({ route, status: value.res.status, attempt: attempts, maxRetries, waitMs }, 'okta server error; retrying');
        }
        observer?.retry('okta');
      },
      onRateLimitWait: (ms) => observer?.waited('okta', ms),
    });

    if (end.kind === 'aborted') throw new OktaAbortedError();
    const last = end.last.value;
    if (last.kind !== 'answer') throw new OktaTransportError(last.kind, end.attempts, errorCode(last.error), last.error);
    const { res, body } = last;
    const status = res.status;
    const redirect = REDIRECT_STATUSES.has(status) && res.headers.get('location') !== null;
    if (isToken && !redirect) checkTokenResponse(status, body, end.attempts);
    // A 2xx that is not JSON (a proxy's or captive portal's HTML page): the SDK would turn it into
    // a list of its characters and the read would complain about "item 1". Say what it is.
    const type = res.headers.get('content-type') ?? '';
    if (status >= 200 && status < 300 && body.length > 0 && !/json/i.test(type)) {
      throw new OktaMalformedError(`the answer is not JSON but ${type.split(';')[0] || 'untyped'} (an HTML page from a proxy?)`);
    }

    // Hand the SDK an equivalent response over the buffered body; same class, so nothing else changes.
    const Ctor = res.constructor as FetchResponseCtor;
    const out = new Ctor(body, { url: res.url, status, statusText: res.statusText, headers: res.headers });
    out.headers.set(ATTEMPTS_HEADER, String(end.attempts));
    return out;
  }
}

/**
 * The token endpoint's answer. The SDK feeds any body it gets into its token cache, so a refusal
 * would surface only later as a 401 on `Bearer undefined`; it is raised here with Okta's reason.
 * `use_dpop_nonce` is let through: the SDK answers it itself by retrying with the nonce.
 */
function checkTokenResponse(status: number, body: Buffer, attempts: number): void {
  let json: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
  } catch {
    json = null;
  }
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  if (status >= 200 && status < 300) {
    if (json && str(json.access_token)) return;
    throw new OktaTokenError(0, null, 'the token endpoint answered without an access_token', attempts);
  }
  if (status === 400 && json?.error === 'use_dpop_nonce') return;
  throw new OktaTokenError(status, str(json?.error), str(json?.error_description), attempts);
}

/** `/api/v1/apps/0oa1/users` → `/api/v1/apps/{appId}/users`, for logs that group by route. */
export function routeTemplate(path: string): string {
  return path
    .replace(/^\/api\/v1\/apps\/[^/]+/, '/api/v1/apps/{appId}')
    .replace(/^(\/api\/v1\/apps\/\{appId\}\/(?:users|groups))\/[^/]+/, '$1/{id}')
    .replace(/^\/api\/v1\/groups\/[^/]+/, '/api/v1/groups/{groupId}')
    .replace(/^\/api\/v1\/users\/[^/]+/, '/api/v1/users/{userId}');
}

function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code ?? (err as { errno?: unknown } | null)?.errno;
  return typeof code === 'string' ? code : null;
}

