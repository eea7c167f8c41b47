/**
 * Retry timing shared by every HTTP client: how long a server asked us to wait, and capped
 * exponential backoff with full jitter when it did not say.
 */

export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/**
 * Milliseconds the server asked us to wait, from any header style the three APIs use:
 * `Retry-After` (seconds, fractional allowed, or an HTTP date), Docker's older `X-Retry-After`
 * (a unix timestamp), and the rate-limit reset headers (`X-RateLimit-Reset` on Docker,
 * `X-Rate-Limit-Reset` on Okta, both unix seconds). null when none is usable.
 */
export function retryAfterMs(headers: HeaderSource, now: number = Date.now()): number | null {
  const retryAfter = headers.get('retry-after');
  if (retryAfter != null && retryAfter.trim() !== '') {
    const s = Number(retryAfter);
    if (Number.isFinite(s) && s >= 0) return Math.ceil(s * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  for (const name of ['x-retry-after', 'x-ratelimit-reset', 'x-rate-limit-reset']) {
    const v = headers.get(name);
    if (v == null || v.trim() === '' || v.includes(',')) continue;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) continue;
    // A unix timestamp in seconds; a small number is a delta some servers send instead.
    const ms = n > 1e9 ? n * 1000 - now : n * 1000;
    return Math.max(0, Math.ceil(ms));
  }
  return null;
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** Full-jitter exponential backoff (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * Whether a retry's wait counts as rate-limit wait (TransportObserver.waited): a 429's, whatever
 * set its length, or any wait the server named itself (`Retry-After` on a 503). Backoff the client
 * chose after a 5xx, timeout or reset is not the server limiting the rate.
 */
export function isRateLimitWait(status: number | null, serverAsked: boolean): boolean {
  return status === 429 || serverAsked;
}

/** An error and its `cause`s, outermost first (undici wraps the socket error in `cause`). */
export function causeChain(err: unknown): object[] {
  const out: object[] = [];
  let e: unknown = err;
  while (e && typeof e === 'object' && !out.includes(e)) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** True for errors worth retrying at the transport level: resets, refused, timeouts, DNS blips. */
export function isTransientNetworkError(err: unknown): boolean {
  return causeChain(err).some((e) => {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    if (typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_|ERR_STREAM_PREMATURE_CLOSE|ECONNABORTED)/.test(code)) return true;
    if (name === 'TimeoutError' || (name === 'AbortError' && (e as { message?: string }).message?.includes('timeout'))) return true;
    return (e as { type?: unknown }).type === 'request-timeout';
  });
}
