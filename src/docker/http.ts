/**
 * The transport under the Docker SCIM client: one place that sends requests, bounds how many are
 * in flight, and turns every failure into a DockerApiError. Retries and pacing are the shared
 * transport policy (src/transport/); what is Docker's here is its quirks. Node's global fetch
 * (undici) keeps connections alive by default.
 *
 * Retried (transport/systems.ts DOCKER): 429 (after Retry-After / X-Retry-After / X-RateLimit-Reset),
 * 500, 502, 503, 504, timeouts and connection resets, with capped exponential backoff and full
 * jitter; an unreadable 2xx only for a GET, PUT or DELETE. Everything else is answered at once: a
 * 4xx will not change by asking again. Pacing reads X-RateLimit-Limit/-Remaining/-Reset.
 *
 * Shutdown (`signal`) ends any wait at once (backoff, Retry-After, pacing) and the request is not
 * sent again: DOCKER_ABORTED, or DOCKER_ABORTED_UNCONFIRMED for a write an earlier attempt of which
 * may have landed. A request already in flight is not cut off: its answer is awaited, so a write
 * Docker did is known and journaled.
 *
 * Redirects are never left to fetch (`redirect: 'manual'`): undici would drop the token across
 * origins but re-send the body, i.e. the user record, wherever a Location points. Only a GET is
 * followed, and only within the configured origin (DESIGN.md invariant 10).
 */
import { deadline } from '../transport/deadline.ts';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from '../logging/logger.ts';
import type { TransportObserver } from '../model/telemetry.ts';
import { isTransientNetworkError, neverSent } from '../transport/network.ts';
import { Pacer } from '../transport/pacer.ts';
import { throttlePauseMs, type Outcome } from '../transport/policy.ts';
import { dockerQuota } from '../transport/quota.ts';
import { withRetries, type LoopEnd } from '../transport/retry-loop.ts';
import { DOCKER } from '../transport/systems.ts';
import type { BackoffPolicy, HeaderSource } from '../transport/wait-time.ts';
import { badResponseError, networkError, redirectError, responseError, DockerApiError } from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TransportOptions {
  baseUrl: string;
  token: string;
  logger: Logger;
  timeoutMs: number;
  maxRetries: number;
  concurrency: number;
  backoff: BackoffPolicy;
  userAgent: string;
  /** Sees every exchange, retry and rate-limit wait. */
  observer?: TransportObserver;
  /** Shutdown: ends waits at once; requests in flight are still answered. */
  signal?: AbortSignal;
}

export interface ScimRequest {
  method: HttpMethod;
  /** Relative to the SCIM base URL, e.g. `/Users/<id>`; ids already URL-encoded. */
  path: string;
  query?: Readonly<Record<string, string | number>>;
  body?: unknown;
  /** What the call is for, shown in logs and errors, e.g. "page 2" or "create jon@example.com". */
  label?: string;
  /** Non-2xx statuses the caller handles itself (404 on a lookup, 409 on a create): returned, not thrown, not logged as failures. */
  accept?: readonly number[];
}

export interface ScimResponse {
  status: number;
  /** Parsed JSON; undefined for an empty body (204). */
  body: unknown;
  headers: HeaderSource;
  /**
   * Earlier attempts of this request whose fate is unknown (timeout, reset, 5xx): the server may
   * have acted on one of them. A 409 after such an attempt is most likely this request's own echo.
   */
  ambiguousAttempts: number;
}

export interface TransportStats {
  /** Requests sent, retries included. */
  requests: number;
  /** Answers by status, plus `timeout` and `network` for requests that got none. */
  byStatus: Record<string, number>;
  /** 429 answers. */
  throttled: number;
  retries: number;
  retryWaitMs: number;
  paceWaitMs: number;
}

/** Methods safe to send again after an unreadable answer (the write may have happened). */
const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['GET', 'PUT', 'DELETE']);
/** Same-origin redirects one GET may follow; more is a loop or a misconfiguration. */
const MAX_REDIRECTS = 5;
/** The one bucket: Docker states one per-minute limit per token (docker-scim.md §4). */
const BUCKET = 'docker';

type Exchange =
  | { kind: 'response'; status: number; headers: Headers; text: string }
  | { kind: 'timeout'; error: unknown }
  | { kind: 'network'; error: unknown; transient: boolean }
  /** A 3xx this client will not follow; `to` is the Location's origin only (its path and query may name people). */
  | { kind: 'redirect'; status: number; to: string | null; hops: number };

