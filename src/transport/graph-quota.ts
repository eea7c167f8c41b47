/**
 * Graph's quota as the pacer sees it. Graph sends no remaining-quota header (entra-graph.md §3):
 * what it does send is `x-ms-resource-unit` (what each request cost) on every answer, and
 * `x-ms-throttle-limit-percentage` (how full the quota is, rounded) once it is above 80 %. From
 * those this infers the limit and when the quota frees up, and hands the pacer readings:
 *
 * - below 80 % (no percentage): at least a fifth of the quota is left, and more by our own count
 *   once the limit is known; the pacer spends it freely;
 * - above 80 %: what is left by our count (or by the percentage, read pessimistically); the pacer
 *   spends it down to its reserve, holds until the quota should have freed up, and then sends one
 *   request (a probe) to find out.
 *
 * A window starts when a probe comes back below 80 % after the quota was seen above: while we
 * hold, the probe is the window's first request, so every unit of it is counted here. In such a
 * window each answer bounds the limit: below 80 % after `n` units means more than `n ÷ 0.8`; a
 * percentage `p ± rounding` after `n` means more than `n ÷ (p + rounding)` (and, if we are the only
 * client, at most `n ÷ (p − rounding)`). Before any such window, `units ÷ percentage` stands in.
 * A fixed window (as the emulator keeps it) also has a length, bounded the same way (still full at
 * one time, found fresh at another) and narrowed by probing inside the bounds; a quota that refills
 * gradually (a token bucket, as §3 describes Graph) shows itself by filling up again just after a
 * probe found room, and is then probed at short, growing gaps. A 429 is the backstop: its
 * Retry-After holds every request (the adapter pauses the pacer), and a 429 that came while we
 * believed there was room cuts the limit. Pure: the clock is an argument.
 */
import type { QuotaReading } from './pacer.ts';
import type { HeaderSource } from './wait-time.ts';

export interface GraphUsage {
  /** `x-ms-resource-unit`: what the answered request cost. */
  cost: number;
  /** `x-ms-throttle-limit-percentage` as a fraction (0.8–1.8); null when absent (below 80 %). */
  fill: number | null;
  /** Half the rounding step of the percentage as sent ("0.9": 0.05; "0.93": 0.005). */
  rounding: number;
}

/** The percentage from which Graph reports it. */
const HIGH = 0.8;
/** From here (Graph rounds to a tenth: "1.0" from 95 %) the quota is spent: a 429 is no surprise. */
const SPENT = 0.95;
/** The documented window (§3: RU per 10 s): after a pause longer than a window, a count starts afresh. */
const DOCUMENTED_WINDOW_MS = 10_000;
const MIN_PROBE_GAP_MS = 10;
const MAX_PROBE_GAP_MS = 5_000;
/** Each probe that finds the quota still full waits this much longer before the next. */
const PROBE_GROWTH = 1.5;
/** With only an upper bound on the window's length, the first probe looks this far into it. */
const EARLY = 15 / 16;
/** Probes in a window of known length are at most this share of it apart. */
const FINE_GAP_SHARE = 1 / 64;
/** A 429 the limit we believed let through: believe a tenth less. */
const CUT_AFTER_429 = 0.9;

/** What one Graph answer's headers say about the quota; null when it carries no cost (not Graph's own answer). */
export function graphUsage(headers: HeaderSource): GraphUsage | null {
  const cost = Number(headers.get('x-ms-resource-unit') ?? NaN);
  if (!Number.isFinite(cost) || cost < 0) return null;
  const text = headers.get('x-ms-throttle-limit-percentage')?.trim() ?? '';
  const fill = Number(text === '' ? NaN : text);
  if (!Number.isFinite(fill) || fill <= 0) return { cost, fill: null, rounding: 0 };
  const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  return { cost, fill, rounding: 10 ** -decimals / 2 };
}

/** The usage a whole `$batch` answer reports: its items' costs, and the fullest any item saw. */
export function combineUsage(items: readonly GraphUsage[]): GraphUsage | null {
  if (items.length === 0) return null;
  let cost = 0;
  let top: GraphUsage | null = null;
  for (const u of items) {
    cost += u.cost;
    if (u.fill !== null && (top === null || (top.fill as number) < u.fill)) top = u;
  }
  return { cost, fill: top?.fill ?? null, rounding: top?.rounding ?? 0 };
}

/** A reading that limits nothing: nothing is known that would. */
export const UNBOUNDED: Omit<QuotaReading, 'window'> = { limit: Infinity, remaining: Infinity, resetAt: Infinity };

