import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, until, type RunningDaemon } from '../support/daemon.ts';
import { scenarioPerTest } from '../support/harness.ts';
import { Recorder } from '../support/proxy.ts';

const LONG = 240_000;

/** What the daemon tells people and other daemons; the same whichever IdP it reads, so one source. */
describe('the daemon\'s alerts and its one-instance rule', () => {
  const source = 'okta' as const;
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

  it('alerts reach the webhook once each: failure, stale, recovery, hold; no secret and no email in them', { timeout: LONG }, async () => {
    const hook = new Recorder();
    await hook.start();
    try {
      const url = `${hook.origin}/services/T000/B000/${'s3cr3tw3bh00k'.repeat(3)}`;
      d = await startDaemon(s, { NOTIFY_WEBHOOK_URL: url, STALE_AFTER: '15s', DOCKER_MAX_RETRIES: '0', MAX_DEACTIVATIONS: '1' });
      await d.waitForRuns(1);
      const events = () => hook.requests.map((r) => (JSON.parse(r.body.toString()) as { event: string }).event);

      // The discovery that opens every run, incremental ones with nothing to do included.
      s.docker.http.faults.add({ route: 'serviceProviderConfig', times: Infinity, action: { type: 'status', status: 503 } });
      await until(() => events().includes('stale'), 120_000);
      s.docker.http.faults.clear();
      await until(() => events().includes('recovered'), 120_000);

      for (const email of ['edsger@example.com', 'alan@example.com']) s.directory.updateUser(email, { assigned: false });
      await until(() => events().includes('hold'), 120_000);
      // Two more held runs: the hold is not sent again.
      const ran = d.runsFinished().length;
      await d.waitForRuns(ran + 2);
      expect(events()).toEqual(['failure', 'stale', 'recovered', 'hold']);

      const bodies = hook.requests.map((r) => JSON.parse(r.body.toString()) as { text: string; source: string; version: string });
      expect(bodies.every((b) => typeof b.text === 'string' && b.source === source && /^\d+\.\d+\.\d+/.test(b.version))).toBe(true);
      const all = hook.text();
      for (const secret of [...s.world.secrets, url]) expect(all).not.toContain(secret);
      expect(all).not.toMatch(/@example\.com/);
      // The webhook's own URL, a secret, never reaches the log either.
      expect(d.text()).not.toContain('s3cr3tw3bh00k');
      d.signal('SIGTERM');
      expect((await d.exited).code).toBe(0);
    } finally {
      await hook.stop();
    }
  });

  it('a second daemon on the same state file refuses to start, naming the first', { timeout: LONG }, async () => {
    d = await startDaemon(s);
    const second = await s.cli(['daemon'], { env: { HTTP_PORT: '0', SCHEDULE: '*/2 * * * * *' } });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another docker-idp-sync daemon uses the state file .*pid \d+ on /);
    expect(second.stderr).not.toMatch(/^\s+at /m);
    d.signal('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });

});
