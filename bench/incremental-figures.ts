import type { BenchResult, DaemonRun, FreshnessResult, StepResult } from './result.ts';

/**
 * The figures the incremental and freshness workloads are judged by, from a finished result:
 * requests as a share of a full run's, and the time from an IdP change to Docker, measured and
 * as a one-minute schedule would give it. Pure.
 */

/** Requests a step made on every system (Graph's `$batch` items one by one, 429s included). */
export function callsOf(s: Pick<StepResult, 'systems'>): number {
  return s.systems.reduce((n, c) => n + c.calls, 0);
}

export interface FullRun {
  readonly calls: number;
  /** What the share is taken of, in the report's words. */
  readonly from: string;
}

/**
 * A full run with nothing to do, of the same source and size, to compare an incremental run with:
 * the measured `rerun` when the bench ran it, else the full read that primed the feed cursor.
 */
export function fullRunOf(r: BenchResult, source: StepResult['source'], users: number): FullRun | null {
  const steps = r.workloads.flatMap((w) => w.steps).filter((s) => s.source === source && s.users === users && s.error === undefined);
  const rerun = steps.find((s) => s.workload === 'rerun');
  if (rerun) return { calls: callsOf(rerun), from: 'the re-run with nothing changed' };
  const primed = steps.find((s) => s.fullReference)?.fullReference;
  return primed ? { calls: primed.calls, from: primed.from } : null;
}

/** A share of a full run's requests, or null with nothing to compare with. */
export function shareOf(calls: number, full: FullRun | null): number | null {
  return full && full.calls > 0 ? calls / full.calls : null;
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('the median of nothing');
  const a = [...xs].sort((p, q) => p - q);
  const mid = Math.floor(a.length / 2);
  return a.length % 2 === 1 ? (a[mid] as number) : ((a[mid - 1] as number) + (a[mid] as number)) / 2;
}

/** A one-minute SCHEDULE (`* * * * *`): the gap the freshness estimate is made for. */
export const MINUTE_S = 60;
/** The freshness target. */
export const FRESHNESS_TARGET_S = 120;
/** The "under 5 % of the requests of a full run". */
export const REQUEST_SHARE_TARGET = 0.05;

export interface FreshnessFigures {
  /** Seconds from change to Docker, over the changes that arrived. */
  readonly worstS: number | null;
  readonly medianS: number | null;
  /** Changes that never showed in Docker. */
  readonly unseen: number;
  /** The runs that wrote a change to Docker, by index in `runs`. */
  readonly carriers: readonly number[];
  /** Their longest own wall time (read + plan + apply). */
  readonly runWallS: number | null;
  /**
   * With SCHEDULE every minute: the worst wait for the next tick (the whole minute) plus the
   * longest carrying run; on average half a minute plus the run.
   */
  readonly minuteWorstS: number | null;
  readonly minuteMeanS: number | null;
  /** Why a carrying run read everything instead of following the feed, one entry each. */
  readonly fullReads: readonly string[];
  /** The carrying runs' most requests, and as a share of a full run's. */
  readonly runCalls: number | null;
  readonly share: number | null;
  /** The most a carrying run drew from one rate budget, as a share of one window (null: no limits). */
  readonly windowShare: number | null;
}

export function freshnessFigures(f: FreshnessResult, full: FullRun | null): FreshnessFigures {
  const times = f.changes.flatMap((c) => (c.seconds === null ? [] : [c.seconds]));
  const carriers = [...new Set(f.changes.flatMap((c) => (c.run === null ? [] : [c.run])))].sort((a, b) => a - b);
  const runs = carriers.map((i) => f.runs[i]).filter((r): r is DaemonRun => r !== undefined);
  const walls = runs.flatMap((r) => (r.wallS === null ? [] : [r.wallS]));
  const runWallS = walls.length > 0 ? Math.max(...walls) : null;
  const runCalls = runs.length > 0 ? Math.max(...runs.map((r) => r.calls)) : null;
  return {
    worstS: times.length > 0 ? Math.max(...times) : null,
    medianS: times.length > 0 ? median(times) : null,
    unseen: f.changes.length - times.length,
    carriers,
    runWallS,
    minuteWorstS: runWallS === null ? null : MINUTE_S + runWallS,
    minuteMeanS: runWallS === null ? null : MINUTE_S / 2 + runWallS,
    fullReads: runs.flatMap((r) => (r.mode?.mode === 'incremental' ? [] : [r.mode?.mode === 'full' ? r.mode.reason : 'the run said neither "incremental read" nor "reading everything"'])),
    runCalls,
    share: runCalls === null ? null : shareOf(runCalls, full),
    windowShare: runs.some((r) => r.windowShare !== null) ? Math.max(...runs.map((r) => r.windowShare ?? 0)) : null,
  };
}