/** One attempt as the retry loop sees it, with what this file needs to finish: the parsed body when it was a success. */
type Sent = { exchange: Exchange; body: { ok: true; value: unknown } | { ok: false; why: string } | null };

export class ScimTransport {
  readonly stats: TransportStats = { requests: 0, byStatus: {}, throttled: 0, retries: 0, retryWaitMs: 0, paceWaitMs: 0 };
  private readonly opts: TransportOptions;
  private readonly base: string;
  private readonly origin: string;
  private readonly log: Logger;
  /** One per client, shared by every call: `concurrency` bounds paging, lookups and writes together. */
  private readonly slots: LimitFunction;
  private readonly pacer = new Pacer({
    // One request's worth of room for another consumer of the same token and for the window's edge.
    reserve: () => 1,
    afterReset: 'refill',
    assumedWindowMs: 60_000,
    learnFirst: false,
    // Past the advertised reset by a little absorbs timer and clock granularity.
    resetMarginMs: 50,
    // A window plus slack, whatever a skewed clock makes the reset look like.
    maxWaitMs: 65_000,
  });

  constructor(opts: TransportOptions) {
    this.opts = opts;
    this.base = opts.baseUrl.replace(/\/+$/, '');
    // The origin alone (no path, no userinfo) is what errors name: enough to find the host.
    this.origin = new URL(this.base).origin;
    this.log = opts.logger;
    this.slots = pLimit(Math.max(1, Math.floor(opts.concurrency)));
  }

  async request(req: ScimRequest): Promise<ScimResponse> {
    const operation = `${req.method} ${req.path}${req.label ? ` (${req.label})` : ''}`;
    const route = `${req.method} ${req.path.replace(/^\/(Users|Groups)\/[^/?]+/, '/$1/{id}')}`;
    const url = this.url(req);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const end = await withRetries<Sent>({
      policy: DOCKER,
      settings: { maxRetries: this.opts.maxRetries, backoff: this.opts.backoff },
      idempotent: IDEMPOTENT.has(req.method),
      signal: this.opts.signal,
      send: async (attempt) => {
        const t0 = Date.now();
        const exchange = await this.follow(req.method, url, payload);
        if (exchange === null) return null;
        const status = exchange.kind === 'response' || exchange.kind === 'redirect' ? exchange.status : exchange.kind;
        this.log.debug({ route, path: req.path, status, ms: Date.now() - t0, attempt: attempt + 1 }, `docker: ${operation}`);
        return outcomeOf(exchange, req.accept);
      },
      onRetry: ({ value, attempts, waitMs, serverAsked, throttled }) => {
        // A 429 is about the token, not this request: hold every request until the wait is over.
        if (throttled) this.pacer.pause(BUCKET, Date.now() + waitMs);
        this.stats.retries++;
        this.stats.retryWaitMs += waitMs;
        this.opts.observer?.retry('docker');
        const what = describe(value.exchange);
        this.log.warn(
          { route, path: req.path, label: req.label, status: what, waitMs, attempt: attempts, maxRetries: this.opts.maxRetries, serverAsked },
          `docker: ${operation} got ${what}; retrying in ${waitMs} ms (retry ${attempts} of ${this.opts.maxRetries})`,
        );
      },
      onRateLimitWait: (ms) => this.opts.observer?.waited('docker', ms),
    });
    return this.finish(req, end, { operation, route });
  }

