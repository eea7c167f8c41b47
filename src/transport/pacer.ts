/**
 * One pacer for every API: requests wait for room in their quota window instead of running into a
 * 429 storm. Waiting for a window to reset costs the same time as a 429 would, without the 429s.
 *
 * A bucket's state is an estimate of the units this client may still spend in the current window.
 * Each answer's reading (quota.ts for Docker's and Okta's headers, graph-quota.ts for Graph's)
 * refreshes it as `remaining − (units of our other requests still in flight)`, since those may not
 * be counted yet; each start takes its cost off. Readings carry a window number: a later window
 * replaces the estimate, the same window keeps the lower figure (answers arrive out of order, and a
 * stale one reports more than is left), an earlier window is ignored.
 */
import { sleep as realSleep, type Sleep } from './sleep.ts';

export interface QuotaReading {
  /** Units the window allows (requests for Docker and Okta, resource units for Graph); Infinity: nothing limits. */
  limit: number;
  /** Units left in the window once the answered request was counted. */
  remaining: number;
  /**
   * Our clock (ms) when the window resets, any margin included. Infinity when no reset is known
   * (Graph says how full, not when): a request that finds no room waits for the next answer.
   */
  resetAt: number;
  /** Orders windows; only compared with other readings of the same bucket. */
  window: number;
}

export interface PacerOptions {
  /** Units of a window left unused: room for another consumer of the same token, and for rounding. */
  reserve(limit: number): number;
  /**
   * When a window has passed with no answer from the next one: `refill` assumes a full window of
   * `assumedWindowMs` (Docker and Okta state their windows); `probe` lets one request find out
   * while the others wait for its answer (Graph's window is only inferred).
   */
  afterReset: 'refill' | 'probe';
  assumedWindowMs: number;
  /**
   * Whether the first request of a bucket nothing is known about goes alone, so a burst does not
   * spend a small window before its size is known (Okta's app buckets allow 50 a minute).
   */
  learnFirst: boolean;
  /** Added to every reset: timers and clocks are coarser than the headers suggest. */
  resetMarginMs: number;
  /** No single wait is longer, whatever a skewed clock makes a reset look like; the pacer then looks again. */
  maxWaitMs: number;
  now?: () => number;
  sleep?: Sleep;
}

/** Timers may fire a millisecond or two before Date.now() agrees they are due. */
const CLOCK_SLACK_MS = 2;

export type WaitReason = 'window' | 'paused' | 'learning';

/** Told before each wait, for the log: how long, and what the bucket looked like. */
export type OnPaceWait = (ms: number, why: { reason: WaitReason; limit: number | null; remaining: number | null }) => void;

export interface Ticket {
  readonly bucket: string;
  readonly cost: number;
  /** Our clock when the request was let go: readings of answers are ordered by it. */
  readonly sentAt: number;
  readonly probe: boolean;
}

interface Window {
  limit: number;
  remaining: number;
  resetAt: number;
  window: number;
}

class Bucket {
  state: Window | null = null;
  inFlight = 0;
  inFlightCost = 0;
  pausedUntil = 0;
  probing = false;
  /** Requests held until an answer teaches the bucket something (learnFirst, probe). */
  waiters: Array<() => void> = [];
}

export class Pacer {
  private readonly buckets = new Map<string, Bucket>();
  private readonly opts: PacerOptions;
  private readonly now: () => number;
  private readonly sleep: Sleep;

  constructor(opts: PacerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
  }

  /**
   * Waits until `bucket` has room for `cost`, then counts the request as sent. null when shutdown
   * ended a wait; the signal is looked at only when there is a wait: a request that may go now goes.
   */
  async take(bucket: string, cost: number, signal?: AbortSignal, onWait?: OnPaceWait): Promise<Ticket | null> {
    const b = this.bucket(bucket);
    for (;;) {
      const now = this.now();
      const plan = this.plan(b, cost, now);
      if (plan.go) {
        if (b.state) b.state.remaining -= cost;
        b.inFlight += 1;
        b.inFlightCost += cost;
        if (plan.probe) b.probing = true;
        // A probe is let go whatever is believed left; what it costs is counted all the same.
        return { bucket, cost, sentAt: now, probe: plan.probe };
      }
      if (signal?.aborted) return null;
      const why = { reason: plan.reason, limit: b.state?.limit ?? null, remaining: b.state?.remaining ?? null };
      if (plan.reason === 'learning') {
        onWait?.(0, why);
        if (!(await untilWoken(b, signal))) return null;
        continue;
      }
      const ms = Math.min(plan.waitMs, this.opts.maxWaitMs);
      onWait?.(ms, why);
      if (!(await this.sleep(ms, signal))) return null;
    }
  }

