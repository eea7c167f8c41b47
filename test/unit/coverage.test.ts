import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/schema.ts';
import type { Operation, Plan } from '../../src/model/plan.ts';
import type { OperationResult } from '../../src/model/result.ts';
import { chooseCoverage, incrementalLimit, unfinishedUsers, type CoverageInput } from '../../src/run/coverage.ts';
import { createOp } from '../support/builders.ts';

const NOW = new Date('2026-12-06T12:00:00Z');
const H = 3_600_000;
const base: CoverageInput = {
  requested: 'incremental',
  hasFeed: true,
  mark: { cursor: 'c1', fullAt: new Date(NOW.getTime() - 2 * H).toISOString(), verifiedAt: new Date(NOW.getTime() - 1 * H).toISOString(), retry: [] },
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

describe('whom a run leaves unfinished, for the next incremental run to read again', () => {
  const op = (n: number, extra: Partial<Operation> = {}): Operation => ({ ...createOp(n), ...extra }) as Operation;
  const team: Operation = { id: 'team-add:acme:x', kind: 'team-add', group: 'acme:x', groupId: 'g1', reason: 't', members: [{ idpId: 'u7', userName: 'u7@example.com', dockerId: 'd7' }, { idpId: 'u8', userName: 'u8@example.com', dockerId: 'd8' }] };
  const planOf = (operations: Operation[], findings: Plan['findings'] = []) => ({ operations, findings }) as unknown as Plan;
  const result = (opId: string, status: OperationResult['status']): OperationResult => ({ opId, kind: 'create', subject: opId, status });

  it('everyone with an operation that did not succeed, team members included; nobody whose operations did', () => {
    const plan = planOf([op(1), op(2), op(3), team]);
    const results = [result('create:u1', 'succeeded'), result('create:u2', 'failed'), result('create:u3', 'skipped'), result(team.id, 'failed')];
    expect(unfinishedUsers(plan, results, { deactivateConfigured: true, unreviewed: [] })).toEqual(['u2', 'u3', 'u7', 'u8']);
  });

  it('held deactivations are retried; those DEACTIVATE=false blocks are not (each full run lists them)', () => {
    const held = op(4, { kind: 'deactivate', blocked: 'safety-threshold' } as Partial<Operation>);
    const off = op(5, { kind: 'deactivate', blocked: 'deactivation-disabled' } as Partial<Operation>);
    expect(unfinishedUsers(planOf([held, off]), [], { deactivateConfigured: false, unreviewed: [] })).toEqual(['u4']);
    // --no-deactivate for one run, with DEACTIVATE=true: the next run deactivates them.
    expect(unfinishedUsers(planOf([held, off]), [], { deactivateConfigured: true, unreviewed: [] })).toEqual(['u4', 'u5']);
  });

  it('what a reviewed plan left out, and whoever a finding puts off to the next run', () => {
    const pending = { code: 'USERNAME_PENDING', severity: 'info', subject: 'x', idpId: 'u9', message: 'm' } as const;
    expect(unfinishedUsers(planOf([], [pending]), [], { deactivateConfigured: true, unreviewed: [op(6)] })).toEqual(['u6', 'u9']);
  });
});