  /** The loop's end as this client's answer or error, logged once. */
  private finish(req: ScimRequest, end: LoopEnd<Sent>, names: { operation: string; route: string }): ScimResponse {
    const { operation, route } = names;
    if (end.kind === 'aborted') {
      const last = end.last === null ? null : describe(end.last.value.exchange);
      const error = abortedError(operation, req.method, last, end.ambiguousAttempts > 0);
      this.log.warn({ route, path: req.path, label: req.label, code: error.code }, error.message);
      throw error;
    }
    const { exchange, body } = end.last.value;
    const attempts = end.attempts;
    let error: DockerApiError;
    if (exchange.kind === 'redirect') {
      // Never retried: asking again gets the same redirect.
      error = redirectError({ operation, method: req.method, status: exchange.status, to: exchange.to, origin: this.origin, hops: exchange.hops, ambiguous: end.ambiguousAttempts > 0 });
      this.log.error({ route, path: req.path, label: req.label, status: exchange.status, location: exchange.to, attempts, code: error.code }, error.message);
      throw error;
    }
    if (exchange.kind === 'response') {
      const { status, headers, text } = exchange;
      if (body?.ok) return { status, body: body.value, headers, ambiguousAttempts: end.ambiguousAttempts };
      if (body && !body.ok) error = badResponseError(operation, status, body.why);
      else error = responseError({ operation, status, attempts, ...this.errorBody(text) });
    } else {
      error = networkError(operation, this.origin, attempts, exchange.error, exchange.kind === 'timeout' ? this.opts.timeoutMs : null);
    }
    const what = describe(exchange);
    if (end.why === 'too-long') {
      const waitMs = end.serverWaitMs ?? 0;
      this.log.error({ route, path: req.path, status: what, waitMs }, `docker: ${operation}: Docker asked to wait ${Math.round(waitMs / 1000)} s, longer than this client waits`);
    } else {
      this.log.error({ route, path: req.path, label: req.label, status: what, attempts, code: error.code }, error.message);
    }
    throw error;
  }

