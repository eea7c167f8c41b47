import { describe, expect, it } from 'vitest';
import { AlertPolicy, type RunSummary } from '../../src/daemon/alerts.ts';

const run = (status: RunSummary['status'], over: Partial<RunSummary> = {}): RunSummary => ({ runId: 'r', status, applied: 0, failed: 0, held: 0, ...over });
const events = (p: AlertPolicy, runs: RunSummary[]) => runs.flatMap((r) => p.runFinished(r).map((a) => a.event));

describe('when the daemon alerts', () => {
  it('a failure is sent once, not on every failing run, and recovery once when a run works again', () => {
    const p = new AlertPolicy({ source: 'okta', notifyOnChanges: false });
    expect(events(p, [run('succeeded'), run('failed', { error: 'okta: 401' }), run('failed'), run('failed'), run('succeeded'), run('succeeded')])).toEqual(['failure', 'recovered']);
  });

  it('a run with failed operations counts as failing; a held run in between does not end a failure episode', () => {
    const p = new AlertPolicy({ source: 'okta', notifyOnChanges: false });
    expect(events(p, [run('partial', { failed: 2 }), run('failed'), run('partial')])).toEqual(['failure']);
    expect(events(p, [run('held', { held: 9 })])).toEqual(['recovered', 'hold']);
  });

  it('a safety hold is sent once per episode', () => {
    const p = new AlertPolicy({ source: 'okta', notifyOnChanges: false });
    expect(events(p, [run('held', { held: 30 }), run('held', { held: 30 }), run('succeeded'), run('held', { held: 31 })])).toEqual(['hold', 'hold']);
  });

  it('changes only when asked for (NOTIFY_ON=changes), and only for runs that applied something', () => {
    const quiet = new AlertPolicy({ source: 'okta', notifyOnChanges: false });
    expect(events(quiet, [run('succeeded', { applied: 3 })])).toEqual([]);
    const chatty = new AlertPolicy({ source: 'okta', notifyOnChanges: true });
    expect(events(chatty, [run('succeeded', { applied: 0 }), run('succeeded', { applied: 3 })])).toEqual(['changes']);
  });

  it('staleness is sent once, and again only after a success', () => {
    const p = new AlertPolicy({ source: 'entra', notifyOnChanges: false });
    const t = new Date('2026-12-06T10:00:00Z');
    expect(p.staleness(false, t, 45 * 60_000)).toEqual([]);
    expect(p.staleness(true, t, 45 * 60_000).map((a) => a.event)).toEqual(['stale']);
    expect(p.staleness(true, t, 45 * 60_000)).toEqual([]);
    p.runFinished(run('succeeded'));
    expect(p.staleness(true, t, 45 * 60_000).map((a) => a.event)).toEqual(['stale']);
  });

  it('staleness without a failure (runs too slow) is followed by a recovery once a run succeeds', () => {
    const p = new AlertPolicy({ source: 'okta', notifyOnChanges: false });
    expect(p.staleness(true, new Date('2026-12-06T10:00:00Z'), 45 * 60_000).map((a) => a.event)).toEqual(['stale']);
    expect(events(p, [run('succeeded'), run('succeeded')])).toEqual(['recovered']);
  });

  it('the text says what happened and what to do, with the error given', () => {
    const p = new AlertPolicy({ source: 'okta', notifyOnChanges: false });
    const [failure] = p.runFinished(run('failed', { error: 'okta: GET /api/v1/apps/0oa1/users answered 401' }));
    expect(failure?.text).toContain('okta: GET /api/v1/apps/0oa1/users answered 401');
    expect(failure?.text).toContain('retries on the next tick');
    const hold = p.runFinished(run('held', { held: 12 })).find((a) => a.event === 'hold');
    expect(hold?.text).toMatch(/held back 12 deactivations/);
  });
});
