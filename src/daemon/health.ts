import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';

/**
 * What `/healthz` and `/readyz` answer. Liveness is about the process (is its event loop turning?),
 * readiness about the work (is it syncing?). Kubernetes restarts a pod that is not live, so a
 * failing IdP must never make it unlive: a restart would not fix the IdP and would interrupt runs.
 */

export interface RunMark {
  readonly status: 'succeeded' | 'partial' | 'held' | 'failed';
  readonly at: Date;
}

export interface ReadinessInput {
  readonly stateOpen: boolean;
  /** The last run that finished, in this process or (at start) recorded in the state file. */
  readonly lastRun: RunMark | null;
  /** The last run that succeeded (a run held by the safety guard counts: it did its job). */
  readonly lastSuccess: Date | null;
  readonly staleAfterMs: number;
}

export interface Verdict {
  readonly ok: boolean;
  /** Why not, one short line each; empty when ok. No personal data, no secret. */
  readonly reasons: readonly string[];
}

export function readiness(input: ReadinessInput, now: Date): Verdict {
  const reasons: string[] = [];
  if (!input.stateOpen) reasons.push('the state file is not open');
  if (input.lastRun?.status === 'failed') reasons.push(`the last run failed (${input.lastRun.at.toISOString()})`);
  if (input.lastSuccess === null) reasons.push('no run has succeeded yet');
  else if (now.getTime() - input.lastSuccess.getTime() > input.staleAfterMs) {
    reasons.push(`no run has succeeded for ${Math.round((now.getTime() - input.lastSuccess.getTime()) / 1000)} s (STALE_AFTER is ${Math.round(input.staleAfterMs / 1000)} s)`);
  }
  return { ok: reasons.length === 0, reasons };
}

/** True when the last successful run is older than `staleAfterMs`, or there is none yet and the process has run that long. */
export function isStale(lastSuccess: Date | null, startedAt: Date, staleAfterMs: number, now: Date): boolean {
  return now.getTime() - (lastSuccess ?? startedAt).getTime() > staleAfterMs;
}

/**
 * Event-loop delay, sampled by Node itself. A loop blocked for `maxLagMs` (a runaway computation,
 * a synchronous call that hangs) makes `/healthz` fail once it answers again, so a probe with a
 * timeout catches the block while it lasts and this catches one that just ended.
 */
export class LoopMonitor {
  private readonly histogram: ELDHistogram;
  private readonly maxLagMs: number;

  constructor(maxLagMs: number) {
    this.maxLagMs = maxLagMs;
    this.histogram = monitorEventLoopDelay({ resolution: 50 });
    this.histogram.enable();
  }

  /** The worst delay since the last check, then starts a new window. */
  check(): Verdict {
    const worstMs = this.histogram.max / 1e6;
    this.histogram.reset();
    return worstMs > this.maxLagMs ? { ok: false, reasons: [`the event loop was blocked for ${Math.round(worstMs)} ms`] } : { ok: true, reasons: [] };
  }

  stop(): void {
    this.histogram.disable();
  }
}
