import { describe, expect, it } from 'vitest';
import { changeOffsetsMs, landingDeadlineMs } from '../../bench/freshness.ts';
import { isQuietLog } from '../../bench/measure.ts';
import { parseRunMode, RunTracker, runAt } from '../../bench/product-log.ts';

/** The product's log lines as src/logging/logger.ts writes them: JSON, level as a label, ISO time, runId on a run's lines. */
const line = (o: Record<string, unknown>) => JSON.stringify({ level: 'info', time: '2026-12-06T12:00:00.000Z', ...o });
const cost = (runId: string) => line({ runId, msg: 'run cost', cost: { wallMs: { read: 100, plan: 5, apply: 50 }, cpuMs: { read: 80, plan: 4, apply: 30 }, processCpuMs: 900, maxRssMb: 180 } });
const incremental = (runId: string, users: number) =>
  line({ runId, feedEntries: 14, named: users, drifted: 0, idpUsers: users, unassigned: 0, idpRequests: 9, dockerUsers: users - 1, dockerListed: false, msg: `incremental read: ${users} user${users === 1 ? '' : 's'} to reconcile` });
const everything = (runId: string, reason: string) => line({ runId, reason, msg: `reading everything: ${reason}` });

describe('how a run read the IdP, from its own log line', () => {
  it('follows the feed: the users it reconciled, the feed entries, the users named, the requests', () => {
    expect(parseRunMode(incremental('r1', 10))).toEqual({ mode: 'incremental', users: 10, feedEntries: 14, named: 10, idpRequests: 9, dockerUsers: 9 });
    expect(parseRunMode(incremental('r1', 1))).toMatchObject({ mode: 'incremental', users: 1 });
  });

  it('reads everything, and says why', () => {
    expect(parseRunMode(everything('r1', 'this source has no change feed'))).toEqual({ mode: 'full', reason: 'this source has no change feed' });
  });

  it('is not taken from any other line, nor from a pretty log', () => {
    expect(parseRunMode(line({ runId: 'r1', msg: 'reading the IdP and Docker' }))).toBeNull();
    expect(parseRunMode(line({ runId: 'r1', msg: 'run succeeded' }))).toBeNull();
    expect(parseRunMode('[12:00:00] INFO: incremental read: 3 users to reconcile')).toBeNull();
    expect(parseRunMode('not json {')).toBeNull();
  });
});

describe("the daemon's runs, from its log", () => {
  it('are told apart by runId and end with their cost line; requests and changes go to the run that ended next', () => {
    const t = new RunTracker();
    const ended: string[] = [];
    t.onRunEnd((r) => ended.push(r.runId as string));
    t.line(line({ msg: 'daemon started' }), 0);
    t.line(everything('r1', 'no full run has succeeded'), 100);
    t.line(line({ runId: 'r1', msg: 'run succeeded' }), 900);
    t.line(cost('r1'), 1_000);
    t.line(line({ msg: 'pruned 1 old run' }), 1_001);
    expect(t.current()).toBeUndefined();
    t.line(incremental('r2', 3), 10_100);
    expect(t.current()?.runId).toBe('r2');
    t.line(line({ runId: 'r2', msg: 'run succeeded' }), 10_400);
    t.line(cost('r2'), 10_500);
    expect(ended).toEqual(['r1', 'r2']);
    expect(t.runs.map((r) => [r.runId, r.mode?.mode, r.status, r.endAt, r.cost?.maxRssMb])).toEqual([
      ['r1', 'full', 'succeeded', 1_000, 180],
      ['r2', 'incremental', 'succeeded', 10_500, 180],
    ]);
    // Between two runs' ends belongs to the later run; after the last, to none yet.
    expect([runAt(t.runs, 500), runAt(t.runs, 1_000), runAt(t.runs, 1_001), runAt(t.runs, 10_500), runAt(t.runs, 10_501)]).toEqual([0, 0, 1, 1, null]);
  });

  it('ends a run that threw at the worker\'s "run failed" line, which carries no runId', () => {
    const t = new RunTracker();
    t.line(incremental('r1', 2), 100);
    t.line(JSON.stringify({ level: 'error', msg: 'run failed (1 in a row); the daemon keeps going and tries again on the next tick' }), 400);
    expect(t.runs).toEqual([{ runId: 'r1', mode: expect.objectContaining({ mode: 'incremental' }), cost: null, status: 'failed', endAt: 400 }]);
    // One that failed before it logged anything of its own is still a run.
    t.line(JSON.stringify({ level: 'error', msg: 'run failed (2 in a row); the daemon keeps going and tries again after skipping 1 tick' }), 900);
    expect(t.runs.map((r) => [r.runId, r.status, r.endAt])).toEqual([
      ['r1', 'failed', 400],
      [null, 'failed', 900],
    ]);
  });

  it('does not start a run again for a late line of one that ended', () => {
    const t = new RunTracker();
    t.line(incremental('r1', 2), 100);
    t.line(cost('r1'), 200);
    t.line(line({ runId: 'r1', msg: 'could not release the run lock' }), 250);
    expect(t.runs).toHaveLength(1);
    expect(t.current()).toBeUndefined();
  });
});

describe('the freshness step', () => {
  it('spreads its changes over one schedule gap, so they meet the schedule at different points', () => {
    expect(changeOffsetsMs(5, 10_000)).toEqual([0, 2_000, 4_000, 6_000, 8_000]);
    expect(changeOffsetsMs(1, 60_000)).toEqual([0]);
    for (const o of changeOffsetsMs(7, 10_000)) expect(o).toBeLessThan(10_000);
  });

  it('gives a change three ticks and two minutes to reach Docker before failing the step', () => {
    expect(landingDeadlineMs(10_000)).toBe(150_000);
    expect(landingDeadlineMs(60_000)).toBe(300_000);
  });
});

describe('a failed run keeps its last words', () => {
  it("drops the product's routine lines, logged with the level as a label or a number", () => {
    expect(isQuietLog(line({ msg: 'reading the IdP and Docker' }))).toBe(true);
    expect(isQuietLog(JSON.stringify({ level: 30, msg: 'x' }))).toBe(true);
    expect(isQuietLog(JSON.stringify({ level: 'debug', msg: 'x' }))).toBe(true);
    expect(isQuietLog(JSON.stringify({ level: 'warn', msg: 'x' }))).toBe(false);
    expect(isQuietLog(JSON.stringify({ level: 'error', msg: 'x' }))).toBe(false);
    expect(isQuietLog(JSON.stringify({ level: 50, msg: 'x' }))).toBe(false);
    expect(isQuietLog('error: OKTA_API_TOKEN is not set')).toBe(false);
  });
});
