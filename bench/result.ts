import type { SystemCounts } from './counts.ts';
import type { RunFloor } from './floor.ts';
import type { RateLimits } from './limits.ts';
import type { ProductCost } from './measure.ts';
import type { ChangeSummary, FewKind } from './population.ts';
import type { RunModeSeen } from './product-log.ts';
import type { Sizes } from './workloads.ts';

/** What one benchmark run found: plain data, written as JSON and rendered as Markdown. */

export interface StepResult {
  readonly workload: string;
  readonly source: 'okta' | 'entra';
  readonly users: number;
  /** Latency and rate limits were on during the measured run. */
  readonly paced: boolean;
  readonly exitCode: number | null;
  /** Why the step has no figures (a failed run, a failed setup), scrubbed of nothing: the sandbox has no real secrets. */
  readonly error?: string;
  /** The product's child process, spawn to exit. */
  readonly wallS: number;
  /** `maxRssMb` is the whole process's peak when `peakFrom` is 'process' (GNU time), else the run's own. */
  readonly cost: ProductCost | null;
  readonly peakFrom?: 'process' | 'run';
  /** CPU the emulators (the benchmark's own process) used during the run. */
  readonly emulatorCpuS: number;
  readonly systems: readonly SystemCounts[];
  /** null for a run without latency or limits. */
  readonly floor: RunFloor | null;
  readonly ratio: number | null;
  readonly change?: ChangeSummary;
  /** Wall time of the unmeasured setup run that synced the world first, if one was needed. */
  readonly setupWallS?: number;
  /** Which of a workload's steps at one size this is ("10 changes", "nothing changed"). */
  readonly variant?: string;
  /**
   * For a run asked to be incremental: what its log said it did (followed the feed, or read
   * everything and why); null when it said neither.
   */
  readonly mode?: RunModeSeen | null;
  /**
   * A full run's requests to compare an incremental one with, when the step measured one itself:
   * the unmeasured run that primed the feed cursor (a full read; writes too if the world had any
   * to make). The report prefers the measured `rerun` of the same source and size.
   */
  readonly fullReference?: { readonly calls: number; readonly writes: number; readonly from: string };
  /** The few changes made before the run, and whether each was in Docker's store after it. */
  readonly changes?: readonly ChangeCheck[];
  /** The daemon step: each change's time to Docker and the runs that carried them. */
  readonly freshness?: FreshnessResult;
}

export interface ChangeCheck {
  readonly kind: FewKind;
  readonly userName: string;
  readonly landed: boolean;
}

/** One daemon run, from its log and the emulators' request logs. */
export interface DaemonRun {
  readonly runId: string | null;
  readonly status: string | null;
  readonly mode: RunModeSeen | null;
  /** The run's own wall time (read + plan + apply) from its "run cost" line; null for a failed run. */
  readonly wallS: number | null;
  /** The run's CPU (read + plan + apply), not the daemon's since it started. */
  readonly cpuS: number | null;
  /** The daemon's peak RSS so far, from the run's "run cost" line. */
  readonly maxRssMb: number | null;
  /** Calls on every system (Graph's `$batch` items one by one), 429s included. */
  readonly calls: number;
  readonly systems: readonly SystemCounts[];
  /**
   * The most the run drew from one rate budget, as a share of what one window allows (null without
   * limits). At most 1: the run fits in one window, so the shortened clock did not shorten it.
   */
  readonly windowShare: number | null;
}

export interface FreshnessChange {
  readonly kind: FewKind;
  readonly userName: string;
  /** When it was made in the IdP, in seconds after the daemon's first run ended; null: never made (the step failed first). */
  readonly madeAtS: number | null;
  /** Seconds from the change in the IdP to the Docker write that made it visible; null: never seen. */
  readonly seconds: number | null;
  /** Index in `runs` of the run that wrote it to Docker. */
  readonly run: number | null;
}

export interface FreshnessResult {
  /** SCHEDULE the daemon ran on, and the longest gap between its ticks. */
  readonly schedule: string;
  readonly gapS: number;
  readonly changes: readonly FreshnessChange[];
  /** Every run of the daemon, its first (before any change) included. */
  readonly runs: readonly DaemonRun[];
  /** The daemon's exit code after SIGTERM (0 expected), null if a signal killed it. */
  readonly exitCode: number | null;
}

export interface WorkloadResult {
  readonly id: string;
  readonly title: string;
  readonly pending?: string;
  readonly steps: readonly StepResult[];
}

export interface BenchSettings {
  readonly latencyMs: number;
  readonly timeScale: number;
  readonly limits: RateLimits;
  readonly concurrency: { readonly docker: number; readonly okta: number; readonly graph: number };
  readonly sizes: Sizes;
  readonly sources: readonly ('okta' | 'entra')[];
}

export interface BenchResult {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: { readonly node: string; readonly cpus: number; readonly platform: string };
  readonly settings: BenchSettings;
  readonly workloads: readonly WorkloadResult[];
}
