import { afterEach, describe, expect, it } from 'vitest';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { metric, metricSum, startDaemon, until, type RunningDaemon } from '../support/daemon.ts';
import { scenarioPerTest } from '../support/harness.ts';

const LONG = 240_000;

describe.each(WORLD_SOURCES)('the daemon (%s)', (source) => {
  const s = scenarioPerTest({ source });
  let d: RunningDaemon | null = null;
  // Registered after the scenario's hooks, so it runs before the scenario stops.
  afterEach(async () => {
    if (d && d.child.exitCode === null) {
      d.signal('SIGKILL');
      await d.exited;
    }
    d = null;
  });

  it('syncs at start and on every tick, and /metrics, /healthz and /readyz say so', { timeout: LONG }, async () => {
    d = await startDaemon(s);
    await d.waitForRuns(3);
    expect(d.runsFinished().slice(0, 3).every((l) => l.msg === 'run succeeded')).toBe(true);
    // The first run created everyone; the later ones had nothing to do.
    expect(s.docker.user('ada@example.com')?.active).toBe(true);

    const m = (await d.get('/metrics')).body;
    expect(metric(m, 'docker_idp_sync_runs_total', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(3);
    expect(metric(m, 'docker_idp_sync_runs_total', { outcome: 'failed' })).toBe(0);
    expect(metricSum(m, 'docker_idp_sync_operations_total', { kind: 'create', outcome: 'succeeded' })).toBe(6);
    expect(metric(m, 'docker_idp_sync_managed_accounts')).toBe(6);
    expect(metricSum(m, 'docker_idp_sync_run_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(metric(m, 'docker_idp_sync_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(metric(m, 'docker_idp_sync_consecutive_failures')).toBe(0);
    // The clients' own counts: requests by system, method and status, and the reads' durations.
    expect(metricSum(m, 'docker_idp_sync_api_requests_total', { system: 'docker', method: 'POST', status: '201' })).toBeGreaterThanOrEqual(6);
    expect(metricSum(m, 'docker_idp_sync_api_requests_total', { system: source, method: 'GET' })).toBeGreaterThan(0);
    expect(metricSum(m, 'docker_idp_sync_read_duration_seconds_count', { system: source })).toBeGreaterThanOrEqual(3);
    expect(metricSum(m, 'docker_idp_sync_read_duration_seconds_count', { system: 'docker' })).toBeGreaterThanOrEqual(3);

    expect(await d.get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await d.get('/readyz')).toEqual({ status: 200, body: 'ok\n' });

    d.signal('SIGTERM');
    const end = await d.exited;
    expect(end.code).toBe(0);
    expect(d.text()).toContain('daemon stopped');
  });

  it('a failed run never stops it: /readyz turns unready, then ready again after a success', { timeout: LONG }, async () => {
    d = await startDaemon(s, { DOCKER_MAX_RETRIES: '0' });
    await d.waitForRuns(1);
    expect((await d.get('/readyz')).status).toBe(200);

    s.docker.http.faults.add({ route: 'serviceProviderConfig', times: Infinity, action: { type: 'status', status: 503 } });
    await d.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('run failed (1 in a row)'));
    const unready = await d.get('/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body).toContain('the last run failed');
    // Liveness is about the process: an outage upstream must not get the pod restarted.
    expect((await d.get('/healthz')).status).toBe(200);
    const failing = (await d.get('/metrics')).body;
    expect(metric(failing, 'docker_idp_sync_runs_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(metric(failing, 'docker_idp_sync_consecutive_failures')).toBeGreaterThanOrEqual(1);

    s.docker.http.faults.clear();
    await until(async () => (await d!.get('/readyz')).status === 200, 120_000);
    expect(metric((await d.get('/metrics')).body, 'docker_idp_sync_consecutive_failures')).toBe(0);
    d.signal('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });

  it('/readyz turns unready when no run has succeeded within STALE_AFTER, and ready again after one', { timeout: LONG }, async () => {
    d = await startDaemon(s, { STALE_AFTER: '3s' });
    await d.waitForRuns(1);
    // Docker slows down: a run now takes longer than STALE_AFTER, and nothing has failed.
    s.docker.http.latencyMs = 2_000;
    await until(async () => (await d!.get('/readyz')).status === 503, 120_000);
    const stale = await d.get('/readyz');
    expect(stale.body).toMatch(/no run has succeeded for \d+ s \(STALE_AFTER is 3 s\)/);
    expect(stale.body).not.toContain('failed');
    s.docker.http.latencyMs = 0;
    await until(async () => (await d!.get('/readyz')).status === 200, 120_000);
    d.signal('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });

  it('SIGTERM during an apply: the writes in flight finish and are journaled, it exits 0, and the next run converges', { timeout: LONG }, async () => {
    // Slow answers keep creates in flight when the signal comes.
    s.docker.http.latencyMs = 1_500;
    d = await startDaemon(s, { DOCKER_CONCURRENCY: '2', SHUTDOWN_TIMEOUT: '20s' });
    await until(() => s.docker.http.writes().length >= 1, 120_000, 20);
    d.signal('SIGTERM');
    const end = await d.exited;
    expect(end.code).toBe(0);
    expect(d.text()).toContain('writes in flight finish and are journaled');
    expect(d.text()).toContain('daemon stopped');
    const created = s.docker.allUsers().length;
    // Not every create went out: the shutdown stopped the rest.
    expect(created).toBeLessThan(6);
    expect(s.state((st) => st.interruptedWrites())).toEqual([]);

    s.docker.http.latencyMs = 0;
    const next = await s.sync();
    expect(next.outcome.result.status).toBe('succeeded');
    expect(s.docker.allUsers().map((u) => u.userName).sort()).toEqual(['ada@example.com', 'alan@example.com', 'barbara@example.com', 'edsger@example.com', 'grace@example.com', 'ken@example.com'].sort());
    expect((await s.sync()).writes).toBe(0);
  });

  it('SIGTERM during a long Retry-After: the wait ends at once, it exits 0, and the next run converges', { timeout: LONG }, async () => {
    // Docker asks for two minutes' patience on the first create; SHUTDOWN_TIMEOUT is far shorter.
    s.docker.http.faults.add({ route: 'createUser', times: 1, action: { type: 'status', status: 429, headers: { 'retry-after': '120' } } });
    d = await startDaemon(s, { SHUTDOWN_TIMEOUT: '30s' });
    await d.waitForLine((l) => typeof l.msg === 'string' && /got 429; retrying in \d+ ms/.test(l.msg));
    d.signal('SIGTERM');
    const end = await d.exited;
    expect(end.code).toBe(0);
    // The run ended by itself, well inside SHUTDOWN_TIMEOUT: had the 120 s wait been honoured, the
    // daemon would have given up on it after 30 s and said so.
    expect(d.text()).not.toContain('did not finish within SHUTDOWN_TIMEOUT');
    expect(d.text()).toContain('daemon stopped');

    const next = await s.sync();
    expect(next.outcome.result.status).toBe('succeeded');
    expect(new Set(s.docker.allUsers().map((u) => u.userName)).size).toBe(s.docker.allUsers().length);
    expect(s.docker.allUsers()).toHaveLength(6);
    expect((await s.sync()).writes).toBe(0);
  });

  it('endpoints and logs hold no secret and no email', { timeout: LONG }, async () => {
    d = await startDaemon(s, { LOG_LEVEL: 'debug' });
    await d.waitForRuns(2);
    const answers = await Promise.all(['/healthz', '/readyz', '/metrics', '/', '/metrics?x=1'].map((p) => d!.get(p)));
    const text = answers.map((a) => a.body).join('\n');
    expect(text).not.toMatch(/@example\.com/);
    for (const secret of s.world.secrets) {
      expect(text).not.toContain(secret);
      expect(d.text()).not.toContain(secret);
    }
    d.signal('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});
