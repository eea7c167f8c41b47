import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiSystem, TransportObserver } from '../model/telemetry.ts';
import type { Plan } from '../model/plan.ts';
import type { OperationResult, RunStatus } from '../model/result.ts';

/**
 * The daemon's Prometheus metrics (`/metrics`), names in Prometheus style under one prefix. Labels
 * are bounded sets (outcome, kind, system, method, status, finding code, severity): never a user,
 * an email or a team name, which are personal data or unbounded. Process metrics come from
 * prom-client's defaults under the same prefix.
 */

export const METRIC_PREFIX = 'docker_idp_sync_';

/** What the metrics need of one finished run. */
export interface RunObservation {
  readonly status: RunStatus;
  readonly durationSeconds: number;
  readonly finishedAt: Date;
  readonly plan: Plan;
  readonly results: readonly OperationResult[];
  /** Links in the state file after the run. */
  readonly managedAccounts: number;
  readonly readSeconds: Readonly<Partial<Record<ApiSystem, number>>>;
}

export class SyncMetrics implements TransportObserver {
  readonly registry = new Registry();
  private readonly runs: Counter<'outcome'>;
  private readonly operations: Counter<'kind' | 'outcome'>;
  private readonly requests: Counter<'system' | 'method' | 'status'>;
  private readonly retries: Counter<'system'>;
  private readonly rateLimitWait: Counter<'system'>;
  private readonly runDuration: Histogram<'outcome'>;
  private readonly readDuration: Histogram<'system'>;
  private readonly lastSuccess: Gauge;
  private readonly coverage: Counter<'mode'>;
  private readonly lastFull: Gauge;
  private readonly lastRun: Gauge;
  private readonly managed: Gauge;
  private readonly findings: Gauge<'code' | 'severity'>;
  private readonly held: Gauge;
  private readonly drift: Counter;
  private readonly skipped: Counter;
  private readonly failures: Gauge;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: p });
    this.runs = new Counter({ name: `${p}runs_total`, help: 'Sync runs by outcome (succeeded, partial, held, failed).', labelNames: ['outcome'], registers });
    this.operations = new Counter({ name: `${p}operations_total`, help: 'Operations applied to Docker by kind and outcome (succeeded, failed, skipped, blocked).', labelNames: ['kind', 'outcome'], registers });
    this.requests = new Counter({ name: `${p}api_requests_total`, help: 'HTTP requests to the IdP and Docker by system, method and status (timeout and network for no answer).', labelNames: ['system', 'method', 'status'], registers });
    this.retries = new Counter({ name: `${p}api_retries_total`, help: 'Requests sent again after a 429, a 5xx, a timeout or a reset, by system.', labelNames: ['system'], registers });
    this.rateLimitWait = new Counter({ name: `${p}rate_limit_wait_seconds_total`, help: 'Seconds spent waiting for a rate-limit window or a Retry-After, by system.', labelNames: ['system'], registers });
    this.runDuration = new Histogram({
      name: `${p}run_duration_seconds`,
      help: 'Wall time of a sync run, read to last write, by outcome.',
      labelNames: ['outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers,
    });
    this.readDuration = new Histogram({
      name: `${p}read_duration_seconds`,
      help: 'Wall time of a complete read of one system (okta, entra, docker).',
      labelNames: ['system'],
      buckets: [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.lastSuccess = new Gauge({ name: `${p}last_success_timestamp_seconds`, help: 'Unix time the last successful (or held) run finished; 0 before the first.', registers });
    this.coverage = new Counter({ name: `${p}runs_by_mode_total`, help: 'Finished runs by what they read: full (everything) or incremental (the IdP\'s change feed).', labelNames: ['mode'], registers });
    this.lastFull = new Gauge({ name: `${p}last_full_success_timestamp_seconds`, help: 'Unix time the last successful full run finished (FULL_SYNC_EVERY); 0 before the first.', registers });
    this.lastRun = new Gauge({ name: `${p}last_run_timestamp_seconds`, help: 'Unix time the last run finished, whatever its outcome; 0 before the first.', registers });
    this.managed = new Gauge({ name: `${p}managed_accounts`, help: 'Docker accounts this tool manages (links in the state file) after the last run.', registers });
    this.findings = new Gauge({ name: `${p}findings`, help: 'Findings of the last run by code and severity.', labelNames: ['code', 'severity'], registers });
    this.held = new Gauge({ name: `${p}deactivations_held`, help: 'Deactivations the safety guard held back in the last run.', registers });
    this.drift = new Counter({ name: `${p}drift_corrected_total`, help: 'Managed accounts changed in Docker behind this tool\'s back and set back by it.', registers });
    this.skipped = new Counter({ name: `${p}skipped_ticks_total`, help: 'Scheduled ticks skipped because a run was still going.', registers });
    this.failures = new Gauge({ name: `${p}consecutive_failures`, help: 'Runs that failed in a row; 0 after a success.', registers });
    // Series an admin alerts on exist from the start, at zero, so `increase()` sees the first one.
    for (const outcome of ['succeeded', 'partial', 'held', 'failed'] as const) this.runs.labels(outcome).inc(0);
    this.lastSuccess.set(0);
    this.lastFull.set(0);
    for (const mode of ['full', 'incremental'] as const) this.coverage.labels(mode).inc(0);
    this.lastRun.set(0);
    this.held.set(0);
  }

  request(system: ApiSystem, method: string, status: number | 'timeout' | 'network'): void {
    this.requests.labels(system, method.toUpperCase(), String(status)).inc();
  }

  retry(system: ApiSystem): void {
    this.retries.labels(system).inc();
  }

  waited(system: ApiSystem, ms: number): void {
    if (ms > 0) this.rateLimitWait.labels(system).inc(ms / 1000);
  }

  tickSkipped(): void {
    this.skipped.inc();
  }

  runFinished(run: RunObservation, consecutiveFailures: number): void {
    const seconds = run.finishedAt.getTime() / 1000;
    this.runs.labels(run.status).inc();
    this.runDuration.labels(run.status).observe(run.durationSeconds);
    this.lastRun.set(seconds);
    if (run.status === 'succeeded' || run.status === 'held') this.lastSuccess.set(seconds);
    const mode = run.plan.coverage?.mode ?? 'full';
    this.coverage.labels(mode).inc();
    if (mode === 'full' && run.status === 'succeeded') this.lastFull.set(seconds);
    this.failures.set(consecutiveFailures);
    for (const [system, s] of Object.entries(run.readSeconds)) if (s !== undefined) this.readDuration.labels(system).observe(s);
    for (const r of run.results) this.operations.labels(r.kind, r.status).inc();
    this.managed.set(run.managedAccounts);
    this.findings.reset();
    for (const f of run.plan.findings) this.findings.labels(f.code, f.severity).inc();
    this.held.set(run.plan.operations.filter((op) => op.blocked === 'safety-threshold').length);
    const succeeded = new Set(run.results.filter((r) => r.status === 'succeeded').map((r) => r.opId));
    const corrected = run.plan.operations.filter((op) => succeeded.has(op.id) && 'changes' in op && op.changes.some((c) => c.drift === true)).length;
    if (corrected > 0) this.drift.inc(corrected);
  }

  runFailed(durationSeconds: number, at: Date, consecutiveFailures: number): void {
    this.runs.labels('failed').inc();
    this.runDuration.labels('failed').observe(durationSeconds);
    this.lastRun.set(at.getTime() / 1000);
    this.failures.set(consecutiveFailures);
  }

  /** The exposition text and its content type, for `/metrics`. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