  private url(req: ScimRequest): string {
    const q = req.query ? Object.entries(req.query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`) : [];
    return `${this.base}${req.path}${q.length > 0 ? `?${q.join('&')}` : ''}`;
  }

  /**
   * One attempt, with the redirects a GET may follow; null when shutdown stopped it before it was
   * sent. A write is never followed, to any origin: its body would go where nobody configured (and
   * a same-origin Location could still be a trap, e.g. a POST turned into a GET by a 302). A GET is
   * followed only to the configured origin (scheme, host and port), where the token goes anyway:
   * every hop is sent by `send`, token included, so another origin would receive it, and its answer
   * would be read as Docker's.
   */
  private async follow(method: HttpMethod, url: string, payload: string | undefined): Promise<Exchange | null> {
    let current = url;
    for (let hops = 1; ; hops++) {
      const exchange = await this.send(method, current, payload);
      if (exchange === null || exchange.kind !== 'response' || exchange.status < 300 || exchange.status > 399) return exchange;
      const next = resolveLocation(exchange.headers.get('location'), current);
      const to = next === null ? null : new URL(next).origin;
      if (method !== 'GET' || next === null || to !== this.origin || hops > MAX_REDIRECTS) return { kind: 'redirect', status: exchange.status, to, hops };
      this.log.debug({ status: exchange.status, hops }, 'docker: following a redirect within the SCIM origin');
      current = next;
    }
  }

  /** One request: a slot, the pacing gate, then the request and its whole body under one timeout. */
  private send(method: HttpMethod, url: string, payload: string | undefined): Promise<Exchange | null> {
    return this.slots(async () => {
      let heldSince: number | null = null;
      const ticket = await this.pacer.take(BUCKET, 1, this.opts.signal, (waitMs) => {
        heldSince ??= Date.now();
        this.stats.paceWaitMs += waitMs;
        this.log.info({ waitMs }, `docker: pacing: waiting ${waitMs} ms for the rate-limit window`);
      });
      // Held for the window or a 429's pause: rate-limit wait, for as long as it really took.
      if (heldSince !== null) this.opts.observer?.waited('docker', Math.max(0, Date.now() - heldSince));
      if (ticket === null) return null;
      this.stats.requests++;
      const timeout = deadline(this.opts.timeoutMs);
      const signal = timeout.signal;
      try {
        const res = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            accept: 'application/scim+json, application/json;q=0.9',
            'user-agent': this.opts.userAgent,
            ...(payload !== undefined ? { 'content-type': 'application/scim+json' } : {}),
          },
          ...(payload !== undefined ? { body: payload } : {}),
          redirect: 'manual',
          signal,
        });
        const text = await res.text();
        const now = Date.now();
        this.pacer.settle(ticket, dockerQuota(res.headers, now), res.status === 429 ? throttlePauseMs(DOCKER, res.headers, now) : null);
        this.count(method, res.status);
        if (res.status === 429) this.stats.throttled++;
        return { kind: 'response', status: res.status, headers: res.headers, text };
      } catch (err) {
        this.pacer.settle(ticket, null);
        if (timeout.expired) {
          this.count(method, 'timeout');
          return { kind: 'timeout', error: err };
        }
        this.count(method, 'network');
        return { kind: 'network', error: err, transient: isTransientNetworkError(err) };
      } finally {
        timeout.clear();
      }
    });
  }

  private count(method: HttpMethod, status: number | 'timeout' | 'network'): void {
    const key = String(status);
    this.stats.byStatus[key] = (this.stats.byStatus[key] ?? 0) + 1;
    this.opts.observer?.request('docker', method, status);
  }

  /** Docker's SCIM error `detail` and `scimType`, or a short excerpt of a non-SCIM body (a proxy page). */
  private errorBody(text: string): { detail?: string; scimType?: string } {
    let detail: string | undefined;
    let scimType: string | undefined;
    const parsed = parseJson(text);
    if (parsed.ok && parsed.value !== null && typeof parsed.value === 'object') {
      const b = parsed.value as Record<string, unknown>;
      const d = b.detail ?? b.message ?? b.error;
      if (typeof d === 'string' && d !== '') detail = d;
      if (typeof b.scimType === 'string' && b.scimType !== '') scimType = b.scimType;
    } else if (text.trim() !== '') {
      detail = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200) || undefined;
    }
    // Docker has no reason to echo the token, but a proxy page might quote a header back.
    if (detail !== undefined && this.opts.token.length >= 6) detail = detail.split(this.opts.token).join('[redacted]');
    return { ...(detail !== undefined ? { detail } : {}), ...(scimType !== undefined ? { scimType } : {}) };
  }
}

/** What the retry policy needs to know of an exchange; a success or an accepted status is parsed here, once. */
function outcomeOf(exchange: Exchange, accept: readonly number[] | undefined): { outcome: Outcome; value: Sent } {
  switch (exchange.kind) {
    case 'response': {
      const { status, headers, text } = exchange;
      if ((status >= 200 && status < 300) || accept?.includes(status)) {
        const body = parseJson(text);
        return { outcome: body.ok ? { kind: 'answer', status, headers } : { kind: 'unreadable', status }, value: { exchange, body } };
      }
      return { outcome: { kind: 'answer', status, headers }, value: { exchange, body: null } };
    }
    // A 3xx not followed is final: asking again gets the same redirect.
    case 'redirect':
      return { outcome: { kind: 'answer', status: exchange.status, headers: { get: () => null } }, value: { exchange, body: null } };
    case 'timeout':
      return { outcome: { kind: 'timeout' }, value: { exchange, body: null } };
    case 'network':
      return { outcome: { kind: 'network', transient: exchange.transient, neverSent: neverSent(exchange.error) }, value: { exchange, body: null } };
  }
}

/** How an attempt ended, for logs and errors: its status, or `timeout` / `network`. */
function describe(exchange: Exchange): number | string {
  return exchange.kind === 'response' || exchange.kind === 'redirect' ? exchange.status : exchange.kind;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; why: string } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, why: `the body is not JSON (starts with ${JSON.stringify(text.slice(0, 40))})` };
  }
}

/** The absolute URL a Location names (relative to the request's URL), or null when there is none to use. */
function resolveLocation(location: string | null, base: string): string | null {
  if (location === null || location.trim() === '') return null;
  try {
    return new URL(location, base).href;
  } catch {
    return null;
  }
}

/**
 * Shutdown stopped the request before it was sent (again). Nothing is half-done unless an earlier
 * attempt of a write went unanswered (timeout, reset, 5xx): Docker may have done it, so the code
 * says so, and the journal has the next run look for the result before planning.
 */
function abortedError(operation: string, method: HttpMethod, last: number | string | null, ambiguous: boolean): DockerApiError {
  const unconfirmed = ambiguous && method !== 'GET';
  const when = last === null ? 'before it was sent' : `before retrying (the last attempt got ${last})`;
  return new DockerApiError(`Docker SCIM ${operation} was stopped for shutdown ${when}`, {
    operation,
    code: unconfirmed ? 'DOCKER_ABORTED_UNCONFIRMED' : 'DOCKER_ABORTED',
    hint: unconfirmed
      ? 'An earlier attempt got no usable answer, so Docker may have done it. The next run checks Docker for it before planning; nothing needs doing by hand.'
      : 'Docker acted on no attempt of it, so it holds what it held before; the next run plans this again.',
    transient: true,
  });
}
