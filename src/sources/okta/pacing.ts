import { Pacer } from '../../transport/pacer.ts';

/**
 * Okta's side of the shared pacer (transport/pacer.ts): its rate-limit buckets and how much of each
 * window to leave unused. Okta paces per bucket from `X-Rate-Limit-*` (okta.md §3.2; the SDK does
 * not pace, §3.4). Buckets follow the published table (§3.1): app listings (Group Push mappings
 * included), the app itself, groups (the listing and search, and `/groups/{id}/users`, by the
 * "extensions count toward the base URL" rule), one group by id (a bucket of its own), users, and
 * the token endpoint.
 */

export type Bucket = 'apps' | 'app' | 'groups' | 'group' | 'users' | 'oauth' | 'other';

export function bucketOf(path: string): Bucket {
  if (path.startsWith('/oauth2/')) return 'oauth';
  if (/^\/api\/v1\/apps\/[^/]+\/?$/.test(path)) return 'app';
  if (path.startsWith('/api/v1/apps')) return 'apps';
  if (/^\/api\/v1\/groups\/[^/]+\/?$/.test(path)) return 'group';
  if (path.startsWith('/api/v1/groups')) return 'groups';
  if (path.startsWith('/api/v1/users')) return 'users';
  return 'other';
}

/**
 * How many requests of a window to leave unused: a little headroom for other clients sharing the
 * token's share (an admin's script, the Okta console) and for requests whose answers are not back
 * yet. At most 2, and none for tiny limits where 2 would be most of the window.
 */
export function oktaReserve(limit: number): number {
  return Math.min(2, Math.floor(limit / 10));
}

export function oktaPacer(): Pacer {
  return new Pacer({
    reserve: oktaReserve,
    // Okta's windows are about a minute (§3.1): once one has passed, assume a fresh one until an
    // answer says otherwise.
    afterReset: 'refill',
    assumedWindowMs: 60_000,
    // Nothing known about a bucket yet: let one request find out before sending a burst into a
    // window of 50 (the app buckets' share for one token).
    learnFirst: true,
    // The reading already carries Okta's margin (transport/systems.ts OKTA_RESET_MARGIN_MS).
    resetMarginMs: 0,
    // Windows are a minute; a reset further off than two is a broken header, looked at again then.
    maxWaitMs: 120_000,
  });
}
