import type { Directory } from '../src/sandbox/directory.ts';
import { changeShare, ONE_OF_EACH, TEN_CHANGES, type ChangeSummary, type FewMix, type Population } from './population.ts';

/**
 * What the benchmark measures (issue 15), as data: each workload is a list of steps, each step one
 * measured run of the product on a world of some size. A workload that cannot be measured yet says
 * why instead of being faked; adding one is adding an entry here (and, if it needs a new kind of
 * run, a `kind` the runner knows).
 */

export interface Sizes {
  /** The first sync measured with latency and limits. */
  readonly first: number;
  /** The re-runs. */
  readonly large: number;
  /** The first syncs without latency or limits that show how cost grows. */
  readonly scale: readonly number[];
}

export const FULL_SIZES: Sizes = { first: 10_000, large: 100_000, scale: [1_000, 10_000, 100_000] };
/** `--quick`: the same workloads, small enough to finish in a minute or two (the daemon waits for its 10 s ticks). */
export const QUICK_SIZES: Sizes = { first: 1_000, large: 2_000, scale: [250, 500, 1_000] };

export interface Step {
  readonly users: number;
  /**
   * fresh: a new world and an empty state file (a first sync). synced: a world whose state file
   * holds a completed sync of it; the runner reuses the last step's world or makes one with an
   * unmeasured setup run without latency or limits.
   */
  readonly start: 'fresh' | 'synced';
  /** Latency and rate limits during the measured run; without them the run has no floor. */
  readonly paced: boolean;
  /** Changes the IdP before the measured run. */
  readonly change?: (dir: Directory, pop: Population) => ChangeSummary;
  /** Extra environment for the product (e.g. a raised deactivation guard). */
  readonly env?: Readonly<Record<string, string>>;
  /** The product's command line for the measured run; default `sync`. */
  readonly args?: readonly string[];
  /**
   * A few changes (population.ts planFewChanges), made in the IdP before the measured run and
   * looked for in Docker's store after it: the step fails when one has not landed.
   */
  readonly few?: { readonly mix: FewMix; readonly seed: number };
  /**
   * The measured run follows the change feed, so the state file must hold a feed cursor: the
   * runner primes the world with an unmeasured `sync --incremental` without latency or limits (with
   * no cursor it reads everything and keeps one; a plain `sync`, the setup run, keeps none).
   */
  readonly cursor?: boolean;
  /** Names the step where a workload has several at one size ("10 changes", "nothing changed"). */
  readonly variant?: string;
  /**
   * The product runs as a daemon on SCHEDULE instead of once, and the step times each change from
   * the IdP to Docker (bench/freshness.ts).
   */
  readonly daemon?: { readonly schedule: string; readonly mix: FewMix; readonly seed: number };
}

export interface Workload {
  readonly id: string;
  readonly title: string;
  /** Steps at these sizes; absent for a workload not measured yet. */
  readonly steps?: (sizes: Sizes) => readonly Step[];
  /** Why it is not measured yet. */
  readonly pending?: string;
}

/** The 1 % change set unassigns people on purpose: the deactivation guard must let it through. */
const GUARD_OFF = { MAX_DEACTIVATIONS: '1000000', MAX_DEACTIVATION_PERCENT: '100' } as const;

export const ONE_PERCENT = 0.01;

const INCREMENTAL = ['sync', '--incremental'] as const;

/**
 * The daemon's schedule in the freshness workload: every 10 s (node-cron's six fields, seconds
 * first), short so the bench waits seconds, not minutes, for a tick; the report turns the measured
 * run time into what a one-minute schedule gives.
 */
export const FRESHNESS_SCHEDULE = '*/10 * * * * *';

/** In the order they run: the scale series' largest first sync is also the re-runs' setup. */
export const WORKLOADS: readonly Workload[] = [
  {
    id: 'first-sync',
    title: 'First sync, 2 % of users in 50 org:team groups, with latency and rate limits',
    steps: (s) => [{ users: s.first, start: 'fresh', paced: true }],
  },
  {
    id: 'scale',
    title: 'First sync without latency or limits: how CPU and memory grow with users',
    steps: (s) => s.scale.map((users) => ({ users, start: 'fresh' as const, paced: false })),
  },
  {
    id: 'rerun',
    title: 'Re-run with nothing changed, with latency and rate limits',
    steps: (s) => [{ users: s.large, start: 'synced', paced: true }],
  },
  {
    id: 'changed',
    title: 'Re-run with 1 % of users changed (names, roles, unassignments, group joins and leaves), with latency and rate limits',
    steps: (s) => [{ users: s.large, start: 'synced', paced: true, change: (dir, pop) => changeShare(dir, pop, ONE_PERCENT), env: GUARD_OFF }],
  },
  {
    id: 'incremental',
    title: 'Incremental run (`sync --incremental`) after 10 changes, and with nothing changed, with latency and rate limits',
    steps: (s) => [
      { users: s.large, start: 'synced', paced: true, cursor: true, args: INCREMENTAL, few: { mix: TEN_CHANGES, seed: 1516 }, variant: '10 changes' },
      { users: s.large, start: 'synced', paced: true, cursor: true, args: INCREMENTAL, variant: 'nothing changed' },
    ],
  },
  {
    id: 'freshness',
    title: 'Daemon mode: time from an IdP change to Docker, with latency and rate limits',
    steps: (s) => [{ users: s.large, start: 'synced', paced: true, cursor: true, daemon: { schedule: FRESHNESS_SCHEDULE, mix: ONE_OF_EACH, seed: 1517 } }],
  },
];

/** The workloads `--only` names, in run order; an unknown id is an error that lists the known ones. */
export function selectWorkloads(only: readonly string[] | null, all: readonly Workload[] = WORKLOADS): Workload[] {
  if (only === null || only.length === 0) return [...all];
  const unknown = only.filter((id) => !all.some((w) => w.id === id));
  if (unknown.length > 0) throw new Error(`unknown workload ${unknown.join(', ')}; known: ${all.map((w) => w.id).join(', ')}`);
  return all.filter((w) => only.includes(w.id));
}
