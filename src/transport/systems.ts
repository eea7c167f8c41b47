/**
 * The three APIs' retry rules, side by side, as data for policy.ts. Where they differ, the reason
 * is the API's, not the client's.
 */
import type { SystemPolicy } from './policy.ts';
import { resetInMs, retryAfterMs, type HeaderSource } from './wait-time.ts';

/** 429, and the 5xx a gateway or an overloaded service answers; 501 and 505 will not change. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

const honoursServerWaits = (status: number | null, serverAsked: boolean): boolean => status === 429 || serverAsked;

/**
 * Docker (docker-scim.md §4): a 429 names its wait in `Retry-After` (seconds) or `X-Retry-After`
 * (unix time), and every answer carries `X-RateLimit-Reset`. A 5xx is waited by an explicit retry
 * header only: the reset header on every answer says nothing about the failure. A wait past five
 * minutes fails the run and says so rather than hang a cron job.
 */
export const DOCKER: SystemPolicy = {
  system: 'docker',
  retries: (status) => TRANSIENT_STATUSES.has(status),
  serverWaitMs: (status, headers, now) => retryAfterMs(status === 429 ? headers : onlyRetryHeaders(headers), now),
  maxServerWaitMs: 5 * 60_000,
  beyondCap: 'give-up',
  rateLimitWait: honoursServerWaits,
};

/**
 * Okta (okta.md §3): a 429 lasts until `X-Rate-Limit-Reset`, read against the answer's own `Date`
 * when the clocks disagree (okta-quota.ts). Okta names no wait on a 5xx, and any 5xx is retried,
 * as the SDK does. Windows are a minute, so a reset further off than two means a broken header:
 * the wait is cut to that and the retry budget decides.
 */
export const OKTA: SystemPolicy = {
  system: 'okta',
  retries: (status) => status === 429 || status >= 500,
  serverWaitMs: (status, headers, now) => (status === 429 ? oktaResetInMs(headers, now) : null),
  maxServerWaitMs: 120_000,
  beyondCap: 'clamp',
  // Only a 429's wait is rate limiting: Okta's 5xx carry no wait of the server's.
  rateLimitWait: (status) => status === 429,
};

/**
 * Graph (entra-graph.md §3, §5.3): 429, and 503/504 "may" carry `Retry-After` (seconds, fractions
 * allowed, or a date); 500 and 502 are as transient though the SDK's own handler skips them. The
 * SDK caps Retry-After at 180 s; so does this.
 */
export const GRAPH: SystemPolicy = {
  system: 'entra',
  retries: (status) => TRANSIENT_STATUSES.has(status),
  serverWaitMs: (_status, headers, now) => retryAfterMs(headers, now),
  maxServerWaitMs: 180_000,
  beyondCap: 'clamp',
  rateLimitWait: honoursServerWaits,
};

/**
 * Added to every wait for an Okta window reset: `X-Rate-Limit-Reset` and `Date` are whole seconds
 * and Okta's servers do not share one clock; the SDK adds a whole second for the same reason (§3.4).
 */
export const OKTA_RESET_MARGIN_MS = 500;
/** Clocks that disagree by less than `Date`'s own resolution (plus latency) are taken to agree. */
const SKEW_TOLERANCE_MS = 1_500;

/**
 * How long until an Okta window resets, margin included: by our clock when the answer's `Date`
 * agrees with it (Date is truncated to the second, so using it would add up to a second to every
 * wait), by the server's clock when they disagree (a skewed host would otherwise wait for hours or
 * not at all).
 */
export function oktaResetInMs(headers: HeaderSource, now: number): number | null {
  const serverNow = Date.parse(headers.get('date') ?? '');
  const clock = Number.isFinite(serverNow) && Math.abs(serverNow - now) > SKEW_TOLERANCE_MS ? serverNow : now;
  const ms = resetInMs(headers.get('x-rate-limit-reset'), clock);
  return ms === null ? null : ms + OKTA_RESET_MARGIN_MS;
}

function onlyRetryHeaders(headers: HeaderSource): HeaderSource {
  return { get: (name) => (name === 'retry-after' || name === 'x-retry-after' ? headers.get(name) : null) };
}
