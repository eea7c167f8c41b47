import { describe, expect, it } from 'vitest';
import { isStale, readiness } from '../../src/daemon/health.ts';
import { scheduleIntervalMs, scheduleProblem } from '../../src/daemon/schedule.ts';

const now = new Date('2026-12-06T12:00:00Z');
const ago = (min: number) => new Date(now.getTime() - min * 60_000);

describe('/readyz', () => {
  const base = { stateOpen: true, lastRun: { status: 'succeeded' as const, at: ago(5) }, lastSuccess: ago(5), staleAfterMs: 45 * 60_000 };

  it('is ready after a recent success', () => {
    expect(readiness(base, now)).toEqual({ ok: true, reasons: [] });
  });

  it.each([
    ['the last run failed', { lastRun: { status: 'failed' as const, at: ago(1) } }, /last run failed/],
    ['no success within STALE_AFTER', { lastSuccess: ago(46), lastRun: { status: 'succeeded' as const, at: ago(46) } }, /no run has succeeded for 2760 s/],
    ['no success yet', { lastSuccess: null, lastRun: null }, /no run has succeeded yet/],
    ['the state file is closed', { stateOpen: false }, /state file/],
  ])('is not ready when %s', (_what, over, reason) => {
    const v = readiness({ ...base, ...over }, now);
    expect(v.ok).toBe(false);
    expect(v.reasons.join('\n')).toMatch(reason);
  });

  it('a held run is a success: the guard did its job', () => {
    expect(readiness({ ...base, lastRun: { status: 'held', at: ago(1) } }, now).ok).toBe(true);
  });

  it('staleness counts from the start when nothing has succeeded yet', () => {
    expect(isStale(null, ago(10), 45 * 60_000, now)).toBe(false);
    expect(isStale(null, ago(50), 45 * 60_000, now)).toBe(true);
    expect(isStale(ago(44), ago(500), 45 * 60_000, now)).toBe(false);
  });
});

describe('SCHEDULE', () => {
  it.each([
    ['*/15 * * * *', 15 * 60_000],
    ['0 * * * *', 60 * 60_000],
    ['*/5 * * * * *', 5_000],
    // Uneven: 02:00 and 14:00 → a 12 h gap both ways; 1,2 * → the longest gap is 58 min.
    ['0 2,14 * * *', 12 * 3600_000],
    ['1,2 * * * *', 59 * 60_000],
  ])('%s has a longest gap of %i ms', (expr, ms) => {
    expect(scheduleIntervalMs(expr, 'UTC')).toBe(ms);
  });

  it('a bad expression says which field is wrong', () => {
    expect(scheduleProblem('*/15 * * * *')).toBeNull();
    expect(scheduleProblem('61 * * * *')).toMatch(/minute/);
    expect(scheduleProblem('every day')).not.toBeNull();
  });
});