  /**
   * The request of `ticket` is answered; `reading` is what the answer said about its window. A 429
   * passes `pauseMs`, the wait it named: the bucket is paused before the requests waiting on this
   * answer are woken, so none of them slips out in the meantime.
   */
  settle(ticket: Ticket, reading: QuotaReading | null, pauseMs: number | null = null): void {
    const b = this.bucket(ticket.bucket);
    b.inFlight = Math.max(0, b.inFlight - 1);
    b.inFlightCost = Math.max(0, b.inFlightCost - ticket.cost);
    if (ticket.probe) b.probing = false;
    if (pauseMs !== null) b.pausedUntil = Math.max(b.pausedUntil, this.now() + pauseMs);
    try {
      if (reading) this.record(b, reading);
    } finally {
      const waiting = b.waiters;
      b.waiters = [];
      for (const wake of waiting) wake();
    }
  }

  /** Every request of `bucket` waits until `untilMs` (a 429 told one of them to: the quota is the token's). */
  pause(bucket: string, untilMs: number): void {
    const b = this.bucket(bucket);
    b.pausedUntil = Math.max(b.pausedUntil, untilMs);
  }

  /** What the pacer believes about `bucket`, for tests and logs. */
  inspect(bucket: string): Readonly<Window> | null {
    const s = this.buckets.get(bucket)?.state;
    return s ? { ...s } : null;
  }

  private plan(b: Bucket, cost: number, nowMs: number): { go: true; probe: boolean } | { go: false; reason: WaitReason; waitMs: number } {
    // Timers may fire a millisecond before Date.now() agrees: a wait just ended is over.
    const now = nowMs + CLOCK_SLACK_MS;
    if (now < b.pausedUntil) return { go: false, reason: 'paused', waitMs: b.pausedUntil - nowMs };
    const s = b.state;
    if (s === null) {
      if (this.opts.learnFirst && b.inFlight > 0) return { go: false, reason: 'learning', waitMs: 0 };
      return { go: true, probe: false };
    }
    if (now >= s.resetAt + this.opts.resetMarginMs) {
      if (this.opts.afterReset === 'probe') {
        if (b.probing) return { go: false, reason: 'learning', waitMs: 0 };
        return { go: true, probe: true };
      }
      // The window we knew has passed: a fresh one until an answer says otherwise. Its number sits
      // between the old and the next, so late answers from the old window no longer count.
      s.remaining = s.limit;
      s.resetAt = nowMs + this.opts.assumedWindowMs;
      s.window += 0.5;
    }
    if (s.remaining - cost >= this.opts.reserve(s.limit)) return { go: true, probe: false };
    // No reset to wait for (Graph says how full, not when): the next answer will say more; with
    // none to come, one request finds out.
    if (!Number.isFinite(s.resetAt)) return b.inFlight > 0 ? { go: false, reason: 'learning', waitMs: 0 } : { go: true, probe: true };
    return { go: false, reason: 'window', waitMs: Math.max(1, s.resetAt + this.opts.resetMarginMs - nowMs) };
  }

  private record(b: Bucket, r: QuotaReading): void {
    // Our requests still in flight will each spend their cost of what the server says is left.
    const estimate = r.remaining - b.inFlightCost;
    const s = b.state;
    if (s === null || r.window > s.window) {
      b.state = { limit: r.limit, remaining: estimate, resetAt: r.resetAt, window: r.window };
    } else if (r.window === s.window && estimate < s.remaining) {
      // The lower estimate wins, whole: its reset belongs to it.
      b.state = { limit: r.limit, remaining: estimate, resetAt: r.resetAt, window: r.window };
    }
    // An answer from an older window says nothing about this one.
  }

  private bucket(name: string): Bucket {
    let b = this.buckets.get(name);
    if (!b) {
      b = new Bucket();
      this.buckets.set(name, b);
    }
    return b;
  }
}

/** Resolves true when the bucket's next answer arrives, false when shutdown comes first. */
function untilWoken(b: Bucket, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => resolve(false);
    b.waiters.push(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
