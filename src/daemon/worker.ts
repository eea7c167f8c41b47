import type { Logger } from '../logging/logger.ts';
import { AlertPolicy, type Alert, type RunSummary } from './alerts.ts';
import { isStale, type RunMark } from './health.ts';
import type { RunObservation, SyncMetrics } from './metrics.ts';

/**
 * The daemon's loop, apart from its timer and its HTTP server: one run at a time, a failed run
 * never stops it, repeated failures back off, and every run ends up in the metrics, the alerts
 * and the log. `tick()` is what the schedule calls; `stop()` is what SIGTERM calls.
 */

/** What the worker needs of one finished run: what the metrics observe, less what the worker measures itself. */
export type FinishedRun = Omit<RunObservation, 'durationSeconds' | 'finishedAt'> & { readonly runId: string };

export interface WorkerDeps {
  /** One sync; resolves with the run, throws when the run failed (the error is already scrubbed of secrets). */
  readonly run: (signal: AbortSignal) => Promise<FinishedRun>;
  readonly logger: Logger;
  readonly metrics: SyncMetrics;
  readonly alerts: AlertPolicy;
  readonly notify: (alert: Alert) => void;
  readonly staleAfterMs: number;
  readonly intervalMs: number;
  /** The last run recorded in the state file, so readiness and staleness survive a restart. */
  readonly previous: { lastRun: RunMark | null; lastSuccess: Date | null };
  readonly clock?: () => Date;
}

/**
 * Longest pause between attempts while failing: an hour, and never more than STALE_AFTER, so the
 * backoff itself cannot make syncing go stale, nor delay the recovery past it.
 */
const MAX_BACKOFF_MS = 3600_000;

export class Worker {
  lastRun: RunMark | null;
  lastSuccess: Date | null;
  consecutiveFailures = 0;
  skippedTicks = 0;
  private current: Promise<void> | null = null;
  private ticksToSkip = 0;
  private readonly controller = new AbortController();
  private readonly deps: WorkerDeps;
  private readonly clock: () => Date;
  private readonly startedAt: Date;

  constructor(deps: WorkerDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? (() => new Date());
    this.startedAt = this.clock();
    this.lastRun = deps.previous.lastRun;
    this.lastSuccess = deps.previous.lastSuccess;
  }

  get running(): boolean {
    return this.current !== null;
  }

  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  /** Starts a run unless one is going, the worker is stopping, or it is backing off; never throws. */
  tick(): Promise<void> | null {
    if (this.stopping) return null;
    if (this.current) {
      this.skippedTicks++;
      this.deps.metrics.tickSkipped();
      this.deps.logger.warn({ skippedTicks: this.skippedTicks }, 'a scheduled run is due but the previous one is still going; skipping this tick');
      return null;
    }
    if (this.ticksToSkip > 0) {
      this.ticksToSkip--;
      this.deps.logger.info({ consecutiveFailures: this.consecutiveFailures, ticksLeft: this.ticksToSkip }, 'backing off after repeated failures; skipping this tick');
      return null;
    }
    const run = this.runOnce().finally(() => {
      this.current = null;
    });
    this.current = run;
    return run;
  }

  /** The staleness alert, on a timer of its own (a stuck run produces no run events). */
  checkStale(): void {
    const stale = isStale(this.lastSuccess, this.startedAt, this.deps.staleAfterMs, this.clock());
    for (const a of this.deps.alerts.staleness(stale, this.lastSuccess, this.deps.staleAfterMs)) this.deps.notify(a);
  }

  /**
   * Stops starting runs and asks the one going to stop starting writes; resolves when it has
   * finished (writes in flight answered and journaled) or `timeoutMs` passed, whichever is first.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.controller.abort(new Error('shutting down'));
    const running = this.current;
    if (!running) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([running.then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async runOnce(): Promise<void> {
    const { logger, metrics, alerts, notify } = this.deps;
    const t0 = performance.now();
    let summary: RunSummary;
    try {
      const run = await this.deps.run(this.controller.signal);
      const at = this.clock();
      if (this.stopping && run.status !== 'succeeded') {
        // Operations skipped for the shutdown make a run partial; that is the rollout, not a
        // failure: no alert, no failure count. The next run picks up what was left.
        logger.info({ runId: run.runId, status: run.status }, 'the run stopped for shutdown; the next run applies what it left');
        return;
      }
      const failedOps = run.results.filter((r) => r.status === 'failed').length;
      this.lastRun = { status: run.status, at };
      if (run.status === 'succeeded' || run.status === 'held') {
        this.lastSuccess = at;
        this.consecutiveFailures = 0;
      } else this.consecutiveFailures++;
      metrics.runFinished({ ...run, durationSeconds: (performance.now() - t0) / 1000, finishedAt: at }, this.consecutiveFailures);
      summary = {
        runId: run.runId,
        status: run.status,
        applied: run.results.filter((r) => r.status === 'succeeded').length,
        failed: failedOps,
        held: run.plan.operations.filter((op) => op.blocked === 'safety-threshold').length,
      };
    } catch (err) {
      const at = this.clock();
      this.lastRun = { status: 'failed', at };
      this.consecutiveFailures++;
      metrics.runFailed((performance.now() - t0) / 1000, at, this.consecutiveFailures);
      const message = oneLine(err);
      summary = { runId: null, status: 'failed', applied: 0, failed: 0, held: 0, error: message };
      if (this.stopping) {
        logger.warn({ error: message }, 'the run stopped for shutdown');
        return;
      }
      this.ticksToSkip = this.backoffTicks();
      logger.error(
        { error: message, consecutiveFailures: this.consecutiveFailures, skipTicks: this.ticksToSkip },
        `run failed (${this.consecutiveFailures} in a row); the daemon keeps going and tries again ${this.ticksToSkip === 0 ? 'on the next tick' : `after skipping ${this.ticksToSkip} tick${this.ticksToSkip === 1 ? '' : 's'}`}`,
      );
    }
    for (const a of alerts.runFinished(summary)) notify(a);
  }

  /** 0, 1, 3, 7, … ticks skipped after 1, 2, 3, 4, … failures in a row, up to about an hour (or STALE_AFTER). */
  private backoffTicks(): number {
    const longest = Math.min(MAX_BACKOFF_MS, this.deps.staleAfterMs);
    const cap = Math.max(0, Math.floor(longest / Math.max(1, this.deps.intervalMs)) - 1);
    return Math.min(2 ** Math.max(0, this.consecutiveFailures - 1) - 1, cap);
  }
}

function oneLine(err: unknown): string {
  const e = err as { describe?: () => string; message?: string };
  const text = typeof e?.describe === 'function' ? e.describe() : (e?.message ?? String(err));
  return text.split('\n')[0]?.slice(0, 500) ?? '';
}
