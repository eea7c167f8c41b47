import { describe, expect, it } from 'vitest';
import { AlertPolicy, type Alert } from '../../src/daemon/alerts.ts';
import { SyncMetrics } from '../../src/daemon/metrics.ts';
import { Worker, type FinishedRun } from '../../src/daemon/worker.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { Plan } from '../../src/model/plan.ts';

const plan = { operations: [], findings: [], memberships: [] } as unknown as Plan;
const ok: FinishedRun = { runId: 'r1', status: 'succeeded', plan, results: [], managedAccounts: 3, readSeconds: { okta: 1, docker: 0.5 } };

function worker(run: (signal: AbortSignal) => Promise<FinishedRun>, intervalMs = 60_000, staleAfterMs = 3 * 3600_000) {
  const alerts: Alert[] = [];
  const metrics = new SyncMetrics({ processMetrics: false });
  const w = new Worker({
    run,
    logger: silentLogger(),
    metrics,
    alerts: new AlertPolicy({ source: 'okta', notifyOnChanges: false }),
    notify: (a) => alerts.push(a),
    staleAfterMs,
    intervalMs,
    previous: { lastRun: null, lastSuccess: null },
  });
  return { w, alerts, metrics };
}

/** A run that waits until the test lets it finish. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('the daemon loop', () => {
  it('never runs twice at once: a tick during a run is skipped and counted', async () => {
    const g = gate();
    let started = 0;
    const { w, metrics } = worker(async () => {
      started++;
      await g.opened;
      return ok;
    });
    const first = w.tick();
    expect(w.tick()).toBeNull();
    expect(w.tick()).toBeNull();
    g.open();
    await first;
    expect(started).toBe(1);
    expect(w.skippedTicks).toBe(2);
    expect((await metrics.expose()).body).toMatch(/^docker_idp_sync_skipped_ticks_total 2$/m);
  });

  it('a failed run does not stop it; repeated failures skip 0, 1, 3 ticks; one alert, then recovery', async () => {
    let fail = true;
    let calls = 0;
    const { w, alerts } = worker(async () => {
      calls++;
      if (fail) throw new Error('okta: 503 after retries');
      return ok;
    });
    await w.tick(); // failure 1 → next tick runs
    await w.tick(); // failure 2 → skip 1
    expect(w.tick()).toBeNull();
    await w.tick(); // failure 3 → skip 3
    for (let i = 0; i < 3; i++) expect(w.tick()).toBeNull();
    expect(calls).toBe(3);
    fail = false;
    await w.tick();
    expect(calls).toBe(4);
    expect(w.consecutiveFailures).toBe(0);
    expect(alerts.map((a) => a.event)).toEqual(['failure', 'recovered']);
    expect(alerts[0]?.text).toContain('okta: 503 after retries');
  });

  it('backs off no longer than STALE_AFTER between attempts', async () => {
    let calls = 0;
    const { w } = worker(async () => {
      calls++;
      throw new Error('down');
    }, 60_000, 180_000);
    // STALE_AFTER is 3 minutes at one tick a minute: never more than 2 ticks skipped in a row.
    let skippedInARow = 0;
    let most = 0;
    for (let i = 0; i < 40; i++) {
      const run = w.tick();
      if (run === null) most = Math.max(most, ++skippedInARow);
      else {
        skippedInARow = 0;
        await run;
      }
    }
    expect(most).toBe(2);
    expect(calls).toBeGreaterThanOrEqual(13);
  });

  it('stop() asks the run to stop, waits for it, and starts nothing more', async () => {
    let sawAbort = false;
    const { w } = worker(
      (signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve(ok);
          });
        }),
    );
    void w.tick();
    expect(await w.stop(5_000)).toBe(true);
    expect(sawAbort).toBe(true);
    expect(w.tick()).toBeNull();
  });

  it('a run cut short by the shutdown is not a failure: no alert, no failure count', async () => {
    const partial: FinishedRun = { ...ok, status: 'partial', results: [{ opId: 'create:1', kind: 'create', subject: 'a@example.com', status: 'skipped' }] };
    const { w, alerts } = worker(
      (signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => resolve(partial));
        }),
    );
    void w.tick();
    expect(await w.stop(5_000)).toBe(true);
    expect(alerts).toEqual([]);
    expect(w.consecutiveFailures).toBe(0);
  });

  it('stop() gives up after its timeout when the run does not finish', async () => {
    const { w } = worker(() => new Promise(() => {}));
    void w.tick();
    expect(await w.stop(50)).toBe(false);
  });

  it('the metrics reflect the runs', async () => {
    let n = 0;
    const { w, metrics } = worker(async () => {
      n++;
      if (n === 2) throw new Error('docker: 401');
      return ok;
    });
    await w.tick();
    await w.tick();
    await w.tick();
    const text = (await metrics.expose()).body;
    expect(text).toMatch(/^docker_idp_sync_runs_total\{outcome="succeeded"\} 2$/m);
    expect(text).toMatch(/^docker_idp_sync_runs_total\{outcome="failed"\} 1$/m);
    expect(text).toMatch(/^docker_idp_sync_managed_accounts 3$/m);
    expect(text).toMatch(/^docker_idp_sync_read_duration_seconds_count\{system="okta"\} 2$/m);
    expect(text).toMatch(/^docker_idp_sync_consecutive_failures 0$/m);
  });

  it('the metrics tell incremental runs from full ones, and when the last full run succeeded', async () => {
    const incremental: FinishedRun = { ...ok, plan: { ...ok.plan, coverage: { mode: 'incremental', users: 2, dockerListed: false } } };
    const runs = [ok, incremental, incremental];
    const { w, metrics } = worker(async () => runs.shift() ?? ok);
    await w.tick();
    const afterFull = (await metrics.expose()).body.match(/^docker_idp_sync_last_full_success_timestamp_seconds (\S+)$/m)?.[1];
    expect(Number(afterFull)).toBeGreaterThan(0);
    await w.tick();
    await w.tick();
    const text = (await metrics.expose()).body;
    expect(text).toMatch(/^docker_idp_sync_runs_by_mode_total\{mode="full"\} 1$/m);
    expect(text).toMatch(/^docker_idp_sync_runs_by_mode_total\{mode="incremental"\} 2$/m);
    // Incremental runs do not move it.
    expect(text).toContain(`docker_idp_sync_last_full_success_timestamp_seconds ${afterFull}`);
  });
});
