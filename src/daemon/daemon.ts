import { setTimeout as delay } from 'node:timers/promises';
import type { NotifyEvent } from '../config/types.ts';
import type { CommandContext } from '../commands/context.ts';
import { failureText } from '../logging/failure.ts';
import { syncOnce } from '../run/once.ts';
import { LoggedProgress, ProgressTracker } from '../run/progress.ts';
import type { SyncOutcome } from '../run/sync.ts';
import { openState } from '../state/open.ts';
import type { StateStore } from '../state/store.ts';
import { TOOL_VERSION } from '../version.ts';
import { AlertPolicy, type Alert, type AlertEvent } from './alerts.ts';
import { LoopMonitor, readiness, type RunMark } from './health.ts';
import { acquireDaemonLock } from './instance-lock.ts';
import { SyncMetrics } from './metrics.ts';
import { Schedule, scheduleIntervalMs } from './schedule.ts';
import { HealthServer } from './server.ts';
import { WebhookNotifier } from './webhook.ts';
import { Worker, type FinishedRun } from './worker.ts';

/**
 * `daemon`: the long-running worker. One sync at start (after an optional random delay), then one
 * on every SCHEDULE tick, never two at once; /healthz, /readyz and /metrics on HTTP_HOST:HTTP_PORT;
 * alerts to NOTIFY_WEBHOOK_URL. SIGTERM or SIGINT: no new run or write starts, the writes in
 * flight finish and are journaled, waits for rate limits end at once, and the process exits 0
 * within SHUTDOWN_TIMEOUT. (A SIGKILL after that is safe too: the journal recovers in-flight writes.)
 */

/** How often a run in progress is logged with its counts. */
const PROGRESS_EVERY_MS = 10_000;

/** A blocked event loop past this fails /healthz (Kubernetes then restarts the pod). */
const MAX_LOOP_BLOCK_MS = 30_000;

const EVENT_SETTING: Record<AlertEvent, NotifyEvent> = { failure: 'failure', hold: 'hold', stale: 'stale', recovered: 'recovery', changes: 'changes' };

export interface DaemonHandle {
  /** Resolves with the exit code once the daemon has stopped. */
  readonly done: Promise<number>;
  /** Starts the shutdown, as SIGTERM does. */
  stop(reason: string): void;
}

export async function startDaemon(ctx: CommandContext): Promise<DaemonHandle> {
  const { config, logger, scrub } = ctx;
  const d = config.daemon;
  const intervalMs = scheduleIntervalMs(d.schedule, d.timezone ?? undefined);
  const staleAfterMs = d.staleAfterMs ?? 3 * intervalMs;

  // The daemon's own handle on the state file: its instance lock, readiness, and counts between runs.
  const state = openState({ path: config.state.db, scrub });
  let releaseLock: () => void;
  try {
    releaseLock = acquireDaemonLock(state);
  } catch (err) {
    state.close();
    throw err;
  }

  // Whatever fails from here to the first tick (the run history, the port) lets go of the lock
  // and the file, so a restart is not refused by this process's own leftovers.
  let setup;
  try {
    setup = await prepare(ctx, state, intervalMs, staleAfterMs);
  } catch (err) {
    releaseLock();
    state.close();
    throw err;
  }
  const { worker, server, loop, webhook, address, wanted } = setup;

  const schedule = new Schedule(d.schedule, d.timezone ?? undefined);
  const stopping = new AbortController();
  const staleTimer = setInterval(() => worker.checkStale(), Math.min(60_000, Math.max(1_000, Math.floor(staleAfterMs / 10))));
  staleTimer.unref();

  logger.info(
    { version: TOOL_VERSION, schedule: d.schedule, staleAfterMs, http: `${address.address}:${address.port}`, stateFile: config.state.db, alerts: webhook ? [...wanted] : [] },
    `daemon started: syncing on "${d.schedule}"; health, readiness and metrics on http://${address.address}:${address.port}`,
  );

  // The first run: now, or after a random delay so instances restarted together spread out.
  const firstDelay = Math.floor(Math.random() * d.startDelayMaxMs);
  if (firstDelay > 0) logger.info({ delayMs: firstDelay }, `first sync in ${Math.round(firstDelay / 1000)} s (START_DELAY_MAX)`);
  void delay(firstDelay, undefined, { signal: stopping.signal }).then(
    () => {
      void worker.tick();
      schedule.start(() => void worker.tick());
    },
    () => undefined,
  );

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let shuttingDown = false;
  const stop = (reason: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    void (async () => {
      logger.info({ reason, shutdownTimeoutMs: d.shutdownTimeoutMs }, `${reason}: stopping; writes in flight finish and are journaled, nothing new starts`);
      stopping.abort();
      clearInterval(staleTimer);
      await schedule.stop();
      const finished = await worker.stop(d.shutdownTimeoutMs);
      if (!finished) logger.warn({ shutdownTimeoutMs: d.shutdownTimeoutMs }, 'the run did not finish within SHUTDOWN_TIMEOUT; exiting anyway (the next run recovers what was in flight from the journal)');
      await server.close();
      await webhook?.flush(Math.min(2_000, d.shutdownTimeoutMs));
      loop.stop();
      releaseLock();
      state.close();
      logger.info('daemon stopped');
      resolveDone(0);
    })();
  };
  return { done, stop };
}

