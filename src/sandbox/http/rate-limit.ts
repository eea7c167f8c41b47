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

export class WindowLimiter {
  private windows = new Map<string, { start: number; used: number }>();
  limit: number;
  windowMs: number;
  private readonly now: () => number;

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.now = now;
  }

  /** Counts one request in `bucket` and says whether it is over the limit. */
  hit(bucket: string): WindowState {
    const t = this.now();
    let w = this.windows.get(bucket);
    if (!w || t - w.start >= this.windowMs) {
      w = { start: t, used: 0 };
      this.windows.set(bucket, w);
    }
    const limited = w.used >= this.limit;
    if (!limited) w.used += 1;
    return {
      limit: this.limit,
      remaining: Math.max(0, this.limit - w.used),
      resetAt: Math.ceil((w.start + this.windowMs) / 1000),
      limited,
    };
  }

  reset(): void {
    this.windows.clear();
  }
}