export class GraphQuota {
  /** Resource units a window allows, as far as is known. */
  private limit: number | null = null;
  /** The quota refills gradually: a probe's find is not a window's start, so nothing is learnt from one. */
  private refilling = false;
  /** The window's length lies between these (both null while unknown). */
  private windowLo: number | null = null;
  private windowHi: number | null = null;

  private windowStart: number | null = null;
  /** This window began with a probe's find, so every unit spent in it was counted here. */
  private clean = false;
  /** This window began after a pause of ours: its length says nothing about Graph's. */
  private afterIdle = false;
  private spent = 0;
  /** Bounds on the limit from this window's answers. */
  private above = 0;
  private below = Infinity;
  /** Our clock when an answer first said the quota is above 80 %, this window. */
  private highSince: number | null = null;
  private lastFill = 0;
  /** When the latest request was sent whose answer found the quota above 80 % (or throttled), this window. */
  private lastFullAt: number | null = null;

  private nextProbe: number | null = null;
  private gapMs = MIN_PROBE_GAP_MS;
  /** Probing near the expected turnover, at short gaps. */
  private fine = false;
  /** When a 429's Retry-After ends. */
  private serverReset: number | null = null;
  private lastSentAt: number | null = null;

  /** The reading for the pacer from one answer of a request sent at `sentAt`; null when it says nothing. */
  observe(usage: GraphUsage, sentAt: number, now: number): QuotaReading | null {
    this.notice(sentAt);
    // Sent before the window we count began: part of an earlier one.
    if (sentAt < (this.windowStart as number)) return null;
    // Sent after the quota was seen high, yet below 80 % now: it has freed up.
    if (usage.fill === null && this.highSince !== null && sentAt >= this.highSince) this.turnOver(sentAt);
    this.spent += usage.cost;
    if (usage.fill === null) {
      this.lastFill = 0;
      this.bound(this.spent / HIGH, Infinity, now);
      if (this.limit === null) return { ...UNBOUNDED, window: sentAt };
      const left = this.counted(now) ? Math.max(this.limit * (1 - HIGH), this.limit - this.spent) : this.limit * (1 - HIGH);
      return { limit: this.limit, remaining: left, resetAt: Infinity, window: sentAt };
    }
    this.lastFill = usage.fill;
    this.lastFullAt = Math.max(this.lastFullAt ?? sentAt, sentAt);
    if (this.highSince === null) {
      this.highSince = now;
      // Until a window's length is known, probes start at an eighth of the time this one took to fill.
      this.gapMs = this.windowHi === null ? clamp((now - (this.windowStart as number)) / 8, MIN_PROBE_GAP_MS, MAX_PROBE_GAP_MS) : MIN_PROBE_GAP_MS;
    }
    const upper = usage.fill - usage.rounding;
    this.bound(this.spent / (usage.fill + usage.rounding), upper > 0 ? this.spent / upper : Infinity, now);
    // Nothing learnt from a whole window yet: units ÷ percentage stands in.
    this.limit ??= this.spent / usage.fill;
    // Read pessimistically: the percentage may have been rounded down.
    const byFill = this.limit * (1 - usage.fill - usage.rounding);
    const left = Math.max(0, this.counted(now) ? Math.min(this.limit - this.spent, this.limit * (1 - usage.fill + usage.rounding)) : byFill);
    return { limit: this.limit, remaining: left, resetAt: this.resetGuess(sentAt, now, usage.fill >= SPENT), window: sentAt };
  }

  /** A 429 for a request sent at `sentAt`; `retryAfterMs` as the answer named it. */
  throttled(retryAfterMs: number | null, sentAt: number, now: number): QuotaReading {
    this.notice(sentAt);
    this.highSince ??= now;
    this.lastFullAt = Math.max(this.lastFullAt ?? sentAt, sentAt);
    if (retryAfterMs !== null) this.serverReset = now + retryAfterMs;
    // A 429 with room believed left: the limit we learnt is too high. One at the end of a spent
    // window (a probe's, or "possible below the limits, under load", §3) says nothing new.
    if (this.limit !== null && this.lastFill < SPENT) this.limit = Math.max(1, Math.floor(this.limit * CUT_AFTER_429));
    this.lastFill = Math.max(this.lastFill, 1);
    return { limit: this.limit ?? 1, remaining: 0, resetAt: this.resetGuess(sentAt, now, true), window: sentAt };
  }

  /** What is believed, for tests and logs. */
  inspect(): { limit: number | null; windowMs: [number | null, number | null]; refilling: boolean; clean: boolean; spent: number } {
    return { limit: this.limit, windowMs: [this.windowLo, this.windowHi], refilling: this.refilling, clean: this.clean, spent: this.spent };
  }

  /**
   * Whether this window's count is whole: it began with a probe's find, and is still within one
   * window's length of that (past it, the window may have turned over unseen).
   */
  private counted(now: number): boolean {
    if (!this.clean || this.refilling) return false;
    return this.windowHi === null || now - (this.windowStart as number) <= this.windowHi;
  }

