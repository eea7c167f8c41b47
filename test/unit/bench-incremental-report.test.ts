import { describe, expect, it } from 'vitest';
import { benchResultOf } from '../support/bench-result.ts';
import type { SystemCounts } from '../../bench/counts.ts';
import { runFloor, windowShare } from '../../bench/floor.ts';
import { freshnessFigures, fullRunOf, median } from '../../bench/incremental-figures.ts';
import type { ProductCost } from '../../bench/measure.ts';
import type { RunModeSeen } from '../../bench/product-log.ts';
import { incrementalNotes } from '../../bench/report-incremental.ts';
import { growthNotes, renderWorkload, targetRows } from '../../bench/report.ts';
import type { BenchResult, DaemonRun, FreshnessResult, StepResult } from '../../bench/result.ts';

/**
 * How the incremental and freshness workloads are reported and judged: a run that read everything
 * is never counted as incremental, requests are a share of a full run's (the re-run's when it was
 * measured), and freshness is what was measured and what a one-minute schedule makes of it.
 */

const cost = (cpuS: number, rssMb = 200, planMs = 10): ProductCost => ({
  wallMs: { read: 300, plan: planMs, apply: 200 },
  cpuMs: { read: 200, plan: planMs, apply: cpuS * 1000 - 200 - planMs },
  processCpuMs: cpuS * 1000,
  maxRssMb: rssMb,
});

const counts = (system: 'docker' | 'okta', calls: number, throttled = 0): SystemCounts => ({
  system,
  requests: calls,
  reads: calls,
  writes: 0,
  calls,
  throttled,
  answered: calls - throttled,
  byKind: {},
  used: system === 'docker' ? { requests: calls } : { apps: calls },
});

const INC: RunModeSeen = { mode: 'incremental', users: 10, feedEntries: 12, named: 10, idpRequests: 20, dockerUsers: 9 };
const FULL: RunModeSeen = { mode: 'full', reason: 'the change feed\'s cursor is no longer valid (expired)' };

function step(over: Partial<StepResult>): StepResult {
  return { workload: 'incremental', source: 'okta', users: 100_000, paced: true, exitCode: 0, wallS: 1.5, cost: cost(1.2), emulatorCpuS: 0.1, systems: [counts('docker', 20), counts('okta', 20)], floor: null, ratio: null, ...over };
}

const rerun = step({ workload: 'rerun', systems: [counts('docker', 501), counts('okta', 251)], cost: cost(11) });
const tenChanges = step({ variant: '10 changes', mode: INC, change: { renamed: 3, roleChanged: 2, unassigned: 2, joined: 2, left: 0, assigned: 1, users: 10 } });
const idle = step({ variant: 'nothing changed', mode: { ...INC, users: 0, named: 0, feedEntries: 0 }, systems: [counts('okta', 1)], cost: cost(0.9) });

function run(over: Partial<DaemonRun>): DaemonRun {
  return { runId: 'r', status: 'succeeded', mode: INC, wallS: 0.5, cpuS: 0.2, maxRssMb: 210, calls: 30, systems: [], windowShare: 0.3, ...over };
}

const fresh: FreshnessResult = {
  schedule: '*/10 * * * * *',
  gapS: 10,
  runs: [run({ calls: 1, wallS: 0.2 }), run({ calls: 30, wallS: 0.8 }), run({ calls: 12, wallS: 0.4 }), run({ calls: 1 })],
  changes: [
    { kind: 'renamed', userName: 'a@x', madeAtS: 0, seconds: 9.1, run: 1 },
    { kind: 'roleChanged', userName: 'b@x', madeAtS: 2, seconds: 7.1, run: 1 },
    { kind: 'unassigned', userName: 'c@x', madeAtS: 4, seconds: 5.2, run: 1 },
    { kind: 'joined', userName: 'd@x', madeAtS: 6, seconds: 13.0, run: 2 },
    { kind: 'assigned', userName: 'e@x', madeAtS: 8, seconds: 11.0, run: 2 },
  ],
  exitCode: 0,
};
const daemon = step({ workload: 'freshness', freshness: fresh, cost: cost(0.3, 230) });

