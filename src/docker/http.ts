/**
 * The transport under the Docker SCIM client: one place that sends requests, bounds how many are
 * in flight, paces on Docker's rate-limit headers, retries what is worth retrying, and turns every
 * failure into a DockerApiError. Node's global fetch (undici) keeps connections alive by default.
 *
 * Retried: 429 (after the server's Retry-After / X-Retry-After / X-RateLimit-Reset), 500, 502,
 * 503, 504, timeouts and connection resets, with capped exponential backoff and full jitter.
 * Everything else is answered at once: a 4xx will not change by asking again.
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
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../logging/logger.ts';
import type { TransportObserver } from '../model/telemetry.ts';
import { backoffMs, causeChain, isRateLimitWait, isTransientNetworkError, retryAfterMs, type BackoffPolicy, type HeaderSource } from '../util/retry.ts';
import { badResponseError, networkError, redirectError, responseError, DockerApiError } from './errors.ts';
import { RateBudget } from './pacer.ts';
import { Semaphore } from './semaphore.ts';

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

/** Beyond this, a server-requested wait is not honoured: the run fails and says so, rather than hang. */
const MAX_SERVER_WAIT_MS = 5 * 60_000;
/** A pacing wait never exceeds a window plus slack, whatever a skewed clock makes the reset look like. */
const MAX_PACE_WAIT_MS = 65_000;
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
/** Methods safe to send again after an unreadable answer (the write may have happened). */
const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['GET', 'PUT', 'DELETE']);
/** Same-origin redirects one GET may follow; more is a loop or a misconfiguration. */
const MAX_REDIRECTS = 5;

type Outcome =
  | { kind: 'response'; status: number; headers: Headers; text: string }
  | { kind: 'timeout'; error: unknown }
  | { kind: 'network'; error: unknown; transient: boolean }
  /** A 3xx this client will not follow; `to` is the Location's origin only (its path and query may name people). */
  | { kind: 'redirect'; status: number; to: string | null; hops: number }
  /** Shutdown came while this attempt waited for the pacing gate: it was not sent. */
  | { kind: 'aborted' };

type Failure = { error: DockerApiError; retry: boolean; serverWaitMs: number | null; status: number | null };

export class ScimTransport {
  readonly stats: TransportStats = { requests: 0, byStatus: {}, throttled: 0, retries: 0, retryWaitMs: 0, paceWaitMs: 0 };
  private readonly opts: TransportOptions;
  private readonly base: string;
  private readonly origin: string;
  private readonly log: Logger;
  private readonly slots: Semaphore;
  private readonly budget = new RateBudget();
  private sending = 0;

  constructor(opts: TransportOptions) {
    this.opts = opts;
    this.base = opts.baseUrl.replace(/\/+$/, '');
    // The origin alone (no path, no userinfo) is what errors name: enough to find the host.
    this.origin = new URL(this.base).origin;
    this.log = opts.logger;
    this.slots = new Semaphore(opts.concurrency);
  }