/** One sync for the worker, with what its metrics and alerts need. */
async function runOnce(ctx: CommandContext, state: StateStore, metrics: SyncMetrics, signal: AbortSignal): Promise<FinishedRun> {
  let outcome: SyncOutcome;
  // The daemon's stderr is a log: the progress line goes there every few seconds while a run goes.
  const tracker = new ProgressTracker();
  const progress = new LoggedProgress(tracker, ctx.logger);
  progress.start(PROGRESS_EVERY_MS);
  try {
    // Incremental between full runs (FULL_SYNC_EVERY): how a change reaches Docker within minutes.
    outcome = await syncOnce(ctx, { dryRun: false, mode: 'incremental', signal, observer: metrics, progress: tracker });
  } catch (err) {
    // Told once, in the admin's words, scrubbed; the worker logs it, counts it and alerts.
    throw new Error(ctx.scrub(failureText(err).replace(/^error: /, '')), { cause: err });
  } finally {
    progress.stop();
  }
  const { result } = outcome;
  const reads = outcome.reads;
  const readSeconds = reads ? { [ctx.config.source]: reads.idpMs / 1000, docker: reads.dockerMs / 1000 } : {};
  return { runId: result.runId, status: result.status, plan: outcome.plan, results: result.results, managedAccounts: state.linkCount(), readSeconds };
}

/** The last run and the last success recorded in the state file, so readiness survives a restart. */
function previousRuns(state: StateStore): { lastRun: RunMark | null; lastSuccess: Date | null } {
  const runs = state.recentRuns(200).filter((r) => r.finishedAt !== null);
  const mark = (status: string): RunMark['status'] => (status === 'succeeded' || status === 'partial' || status === 'held' ? status : 'failed');
  const last = runs[0];
  const success = runs.find((r) => r.status === 'succeeded' || r.status === 'held');
  return {
    lastRun: last ? { status: mark(last.status), at: new Date(last.finishedAt as string) } : null,
    lastSuccess: success ? new Date(success.finishedAt as string) : null,
  };
}

/** The worker, its alerts and its HTTP server, listening. */
async function prepare(ctx: CommandContext, state: StateStore, intervalMs: number, staleAfterMs: number) {
  const { config, logger } = ctx;
  const d = config.daemon;
  const metrics = new SyncMetrics();
  const webhook = config.notify.webhookUrl
    ? new WebhookNotifier({ url: config.notify.webhookUrl, logger: logger.child({ component: 'alerts' }), source: config.source, version: TOOL_VERSION, observer: metrics })
    : null;
  const wanted = new Set(config.notify.on);
  const notify = (alert: Alert): void => {
    logger.info({ event: alert.event }, `alert: ${alert.text}`);
    if (webhook && wanted.has(EVENT_SETTING[alert.event])) webhook.notify(alert);
  };

  const worker = new Worker({
    run: (signal) => runOnce(ctx, state, metrics, signal),
    logger,
    metrics,
    alerts: new AlertPolicy({ source: config.source, notifyOnChanges: wanted.has('changes') }),
    notify,
    staleAfterMs,
    intervalMs,
    previous: previousRuns(state),
  });

  const loop = new LoopMonitor(MAX_LOOP_BLOCK_MS);
  const server = new HealthServer({
    healthz: () => loop.check(),
    readyz: () => readiness({ stateOpen: state.db.open, lastRun: worker.lastRun, lastSuccess: worker.lastSuccess, staleAfterMs }, new Date()),
    metrics: () => metrics.expose(),
  });
  let address;
  try {
    address = await server.listen(d.httpPort, d.httpHost);
  } catch (err) {
    loop.stop();
    throw err;
  }
  return { worker, server, loop, webhook, address, wanted };
}