function result(steps: Record<string, StepResult[]>): BenchResult {
  return benchResultOf(['rerun', 'incremental', 'freshness'].map((id) => ({ id, title: id, steps: steps[id] ?? [] })));
}

const freshnessTarget = (r: BenchResult) => targetRows(r).find((t) => t.target.startsWith('an IdP change')) as { measured: string; met: boolean | null };

describe('an incremental run in the report', () => {
  it('is compared with the measured re-run of its source and size', () => {
    const r = result({ rerun: [rerun], incremental: [tenChanges] });
    expect(fullRunOf(r, 'okta', 100_000)).toEqual({ calls: 752, from: 'the re-run with nothing changed' });
    const [note] = incrementalNotes([tenChanges], r);
    expect(note).toBe(
      'okta 100,000 (10 changes): incremental: 10 users to reconcile (12 feed entries, 10 named), 20 IdP requests, 9 Docker accounts looked up; 40 requests in all, 5.3 % of a full run\'s (752, the re-run with nothing changed).',
    );
  });

  it('is compared with the full read that primed the cursor when no re-run was measured, and says so', () => {
    const primed = step({ ...tenChanges, fullReference: { calls: 800, writes: 0, from: 'the unmeasured priming run' } });
    const r = result({ incremental: [primed] });
    expect(fullRunOf(r, 'okta', 100_000)).toEqual({ calls: 800, from: 'the unmeasured priming run' });
    expect(incrementalNotes([primed], r)[0]).toContain('5.0 % of a full run\'s (800, the unmeasured priming run)');
    // The measured re-run wins over the unmeasured priming run.
    expect(fullRunOf(result({ rerun: [rerun], incremental: [primed] }), 'okta', 100_000)?.from).toBe('the re-run with nothing changed');
    // Another source or size is no yardstick.
    expect(fullRunOf(result({ rerun: [step({ ...rerun, source: 'entra' })] }), 'okta', 100_000)).toBeNull();
  });

  it('that read everything is shown as such, with its reason, and not as an incremental share', () => {
    const fell = step({ ...tenChanges, mode: FULL, changes: [{ kind: 'renamed', userName: 'a@x', landed: true }] });
    const [note] = incrementalNotes([fell], result({ rerun: [rerun] }));
    expect(note).toContain("**read everything, not incremental**: the change feed's cursor is no longer valid (expired)");
    expect(note).toContain("a full run's, not an incremental one's");
    expect(note).not.toMatch(/% of a full run/);
    expect(note).toContain("1 of 1 changes in Docker's store after the run.");
    const silent = incrementalNotes([step({ ...tenChanges, mode: null })], null)[0];
    expect(silent).toContain('**not counted as incremental**');
  });

  it('has a column naming its steps, and its ratio shown but not held to the target', () => {
    const floor = runFloor([{ system: 'docker', requests: 20, latencyMs: 20, concurrency: 4, buckets: [] }]);
    const md = renderWorkload({ id: 'incremental', title: 'Incremental', steps: [{ ...tenChanges, floor, ratio: 15 }, idle] }, result({ rerun: [rerun] }));
    expect(md).toContain('| source | users | run | wall s (run) |');
    expect(md).toContain('| okta | 100,000 | 10 changes | 1.5 (0.5) | 0.1 | 15.00 (not held) |');
    expect(md).toContain('| okta | 100,000 | nothing changed |');
    expect(md).toContain('okta (10 changes): changed 10 users: 3 renamed, 2 new roles, 2 unassigned, 2 joined a team group, 1 newly assigned.');
    // Two steps at one size are no growth series.
    expect(md).not.toContain('×1');
  });
});