  async request(req: ScimRequest): Promise<ScimResponse> {
    const operation = `${req.method} ${req.path}${req.label ? ` (${req.label})` : ''}`;
    const route = `${req.method} ${req.path.replace(/^\/(Users|Groups)\/[^/?]+/, '/$1/{id}')}`;
    const url = this.url(req);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    let ambiguousAttempts = 0;
    // What the last attempt got, for the error when shutdown stops the retries.
    let last: number | string | null = null;
    const stopped = (): DockerApiError => {
      const error = abortedError(operation, req.method, last, ambiguousAttempts > 0);
      this.log.warn({ route, path: req.path, label: req.label, code: error.code }, error.message);
      return error;
    };
    for (let attempt = 0; ; attempt++) {
      const t0 = Date.now();
      const outcome = await this.follow(req.method, url, payload);
      if (outcome.kind === 'aborted') throw stopped();
      const attempts = attempt + 1;
      this.log.debug({ route, path: req.path, status: outcome.kind === 'response' || outcome.kind === 'redirect' ? outcome.status : outcome.kind, ms: Date.now() - t0, attempt: attempts }, `docker: ${operation}`);
      if (outcome.kind === 'redirect') {
        // Never retried: asking again gets the same redirect.
        const error = redirectError({ operation, method: req.method, status: outcome.status, to: outcome.to, origin: this.origin, hops: outcome.hops, ambiguous: ambiguousAttempts > 0 });
        this.log.error({ route, path: req.path, label: req.label, status: outcome.status, location: outcome.to, attempts, code: error.code }, error.message);
        throw error;
      }
      let failure: Failure;
      if (outcome.kind === 'response') {
        const { status, headers, text } = outcome;
        if ((status >= 200 && status < 300) || req.accept?.includes(status)) {
          const parsed = parseJson(text);
          if (parsed.ok) return { status, body: parsed.value, headers, ambiguousAttempts };
          failure = { error: badResponseError(operation, status, parsed.why), retry: IDEMPOTENT.has(req.method), serverWaitMs: null, status };
        } else {
          const { detail, scimType } = this.errorBody(text);
          failure = {
            error: responseError({ operation, status, attempts, ...(detail !== undefined ? { detail } : {}), ...(scimType !== undefined ? { scimType } : {}) }),
            retry: RETRY_STATUSES.has(status),
            // A 429 may point at any of Docker's headers; a 5xx only at an explicit Retry-After,
            // not at X-RateLimit-Reset, which every answer carries and which says nothing about the failure.
            serverWaitMs: status === 429 ? retryAfterMs(headers) : retryAfterMs(onlyRetryHeaders(headers)),
            status,
          };
        }
      } else if (outcome.kind === 'timeout') {
        failure = { error: networkError(operation, this.origin, attempts, outcome.error, this.opts.timeoutMs), retry: true, serverWaitMs: null, status: null };
      } else {
        failure = { error: networkError(operation, this.origin, attempts, outcome.error, null), retry: outcome.transient, serverWaitMs: null, status: null };
      }

      const what = failure.status !== null ? failure.status : outcome.kind;
      if (!failure.retry || attempt >= this.opts.maxRetries) {
        this.log.error({ route, path: req.path, label: req.label, status: what, attempts, code: failure.error.code }, failure.error.message);
        throw failure.error;
      }
      if (failure.serverWaitMs !== null && failure.serverWaitMs > MAX_SERVER_WAIT_MS) {
        this.log.error({ route, path: req.path, status: what, waitMs: failure.serverWaitMs }, `docker: ${operation}: Docker asked to wait ${Math.round(failure.serverWaitMs / 1000)} s, longer than this client waits`);
        throw failure.error;
      }
      const waitMs = failure.serverWaitMs ?? backoffMs(attempt, this.opts.backoff);
      // A 429 is about the token, not this request: hold every request until the wait is over.
      if (failure.status === 429) this.budget.pause(Date.now() + waitMs);
      // A 429 is refused before any work, and a refused connection never reached Docker; anything
      // else retried may have been acted on.
      else if (!(outcome.kind === 'network' && neverSent(outcome.error))) ambiguousAttempts++;
      last = what;
      if (this.opts.signal?.aborted) throw stopped();
      this.stats.retries++;
      this.stats.retryWaitMs += waitMs;
      this.opts.observer?.retry('docker');
      this.log.warn(
        { route, path: req.path, label: req.label, status: what, waitMs, attempt: attempts, maxRetries: this.opts.maxRetries, serverAsked: failure.serverWaitMs !== null },
        `docker: ${operation} got ${what}; retrying in ${waitMs} ms (retry ${attempts} of ${this.opts.maxRetries})`,
      );
      if (!(await this.wait(waitMs, isRateLimitWait(failure.status, failure.serverWaitMs !== null)))) throw stopped();
    }
  }

