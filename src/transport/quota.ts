/**
 * Readings of the remaining-quota headers Docker and Okta send on every answer, for the pacer.
 * Both name a limit, what is left, and a reset in unix seconds; they differ in spelling and in
 * which clock the reset is best read by.
 */
import type { QuotaReading } from './pacer.ts';
import { oktaResetInMs } from './systems.ts';
import { resetInMs, type HeaderSource } from './wait-time.ts';

/**
 * Docker (docker-scim.md §4): `X-RateLimit-Limit`, `-Remaining`, `-Reset` (unix time; a small
 * number is a delta, as some proxies send). Read by our clock: Docker's windows are a minute, and
 * the pacer adds a margin for the rest.
 */
export function dockerQuota(headers: HeaderSource, now: number): QuotaReading | null {
  const limit = num(headers.get('x-ratelimit-limit'));
  const remaining = num(headers.get('x-ratelimit-remaining'));
  const reset = headers.get('x-ratelimit-reset');
  const inMs = resetInMs(reset, now);
  if (remaining === null || inMs === null) return null;
  // The reset value names the window: a later reset is a later window.
  return { limit: limit ?? remaining + 1, remaining, resetAt: now + inMs, window: Number(reset) };
}

/**
 * Okta (okta.md §3.2): `X-Rate-Limit-Limit`, `-Remaining`, `-Reset` (UTC epoch seconds), per
 * bucket. The reset is read as systems.ts reads a 429's (margin included, server clock when skewed).
 * On a concurrency 429 Limit and Remaining are 0 and the reset an estimate: the reading says wait.
 */
export function oktaQuota(headers: HeaderSource, now: number): QuotaReading | null {
  const limit = num(headers.get('x-rate-limit-limit'));
  const remaining = num(headers.get('x-rate-limit-remaining'));
  const inMs = oktaResetInMs(headers, now);
  if (limit === null || remaining === null || inMs === null) return null;
  return { limit, remaining, resetAt: now + inMs, window: Number(headers.get('x-rate-limit-reset')) };
}

function num(v: string | null | undefined): number | null {
  if (v == null || v.trim() === '' || v.includes(',')) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