describe('freshness figures', () => {
  it('take the worst and the median over the changes, and the carrying runs only', () => {
    const x = freshnessFigures(fresh, { calls: 750, from: 'rerun' });
    expect(x.worstS).toBe(13.0);
    expect(x.medianS).toBe(9.1);
    expect(x.carriers).toEqual([1, 2]);
    expect(x.runWallS).toBe(0.8);
    expect(x.runCalls).toBe(30);
    expect(x.share).toBe(30 / 750);
    expect(x.fullReads).toEqual([]);
  });

  it('turn the run time into what a one-minute schedule gives: the whole minute plus the longest carrying run', () => {
    const x = freshnessFigures(fresh, null);
    expect(x.minuteWorstS).toBeCloseTo(60.8, 6);
    expect(x.minuteMeanS).toBeCloseTo(30.8, 6);
    expect(x.share).toBeNull();
  });

  it('name a carrying run that read everything, and leave out changes that never arrived', () => {
    const f: FreshnessResult = {
      ...fresh,
      runs: fresh.runs.map((r, i) => (i === 2 ? { ...r, mode: FULL } : r)),
      changes: [...fresh.changes.slice(0, 4), { kind: 'assigned', userName: 'e@x', madeAtS: 8, seconds: null, run: null }],
    };
    const x = freshnessFigures(f, null);
    expect(x.fullReads).toEqual([FULL.reason]);
    expect(x.unseen).toBe(1);
    expect(x.medianS).toBeCloseTo((7.1 + 9.1) / 2, 6);
  });

  it('has a median of the middle value, or of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('are rendered per change with the run that carried it, and the one-minute estimate in words', () => {
    const md = renderWorkload({ id: 'freshness', title: 'Daemon', steps: [daemon] }, result({ rerun: [rerun], freshness: [daemon] }));
    expect(md).toContain('| okta | 100,000 | joined: d@x | 6.0 | 13.0 | #3 of 4 | incremental, 10 users | 0.40 | 12 (1.6 %) |');
    expect(md).toContain('13.0 s at worst, median 9.1 s, over 5 changes');
    expect(md).toContain('With SCHEDULE every minute, as in production: at most 60 s + 0.80 s (the longest run that carried a change) = **60.8 s**');
    expect(md).toContain('exited 0 after SIGTERM');
    expect(md).toContain('Each drew at most 30 % of one window of its fullest rate budget, so the shortened clock did not shorten it.');
  });

  it('say so when a carrying run drew more than one window of a budget: the shortened clock then flatters it', () => {
    const busy = step({ ...daemon, freshness: { ...fresh, runs: fresh.runs.map((r, i) => (i === 2 ? { ...r, windowShare: 1.4 } : r)) } });
    expect(freshnessFigures(busy.freshness as FreshnessResult, null).windowShare).toBe(1.4);
    const md = renderWorkload({ id: 'freshness', title: 'Daemon', steps: [busy] }, null);
    expect(md).toContain('One drew 140 % of one window of a rate budget');
    // Runs that carried nothing do not count.
    const idleBusy = step({ ...daemon, freshness: { ...fresh, runs: fresh.runs.map((r, i) => (i === 3 ? { ...r, windowShare: 2 } : r)) } });
    expect(freshnessFigures(idleBusy.freshness as FreshnessResult, null).windowShare).toBe(0.3);
  });

  it('measure a run against its fullest budget: the share of one window it drew', () => {
    expect(
      windowShare([
        { system: 'okta', requests: 30, latencyMs: 20, concurrency: 4, buckets: [{ name: 'apps', used: 20, perWindow: 50, windowMs: 6_000 }, { name: 'users', used: 10, perWindow: 500, windowMs: 6_000 }] },
        { system: 'docker', requests: 12, latencyMs: 20, concurrency: 4, buckets: [{ name: 'requests', used: 12, perWindow: 600, windowMs: 6_000 }] },
      ]),
    ).toBe(0.4);
    expect(windowShare([{ system: 'docker', requests: 12, latencyMs: 0, concurrency: 4, buckets: [] }])).toBe(0);
  });
});

