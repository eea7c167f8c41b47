import type { SystemCounts } from './counts.ts';
import type { RunFloor } from './floor.ts';
import type { RateLimits } from './limits.ts';
import type { ProductCost } from './measure.ts';
import type { ChangeSummary } from './population.ts';
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
