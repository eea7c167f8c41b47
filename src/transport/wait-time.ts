/**
 * How long to wait before asking again: what a server named (every header style the three APIs
 * use), and capped exponential backoff with full jitter when it named nothing. Pure: the clock and
 * the random source are arguments.
 */

export interface HeaderSource {
  get(name: string): string | null | undefined;
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** Unix seconds above this are timestamps; smaller numbers are deltas some proxies send instead. */
const UNIX_TIME_FLOOR_S = 1e9;

/**
 * Milliseconds the server asked us to wait: `Retry-After` (seconds, fractional allowed as in
 * Graph's own sample, or an HTTP date), Docker's older `X-Retry-After` (a unix timestamp), and the
 * rate-limit reset headers (`X-RateLimit-Reset` on Docker, `X-Rate-Limit-Reset` on Okta, unix
 * seconds). null when none is usable. A comma means the header came twice, joined, and no single
 * value can be trusted (the Okta SDK refuses those too, OKTA-112507).
 */
export function retryAfterMs(headers: HeaderSource, now: number): number | null {
  const retryAfter = headers.get('retry-after');
  if (retryAfter != null && retryAfter.trim() !== '') {
    const s = Number(retryAfter);
    if (Number.isFinite(s) && s >= 0) return Math.ceil(s * 1000);
    // An HTTP date has a weekday and a month name; a bare number that is not a valid delay (-3)
    // would otherwise parse as a year.
    const date = /[a-z]/i.test(retryAfter) ? Date.parse(retryAfter) : NaN;
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  for (const name of ['x-retry-after', 'x-ratelimit-reset', 'x-rate-limit-reset']) {
    const ms = resetInMs(headers.get(name), now);
    if (ms !== null) return ms;
  }
  return null;
}

/** A reset header's value (unix seconds, or a small delta) as milliseconds from `now`; null when unusable. */
export function resetInMs(value: string | null | undefined, now: number): number | null {
  if (value == null || value.trim() === '' || value.includes(',')) return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return null;
  const ms = n > UNIX_TIME_FLOOR_S ? n * 1000 - now : n * 1000;
  return Math.max(0, Math.ceil(ms));
}

/** Full-jitter exponential backoff (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)). */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
