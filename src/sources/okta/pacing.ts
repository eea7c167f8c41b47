import { setTimeout as delay } from 'node:timers/promises';

/**
 * Paces requests per Okta rate-limit bucket from the `X-Rate-Limit-*` headers, so a long read
 * waits for the window to reset instead of running into a 429 storm (the SDK does not pace;
 * okta.md §3.4). Buckets follow the published table (§3.1): app listings, the app itself, groups
 * (including `/groups/{id}/users`, by the "extensions count toward the base URL" rule), users, and
 * the token endpoint.
 */

export type Bucket = 'apps' | 'app' | 'groups' | 'users' | 'oauth' | 'other';

export function bucketOf(path: string): Bucket {
  if (path.startsWith('/oauth2/')) return 'oauth';
  if (/^\/api\/v1\/apps\/[^/]+\/?$/.test(path)) return 'app';
  if (path.startsWith('/api/v1/apps')) return 'apps';
  if (path.startsWith('/api/v1/groups')) return 'groups';
  if (path.startsWith('/api/v1/users')) return 'users';
  return 'other';
}

interface BucketState {
  limit: number;
  /** Requests we believe are left in the current window, after those already sent. */
  remaining: number;
  /** Local clock time (ms) when the window resets. */
  resetAt: number;
  /** False while resetAt is our guess after a window passed, true once a response has said. */
  known: boolean;
}

/**
 * Before a window is known to have reset we assume it lasts this long; the next response's headers
 * replace the guess. Okta's windows are about a minute (§3.1).
 */
const ASSUMED_WINDOW_MS = 60_000;

export class RateGate {
  private readonly buckets = new Map<Bucket, BucketState>();
  private readonly inFlight = new Map<Bucket, number>();
  /** Requests held back until the first answer in their bucket tells us its limit. */
  private readonly waiters = new Map<Bucket, Array<() => void>>();

  /**
   * How many requests of a window to leave unused: a little headroom for other clients sharing
   * the token's share (an admin's script, the Okta console) and for requests whose answers are
   * not back yet. At most 2, and none for tiny limits where 2 would be most of the window.
   */
  static reserve(limit: number): number {
    return Math.min(2, Math.floor(limit / 10));
  }

  /**
   * Waits until the bucket has room, then counts the request as sent. `onWait` is told how long
   * before each pause (for the log).
   */
  async acquire(bucket: Bucket, signal: AbortSignal | undefined, onWait: (ms: number, state: { limit: number; remaining: number }) => void): Promise<void> {
    for (;;) {
      const s = this.buckets.get(bucket);
      const now = Date.now();
      if (!s && (this.inFlight.get(bucket) ?? 0) > 0) {
        // Nothing known about this bucket yet: let one request find out before sending a burst.
        await new Promise<void>((resolve) => {
          const list = this.waiters.get(bucket) ?? [];
          list.push(resolve);
          this.waiters.set(bucket, list);
        });
        continue;
      }
      if (s && now >= s.resetAt) {
        // The window we knew has passed: assume a fresh one until a response says otherwise.
        s.remaining = s.limit;
        s.resetAt = now + ASSUMED_WINDOW_MS;
        s.known = false;
      }
      if (!s || s.remaining > RateGate.reserve(s.limit)) {
        if (s) s.remaining -= 1;
        this.inFlight.set(bucket, (this.inFlight.get(bucket) ?? 0) + 1);
        return;
      }
      const wait = s.resetAt - now;
      const target = s.resetAt;
      onWait(wait, { limit: s.limit, remaining: s.remaining });
      await delay(wait, undefined, signal ? { signal } : {});
      // Timers may fire a millisecond before Date.now() agrees; the window we waited for is over.
      if (this.buckets.get(bucket) === s && s.resetAt === target) s.resetAt = Math.min(s.resetAt, Date.now());
    }
  }

  /**
   * Records what a response said about its window and marks the request done. `resetInMs` is
   * how long until the window resets, already corrected for clock skew by the caller.
   */
  settle(bucket: Bucket, info: { limit: number; remaining: number; resetInMs: number } | null): void {
    const inFlight = Math.max(0, (this.inFlight.get(bucket) ?? 1) - 1);
    this.inFlight.set(bucket, inFlight);
    const waiting = this.waiters.get(bucket);
    this.waiters.delete(bucket);
    try {
      if (info) this.record(bucket, info, inFlight);
    } finally {
      for (const wake of waiting ?? []) wake();
    }
  }

  private record(bucket: Bucket, info: { limit: number; remaining: number; resetInMs: number }, inFlight: number): void {
    const resetAt = Date.now() + info.resetInMs;
    const s = this.buckets.get(bucket);
    // An answer from an older window (overtaken by a newer one) says nothing about the current one.
    if (s?.known && resetAt < s.resetAt - 1000) return;
    // Requests still in flight will each use one more of what the server says is left.
    this.buckets.set(bucket, { limit: info.limit, remaining: info.remaining - inFlight, resetAt, known: true });
  }
}
