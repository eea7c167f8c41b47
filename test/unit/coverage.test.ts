import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/schema.ts';
import { chooseCoverage, incrementalLimit, type CoverageInput } from '../../src/run/coverage.ts';

const NOW = new Date('2026-12-06T12:00:00Z');
const H = 3_600_000;
const base: CoverageInput = {
  requested: 'incremental',
  hasFeed: true,
  mark: { cursor: 'c1', fullAt: new Date(NOW.getTime() - 2 * H).toISOString(), verifiedAt: new Date(NOW.getTime() - 1 * H).toISOString() },
  now: NOW,
  fullSyncEveryMs: 24 * H,
  verifyEveryMs: 6 * H,
  interrupted: false,
  reviewed: false,
};
const at = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

describe('full or incremental (run/coverage.ts)', () => {
  it('follows the feed while the last full run is recent and nothing needs recovering', () => {
    expect(chooseCoverage(base)).toEqual({ mode: 'incremental', cursor: 'c1', listDocker: false });
  });

  it('a full run is what `sync` does unless asked, and it gives no reason', () => {
    expect(chooseCoverage({ ...base, requested: 'full' })).toEqual({ mode: 'full' });
  });

  it.each([
    ['no cursor yet', { mark: { ...base.mark, cursor: null } }, /no full run has succeeded/],
    ['no full run yet', { mark: { ...base.mark, fullAt: null } }, /no full run has succeeded/],
    ['the full run is due', { mark: { ...base.mark, fullAt: at(24 * H) } }, /FULL_SYNC_EVERY=1d/],
    ['a clock that went backwards', { mark: { ...base.mark, fullAt: at(-H) } }, /FULL_SYNC_EVERY/],
    ['FULL_SYNC_EVERY=0', { fullSyncEveryMs: 0 }, /FULL_SYNC_EVERY=0/],
    ['a run left writes unconfirmed', { interrupted: true }, /unconfirmed/],
    ['a saved plan is applied', { reviewed: true }, /saved plan/],
    ['the source has no feed', { hasFeed: false }, /no change feed/],
  ] as const)('reads everything when %s, and says why', (_, change, reason) => {
    const c = chooseCoverage({ ...base, ...change } as CoverageInput);
    expect(c.mode).toBe('full');
    expect(c.mode === 'full' && c.reason).toMatch(reason);
  });

  it('lists Docker whole when VERIFY_EVERY has passed, or it never was', () => {
    expect(chooseCoverage({ ...base, mark: { ...base.mark, verifiedAt: at(6 * H) } })).toMatchObject({ mode: 'incremental', listDocker: true });
    expect(chooseCoverage({ ...base, mark: { ...base.mark, verifiedAt: null } })).toMatchObject({ mode: 'incremental', listDocker: true });
    expect(chooseCoverage({ ...base, verifyEveryMs: 0 })).toMatchObject({ mode: 'incremental', listDocker: true });
  });

  it('reads users one by one only while that is cheaper than a full read, and never fewer than 20', () => {
    expect(incrementalLimit(0)).toBe(20);
    expect(incrementalLimit(8_000)).toBe(20);
    expect(incrementalLimit(100_000)).toBe(250);
  });

  it('durations print as they are configured', () => {
    expect(formatDuration(parseDuration('1h30m') as number)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(24 * H)).toBe('1d');
  });
});
