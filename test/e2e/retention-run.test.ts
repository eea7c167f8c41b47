import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { scenarioPerTest } from '../support/harness.ts';

/** Every real run prunes old runs by RETAIN_RUNS / RETAIN_DAYS; a dry run prunes nothing. */
describe('retention after each run', () => {
  const s = scenarioPerTest({ source: 'okta' });

  it('runs older than RETAIN_DAYS and beyond RETAIN_RUNS go, with their journal; links stay', { timeout: 180_000 }, async () => {
    for (let i = 0; i < 4; i++) expect((await s.cli(['sync'])).code).toBe(0);
    // Make every run so far four months old, as if the tool had run since the summer.
    const db = new BetterSqlite3(s.stateDb);
    db.prepare("UPDATE runs SET started_at = '2026-08-01T00:00:00.000Z', finished_at = '2026-08-01T00:01:00.000Z'").run();
    db.close();
    const before = s.state((st) => ({ runs: st.recentRuns(100).length, links: st.linkCount() }));
    expect(before).toEqual({ runs: 4, links: 6 });

    expect((await s.cli(['sync', '--dry-run'], { env: { RETAIN_RUNS: '1', RETAIN_DAYS: '30' } })).code).toBe(0);
    expect(s.state((st) => st.recentRuns(100).length)).toBe(4);

    const run = await s.cli(['sync'], { env: { RETAIN_RUNS: '1', RETAIN_DAYS: '30' } });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/pruned \d+ old runs? and \d+ journal rows/);
    const after = s.state((st) => ({ ids: st.recentRuns(100).map((r) => r.id), links: st.linkCount() }));
    // Only this run: it is the newest (RETAIN_RUNS=1) and the last success; the old ones are gone.
    expect(after.ids).toEqual([s.state((st) => st.recentRuns(1)[0]?.id)]);
    expect(after.ids[0]?.startsWith('2026')).toBe(true);
    expect(s.state((st) => st.recentRuns(1)[0]?.startedAt)).not.toMatch(/^2026-08-01/);
    expect(after.links).toBe(6);
    expect((await s.sync()).writes).toBe(0);
  });
});