  /**
   * Waits `ms`, or less if shutdown comes first; false then. A rate-limit wait is reported to the
   * observer for the time it really took.
   */
  private async wait(ms: number, rateLimit: boolean): Promise<boolean> {
    const signal = this.opts.signal;
    const t0 = Date.now();
    try {
      await delay(ms, undefined, signal ? { signal } : {});
      return true;
    } catch (err) {
      if (signal?.aborted) return false;
      throw err;
    } finally {
      if (rateLimit) this.opts.observer?.waited('docker', Math.max(0, Date.now() - t0));
    }
  }

  private url(req: ScimRequest): string {
    const q = req.query ? Object.entries(req.query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`) : [];
    return `${this.base}${req.path}${q.length > 0 ? `?${q.join('&')}` : ''}`;
  }

  /**
   * One attempt, with the redirects a GET may follow. A write is never followed, to any origin: its
   * body would go where nobody configured (and a same-origin Location could still be a trap, e.g.
   * a POST turned into a GET by a 302). A GET is followed only to the configured origin (scheme,
   * host and port), where the token goes anyway: every hop is sent by `send`, token included, so
   * another origin would receive it, and its answer would be read as Docker's.
   */
  private async follow(method: HttpMethod, url: string, payload: string | undefined): Promise<Outcome> {
    let current = url;
    for (let hops = 1; ; hops++) {
      const outcome = await this.send(method, current, payload);
      if (outcome.kind !== 'response' || outcome.status < 300 || outcome.status > 399) return outcome;
      const next = resolveLocation(outcome.headers.get('location'), current);
      const to = next === null ? null : new URL(next).origin;
      if (method !== 'GET' || next === null || to !== this.origin || hops > MAX_REDIRECTS) return { kind: 'redirect', status: outcome.status, to, hops };
      this.log.debug({ status: outcome.status, hops }, 'docker: following a redirect within the SCIM origin');
      current = next;
    }
  }

  /** One request: a slot, the pacing gate, then the request and its whole body under one timeout. */
  private async send(method: HttpMethod, url: string, payload: string | undefined): Promise<Outcome> {
    const release = await this.slots.acquire();
    try {
      if (!(await this.gate())) return { kind: 'aborted' };
      this.budget.started();
      this.stats.requests++;
      this.sending++;
      const signal = AbortSignal.timeout(this.opts.timeoutMs);
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
        this.budget.observe(res.headers, this.sending - 1, Date.now());
        this.count(method, res.status);
        if (res.status === 429) this.stats.throttled++;
        return { kind: 'response', status: res.status, headers: res.headers, text };
      } catch (err) {
        if (signal.aborted && (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError') {
          this.count(method, 'timeout');
          return { kind: 'timeout', error: err };
        }
        this.count(method, 'network');
        return { kind: 'network', error: err, transient: isTransientNetworkError(err) };
      } finally {
        this.sending--;
      }
    } finally {
      release();
    }
  }

  /** Waits while a 429 pause is on or the window's budget is spent; false when shutdown ended the wait. */
  private async gate(): Promise<boolean> {
    for (;;) {
      const wait = Math.min(this.budget.delayMs(Date.now()), MAX_PACE_WAIT_MS);
      if (wait <= 0) return true;
      // Checked only when there is a wait: a request that may go now goes, shutdown or not.
      if (this.opts.signal?.aborted) return false;
      this.stats.paceWaitMs += wait;
      this.log.info({ waitMs: wait }, `docker: pacing: waiting ${wait} ms for the rate-limit window`);
      if (!(await this.wait(wait, true))) return false;
    }
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

/** Failures that prove the request never reached the server. */
function neverSent(err: unknown): boolean {
  return causeChain(err).some((e) => {
    const code = (e as { code?: unknown }).code;
    return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  });
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

function onlyRetryHeaders(headers: HeaderSource): HeaderSource {
  return { get: (name) => (name === 'retry-after' || name === 'x-retry-after' ? headers.get(name) : null) };
}