describe('the targets with incremental runs', () => {
  it('meet freshness when the daemon and the one-minute estimate are within 2 minutes, every carrying run incremental, and the incremental run under 5 % of a full run', () => {
    const cheap = step({ ...tenChanges, systems: [counts('docker', 15), counts('okta', 15)] });
    const t = freshnessTarget(result({ rerun: [rerun], incremental: [cheap], freshness: [daemon] }));
    expect(t.met).toBe(true);
    expect(t.measured).toBe('okta: 13.0 s at worst measured (a tick every 10 s), ≈ 60.8 s with a tick every minute; okta incremental run after 10 changes: 4.0 % of a full run\'s requests');
  });

  it('do not, as soon as one measured part fails', () => {
    const cheap = step({ ...tenChanges, systems: [counts('docker', 15), counts('okta', 15)] });
    // 40 of 752 requests: 5.3 %.
    expect(freshnessTarget(result({ rerun: [rerun], incremental: [tenChanges], freshness: [daemon] })).met).toBe(false);
    // A carrying run that read everything.
    const fullRun = step({ ...daemon, freshness: { ...fresh, runs: fresh.runs.map((r, i) => (i === 1 ? { ...r, mode: FULL } : r)) } });
    expect(freshnessTarget(result({ rerun: [rerun], incremental: [cheap], freshness: [fullRun] })).met).toBe(false);
    // Slower than 2 minutes as measured.
    const slow = step({ ...daemon, freshness: { ...fresh, changes: fresh.changes.map((c) => ({ ...c, seconds: 121 })) } });
    expect(freshnessTarget(result({ rerun: [rerun], incremental: [cheap], freshness: [slow] })).met).toBe(false);
    // A run that carried a change for 61 s: 60 s + 61 s with a one-minute schedule.
    const long = step({ ...daemon, freshness: { ...fresh, runs: fresh.runs.map((r) => ({ ...r, wallS: 61 })) } });
    expect(freshnessTarget(result({ rerun: [rerun], incremental: [cheap], freshness: [long] })).met).toBe(false);
    // The incremental run read everything.
    expect(freshnessTarget(result({ rerun: [rerun], incremental: [step({ ...cheap, mode: FULL })], freshness: [daemon] })).met).toBe(false);
    // The daemon step failed.
    expect(freshnessTarget(result({ rerun: [rerun], incremental: [cheap], freshness: [step({ ...daemon, error: '1 of 5 changes did not reach Docker' })] })).met).toBe(false);
  });

  it('leave freshness open while a part is not measured', () => {
    expect(freshnessTarget(result({ rerun: [rerun], freshness: [daemon] })).met).toBeNull();
    expect(freshnessTarget(result({ rerun: [rerun] }))).toEqual(expect.objectContaining({ measured: 'not measured', met: null }));
  });

  it('judge "a run with nothing to do" on the incremental run when one followed the feed, with the full re-run beside it', () => {
    const rows = (steps: StepResult[]) => targetRows(result({ rerun: [rerun], incremental: steps })).find((t) => t.target.startsWith('a run with nothing')) as { measured: string; met: boolean | null };
    const quiet = rows([tenChanges, idle]);
    expect(quiet.met).toBe(true);
    expect(quiet.measured).toBe('incremental run 0.9 s at most (what the daemon runs between full reconciles); full run 11.0 s at most (a full reconcile, once every FULL_SYNC_EVERY)');
    // One that fell back to a full read is a full run, not an incremental one.
    const fell = rows([tenChanges, step({ ...idle, mode: FULL, cost: cost(1.5) })]);
    expect(fell.met).toBe(false);
    expect(fell.measured).toBe('full run 11.0 s at most');
  });

  it('do not hold an incremental run to the floor target, and count the daemon\'s 429s', () => {
    const floorRow = (r: BenchResult) => targetRows(r).find((t) => t.target.startsWith('wall time')) as { measured: string; met: boolean | null };
    const r = result({ rerun: [{ ...rerun, ratio: 1.1 }], incremental: [{ ...tenChanges, ratio: 40 }] });
    expect(floorRow(r)).toEqual(expect.objectContaining({ met: true, measured: '1.10 at worst (1 incremental run not held to it: a floor of a second or so)' }));
    const throttled = step({ ...daemon, systems: [counts('docker', 100, 3)] });
    const t429 = targetRows(result({ rerun: [rerun], freshness: [throttled] })).find((t) => t.target.startsWith('429s')) as { met: boolean | null };
    expect(t429.met).toBe(false);
  });
});

describe('growth notes', () => {
  it('compare only steps of different sizes', () => {
    expect(growthNotes([tenChanges, idle])).toEqual([]);
    expect(growthNotes([step({ users: 1_000, cost: cost(1) }), step({ users: 10_000, cost: cost(5) })])[0]).toMatch(/^okta: 1,000 → 10,000 users \(×10\): CPU ×5\.0/);
  });
});