  /** Narrows the limit with this window's bounds (a whole count only). */
  private bound(above: number, below: number, now: number): void {
    if (!this.counted(now)) return;
    this.above = Math.max(this.above, above);
    this.below = Math.min(this.below, below);
    // Full again right after a probe found room: the quota was never empty, it refills gradually.
    if (this.limit !== null && this.below < this.limit / 2) {
      this.refilling = true;
      return;
    }
    if (this.limit === null || this.limit < this.above) this.limit = this.above > 0 ? this.above : this.limit;
    if (this.limit !== null && this.limit > this.below) this.limit = Math.max(this.above, this.below);
  }

  /** The first request, or the first after a pause longer than a window, starts a count we cannot vouch for. */
  private notice(sentAt: number): void {
    const idle = this.lastSentAt !== null && sentAt - this.lastSentAt > (this.windowHi ?? DOCUMENTED_WINDOW_MS);
    if (this.windowStart === null || idle) {
      this.begin(sentAt, false);
      this.afterIdle = idle;
    }
    this.lastSentAt = Math.max(this.lastSentAt ?? sentAt, sentAt);
  }

  private turnOver(sentAt: number): void {
    const probed = this.nextProbe !== null && sentAt >= this.nextProbe;
    // Both ends found by probes: the window ended after the last full answer and before this one.
    if (probed && this.clean && !this.afterIdle && !this.refilling) {
      const start = this.windowStart as number;
      this.learnLength(sentAt - start, this.lastFullAt === null ? null : this.lastFullAt - start);
    }
    this.begin(sentAt, probed);
  }

  /** Narrows the window's length to [lo, hi]; bounds that disagree with what was known replace it. */
  private learnLength(hi: number, lo: number | null): void {
    const newLo = Math.max(this.windowLo ?? 0, lo ?? 0);
    const newHi = Math.min(this.windowHi ?? Infinity, hi);
    if (newLo > newHi) {
      this.windowLo = lo;
      this.windowHi = hi;
    } else {
      this.windowLo = newLo > 0 ? newLo : null;
      this.windowHi = newHi;
    }
  }

  private begin(sentAt: number, clean: boolean): void {
    this.windowStart = sentAt;
    this.clean = clean;
    this.afterIdle = false;
    this.spent = 0;
    this.above = 0;
    this.below = Infinity;
    this.highSince = null;
    this.lastFill = 0;
    this.lastFullAt = null;
    this.nextProbe = null;
    this.serverReset = null;
    this.gapMs = MIN_PROBE_GAP_MS;
    this.fine = false;
  }

  /** When to look again: when a 429 said, else the next probe. */
  private resetGuess(sentAt: number, now: number, full: boolean): number {
    if (this.serverReset !== null && this.serverReset > now) {
      this.nextProbe = this.serverReset;
      return this.serverReset;
    }
    return this.probeAt(sentAt, now, full);
  }

  /**
   * The next probe's time. The turnover is expected inside the learnt bounds of the window's
   * length, or else a little before Graph's documented 10 s: the first probe of a known window goes
   * there, and once a probe at or past that point finds the quota still full, the next ones follow
   * at short gaps (a sixty-fourth of the window at most), so a late find costs little. Before that
   * point, and for a quota that refills gradually, each probe (a request sent at or after the last
   * probe's time) that found the quota `full` waits longer than the one before.
   */
  private probeAt(sentAt: number, now: number, full: boolean): number {
    if (this.nextProbe !== null && sentAt < this.nextProbe) return this.nextProbe;
    const start = this.windowStart as number;
    const length = this.refilling ? null : this.windowHi;
    const expected = this.refilling ? null : start + (length !== null ? (this.windowLo ?? length * EARLY) : DOCUMENTED_WINDOW_MS * EARLY);
    if (this.nextProbe === null) {
      if (length !== null && expected !== null && expected > now) return (this.nextProbe = expected);
    } else if (full) {
      if (!this.fine && expected !== null && (sentAt >= expected || now >= expected)) {
        this.fine = true;
        this.gapMs = MIN_PROBE_GAP_MS;
      } else {
        const cap = this.fine ? Math.max(MIN_PROBE_GAP_MS, (length ?? DOCUMENTED_WINDOW_MS) * FINE_GAP_SHARE) : MAX_PROBE_GAP_MS;
        this.gapMs = Math.min(this.gapMs * PROBE_GROWTH, cap);
      }
    }
    let next = now + this.gapMs;
    if (!this.fine && expected !== null && expected > now) next = Math.min(next, expected);
    return (this.nextProbe = next);
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
