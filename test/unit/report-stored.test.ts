import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.ts';
import type { RunResult } from '../../src/model/result.ts';
import { renderReport } from '../../src/report/index.ts';
import { ReportUnavailable, storedReportInput, type StoredRunView } from '../../src/report/stored.ts';

/** `report` reprints a stored run with the input sync rendered; a run without a plan says why. */

const plan: Plan = {
  schemaVersion: 1,
  source: 'entra',
  operations: [],
  memberships: [],
  findings: [],
  safety: { deactivations: 0, managedUsers: 3, maxDeactivations: 25, maxDeactivationPercent: 10, tripped: false, forced: false, deactivationDisabled: false, message: null },
  counts: {
    idpUsers: 3,
    desiredActive: 3,
    dockerUsers: 3,
    managed: 3,
    operations: { 'group-create': 0, create: 0, adopt: 0, reactivate: 0, update: 0, 'team-add': 0, 'team-remove': 0, deactivate: 0 },
    blocked: 0,
    findings: { error: 0, warning: 0, info: 0 },
  },
};
const result: RunResult = { runId: 'r7', dryRun: false, status: 'succeeded', startedAt: '2026-03-01T10:00:00.000Z', finishedAt: '2026-03-01T10:00:05.000Z', plan, results: [], recovered: [] };
const base: StoredRunView = { id: 'r7', status: 'succeeded', startedAt: result.startedAt, finishedAt: '2026-03-01T10:00:05.100Z', error: null, result, toolVersion: '0.0.9' };

const why = (run: StoredRunView): ReportUnavailable => {
  try {
    storedReportInput(run);
  } catch (err) {
    if (err instanceof ReportUnavailable) return err;
    throw err;
  }
  throw new Error('expected ReportUnavailable');
};

describe('a stored run as a report', () => {
  it('is the input sync rendered: the plan and its results, stamped when the run finished, with the version that ran it', () => {
    const input = storedReportInput(base);
    expect(input).toEqual({ plan, result, generatedAt: result.finishedAt, dryRun: false, toolVersion: '0.0.9' });
    for (const format of ['text', 'markdown', 'json'] as const) {
      expect(renderReport(format, input)).toBe(renderReport(format, { plan, result, generatedAt: result.finishedAt, dryRun: false, toolVersion: '0.0.9' }));
    }
  });

  it('a run that failed before planning: no plan, its error and its time, and the way forward', () => {
    const err = why({ ...base, status: 'failed', result: null, error: 'okta: GET /api/v1/apps/0oa1/users failed: HTTP 500', finishedAt: '2026-03-01T10:00:02.000Z' });
    expect(err.message).toBe('run r7 failed at 2026-03-01T10:00:02.000Z without a plan to report: okta: GET /api/v1/apps/0oa1/users failed: HTTP 500');
    expect(err.hint).toContain('changed nothing in Docker');
    expect(err.describe()).toContain('status');
  });

  it('an interrupted run points at the journal `status` shows', () => {
    const err = why({ ...base, status: 'interrupted', result: null });
    expect(err.message).toContain('was interrupted before it finished');
    expect(err.hint).toContain('`docker-idp-sync status` shows its journal');
  });

  it('a run still marked running, and a rebuild, say why they have no report', () => {
    expect(why({ ...base, status: 'running', finishedAt: null, result: null }).message).toContain('has not finished');
    expect(why({ ...base, result: null }).message).toContain('stored no report: a `state rebuild` records links, not a plan');
  });
});
