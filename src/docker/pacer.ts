/**
 * Pacing on Docker's rate-limit headers (reference §4: `X-RateLimit-Limit`, `-Remaining`, and
 * `-Reset` as a unix time on every response). Waiting for the window to reset when the budget is
 * spent costs the same time as a 429 would, without the 429s, and keeps the client polite.
 *
 * The budget is an estimate of the requests this client may still start in the current window.
 * Each answer refreshes it as `remaining − (our other requests still in flight)`, since those may
 * not be counted yet; each start takes one off. Within a window the lower estimate wins, because
 * answers can arrive out of order and a stale one reports more budget than is left.
 */

import type { HeaderSource } from '../util/retry.ts';

/**
 * Held back from every window: one request's worth of room for another consumer of the same token
 * (a second instance, an admin's script) and for rounding at the window's edge.
 */
const RESERVE = 1;
/** Waiting past the advertised reset by a little absorbs timer and clock granularity. */
const RESET_MARGIN_MS = 50;

export class RateBudget {
  private available: number | null = null;
  private resetAtMs = 0;
  private pausedUntilMs = 0;

  /** Milliseconds to wait before the next request may start; 0 when it may go now. */
  delayMs(now: number): number {
    if (now < this.pausedUntilMs) return this.pausedUntilMs - now;
    if (this.available === null) return 0;
    // The window is over: the budget is unknown until the next answer says otherwise.
    if (now >= this.resetAtMs + RESET_MARGIN_MS) {
      this.available = null;
      return 0;
    }
    if (this.available <= RESERVE) return this.resetAtMs + RESET_MARGIN_MS - now;
    return 0;
  }

  /** A request is being sent now. */
  started(): void {
    if (this.available !== null) this.available--;
  }

  /** Reads the rate-limit headers of an answer; `othersInFlight` excludes the request that got it. */
  observe(headers: HeaderSource, othersInFlight: number, now: number): void {
    const remaining = intHeader(headers, 'x-ratelimit-remaining');
    const reset = intHeader(headers, 'x-ratelimit-reset');
    if (remaining === null || reset === null) return;
    // A unix timestamp; a small number is a delta, as some proxies send (same rule as util/retry).
    const resetMs = reset > 1e9 ? reset * 1000 : now + reset * 1000;
    const estimate = remaining - othersInFlight;
    if (this.available === null || resetMs > this.resetAtMs) {
      // Coarse reset values (whole seconds) can repeat across a window edge only if the window is
      // under a second, which Docker's per-minute limit never is.
      this.available = estimate;
      this.resetAtMs = resetMs;
    } else if (resetMs === this.resetAtMs) {
      this.available = Math.min(this.available, estimate);
    }
    // An answer from an older window (resetMs < resetAtMs) says nothing about this one.
  }

  /** Every request waits until `untilMs` (a 429 told one of them to). */
  pause(untilMs: number): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, untilMs);
  }
}

function intHeader(headers: HeaderSource, name: string): number | null {
  const v = headers.get(name);
  if (v == null || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
