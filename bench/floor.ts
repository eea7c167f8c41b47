/**
 * The floor of a run: the least wall time any client could take for the requests it made, given
 * each system's rate limit, the latency of one request and how many may be in flight (DESIGN.md
 * "Performance model", issue 15):
 *
 *   floor = max over systems of max(used ÷ rate of each of its buckets, latency × requests ÷ concurrency)
 *
 * A system with several independent budgets (Okta's per-endpoint buckets) is bound by its fullest
 * one; Graph's budget is in resource units, not requests. Pure arithmetic, no I/O.
 */

export type SystemName = 'docker' | 'okta' | 'graph';

/** One rate budget and what the run drew from it. */
export interface BucketUse {
  readonly name: string;
  /** Requests (or resource units) the run was served from this budget; 429s excluded: they are waste, not work. */
  readonly used: number;
  /** What one window allows. */
  readonly perWindow: number;
  readonly windowMs: number;
}

export interface SystemLoad {
  readonly system: SystemName;
  /** Requests on the wire that were answered (429s excluded), each paying the latency once. */
  readonly requests: number;
  readonly latencyMs: number;
  /** Requests the client may have in flight at once against this system. */
  readonly concurrency: number;
  /** Empty when the system had no rate limit in this run. */
  readonly buckets: readonly BucketUse[];
}

export interface SystemFloor {
  readonly system: SystemName;
  /** Seconds the fullest bucket needs at its rate (0 without limits). */
  readonly rateS: number;
  /** The bucket behind rateS, or null. */
  readonly bucket: string | null;
  /** latency × requests ÷ concurrency, in seconds. */
  readonly latencyS: number;
  readonly floorS: number;
  readonly bound: 'rate' | 'latency';
}

export interface RunFloor {
  readonly floorS: number;
  /** The system whose floor is the run's, or null when every floor is 0 (no latency, no limits). */
  readonly binding: SystemName | null;
  readonly systems: readonly SystemFloor[];
}

export function bucketSeconds(b: BucketUse): number {
  if (b.perWindow <= 0) throw new Error(`bucket ${b.name}: a rate limit must allow at least one request a window`);
  return (b.used / b.perWindow) * (b.windowMs / 1000);
}

export function systemFloor(load: SystemLoad): SystemFloor {
  let rateS = 0;
  let bucket: string | null = null;
  for (const b of load.buckets) {
    const s = bucketSeconds(b);
    if (s > rateS) {
      rateS = s;
      bucket = b.name;
    }
  }
  const latencyS = (load.latencyMs * load.requests) / Math.max(1, load.concurrency) / 1000;
  return { system: load.system, rateS, bucket, latencyS, floorS: Math.max(rateS, latencyS), bound: rateS >= latencyS ? 'rate' : 'latency' };
}

export function runFloor(loads: readonly SystemLoad[]): RunFloor {
  const systems = loads.map(systemFloor);
  let binding: SystemFloor | null = null;
  for (const s of systems) if (s.floorS > 0 && (binding === null || s.floorS > binding.floorS)) binding = s;
  return { floorS: binding?.floorS ?? 0, binding: binding?.system ?? null, systems };
}

/** wall ÷ floor, or null when there is no floor to compare with (a run without latency or limits). */
export function floorRatio(wallS: number, floor: RunFloor): number | null {
  return floor.floorS > 0 ? wallS / floor.floorS : null;
}

/** The target: within 1.15 × the floor. */
export const FLOOR_TARGET = 1.15;

/**
 * The most a run drew from any one rate budget, as a share of one window's allowance: at most 1,
 * the run fits in one window, and a shortened clock (the time scale) did not shorten its waits.
 */
export function windowShare(loads: readonly SystemLoad[]): number {
  let share = 0;
  for (const l of loads) for (const b of l.buckets) if (b.perWindow > 0) share = Math.max(share, b.used / b.perWindow);
  return share;
}
