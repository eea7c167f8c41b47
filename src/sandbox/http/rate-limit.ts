/**
 * A fixed-window request counter per bucket, as Okta and Docker describe their limits
 * ("N requests per minute", reset at a unix time). Emulators turn its state into their own headers.
 */
export interface WindowState {
  limit: number;
  remaining: number;
  /** Unix time in seconds when the window resets. */
  resetAt: number;
  limited: boolean;
}

export interface WindowLimiterOptions {
  /** Limits of single buckets, where they differ from the common one (Okta's per-endpoint table). */
  perBucket?: Readonly<Record<string, number>>;
  /**
   * Start windows at multiples of the window length on the clock, instead of at the first request
   * after the last window ended. The benchmark shortens windows to seconds (its time scale); the
   * reset headers are whole unix seconds, so only an aligned window ends where its header says, and
   * a client that waits for the advertised reset loses no time to rounding.
   */
  align?: boolean;
}

export class WindowLimiter {
  private windows = new Map<string, { start: number; used: number }>();
  limit: number;
  windowMs: number;
  private readonly now: () => number;
  private readonly perBucket: Readonly<Record<string, number>>;
  private readonly align: boolean;

  constructor(limit: number, windowMs: number, now: () => number = Date.now, opts: WindowLimiterOptions = {}) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.now = now;
    this.perBucket = opts.perBucket ?? {};
    this.align = opts.align ?? false;
  }

  limitOf(bucket: string): number {
    return this.perBucket[bucket] ?? this.limit;
  }

  /** Counts one request in `bucket` and says whether it is over the limit. */
  hit(bucket: string): WindowState {
    const t = this.now();
    const limit = this.limitOf(bucket);
    let w = this.windows.get(bucket);
    if (!w || t - w.start >= this.windowMs) {
      w = { start: this.align ? t - (t % this.windowMs) : t, used: 0 };
      this.windows.set(bucket, w);
    }
    const limited = w.used >= limit;
    if (!limited) w.used += 1;
    return {
      limit,
      remaining: Math.max(0, limit - w.used),
      resetAt: Math.ceil((w.start + this.windowMs) / 1000),
      limited,
    };
  }

  reset(): void {
    this.windows.clear();
  }
}
