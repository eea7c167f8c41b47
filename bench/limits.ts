import type { DockerRateLimit } from '../src/sandbox/docker/emulator.ts';
import type { GraphThrottle } from '../src/sandbox/entra/emulator.ts';
import type { OktaBucket, OktaRateLimit } from '../src/sandbox/okta/emulator.ts';

/**
 * The rate limits the emulators enforce during a measured run, from the reference, and the time
 * scale that makes a run of minutes out of hours: every window is shortened by the same factor, so
 * a minute's budget is spent in 60 ÷ scale seconds and every ratio (wall ÷ floor, 429s ÷ requests)
 * is what it would be at full scale, while latency stays real.
 */

export interface RateLimits {
  /**
   * Docker SCIM requests a minute, reads and writes alike (docker-scim.md §4: the headers are
   * documented, no number is). An assumption; `--docker-per-minute` changes it.
   */
  readonly dockerPerMinute: number;
  /**
   * Okta requests a minute per bucket for one token: okta.md §3.1's Enterprise column, halved
   * because one API token or OAuth app may use 50 % of a bucket by default (§3.1).
   */
  readonly oktaPerMinute: Readonly<Record<OktaBucket, number>>;
  /** Graph resource units per 10 s for one app in one large tenant (entra-graph.md §3: L, > 500 users). */
  readonly graphRuPer10s: number;
}

export const REFERENCE_LIMITS: RateLimits = {
  dockerPerMinute: 600,
  oktaPerMinute: {
    apps: 50, // `/api/v1/apps/*`, app users and app groups included: 100
    app: 300, // `/api/v1/apps/{id}` only: 600
    groups: 300, // `/api/v1/groups`, so `/groups/{id}/users`: 600
    users: 500, // GET `/api/v1/users/{idOrLogin}`: 1,000
    oauth: 300, // most other endpoints: 600
  },
  graphRuPer10s: 8_000,
};

export interface Pace {
  /** Added to every request by each emulator. */
  readonly latencyMs: number;
  /** Windows are this many times shorter than the real ones. */
  readonly timeScale: number;
  readonly limits: RateLimits;
}

/**
 * Allowed scales divide 60, so a scaled minute is whole seconds: Docker's and Okta's reset headers
 * are whole unix seconds, and with windows aligned on the clock they then say exactly when the
 * budget returns (a client that waits for them loses nothing to rounding).
 */
export function checkTimeScale(scale: number): string | null {
  if (!Number.isInteger(scale) || scale < 1 || 60 % scale !== 0) return `--time-scale must be a whole divisor of 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60), got ${scale}`;
  return null;
}

export interface Windows {
  /** A scaled minute (Docker, Okta). */
  readonly minuteMs: number;
  /** Graph's scaled 10 s. */
  readonly graphMs: number;
}

export function windowsOf(timeScale: number): Windows {
  return { minuteMs: 60_000 / timeScale, graphMs: Math.round(10_000 / timeScale) };
}

export interface EmulatorLimits {
  readonly docker: DockerRateLimit;
  readonly okta: OktaRateLimit;
  readonly graph: GraphThrottle;
}

export function emulatorLimits(pace: Pace): EmulatorLimits {
  const w = windowsOf(pace.timeScale);
  const l = pace.limits;
  return {
    docker: { perMinute: l.dockerPerMinute, windowMs: w.minuteMs, align: true },
    okta: { perMinute: l.oktaPerMinute.oauth, windowMs: w.minuteMs, buckets: { ...l.oktaPerMinute }, align: true },
    graph: { ruPerWindow: l.graphRuPer10s, windowMs: w.graphMs, align: true, fractionalRetryAfter: true },
  };
}
