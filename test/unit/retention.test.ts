import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../../src/model/result.ts';
import { openState } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import { createOp } from '../support/builders.ts';

/**
 * Retention: a run is pruned only when it is both older than RETAIN_DAYS and beyond the newest
 * RETAIN_RUNS, and never when recovery, readiness or the caller still need it. A fake clock
 * stands for the days going by.
 */

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const op = createOp;

interface Fixture {
  state: StateStore;
  /** Days since T0 on the store's clock. */
  at(day: number): void;
  now(): Date;
  /** A run started on `day` with one journaled create, finished with `status` (or left running). */
  run(day: number, status: RunStatus | 'running', n?: number): string;
}

function fixture(): Fixture {
  let now = T0;
  const state = openState({ path: join(mkdtempSync(join(tmpdir(), 'retention-')), 'state.db'), clock: () => new Date(now) });
  let users = 0;
  return {
    state,
    at: (day) => (now = T0 + day * DAY),
    now: () => new Date(now),
    run(day, status, n = users++) {
      now = T0 + day * DAY;
      const id = state.startRun('okta', false);
      state.recordStart(id, op(n));
      state.recordUserSuccess(id, op(n), `d${n}`, 'created');
      if (status !== 'running') state.finishRun(id, status, null);
      return id;
    },
  };
}

const runIds = (s: StateStore) => s.recentRuns(1000).map((r) => r.id);
const journalRuns = (s: StateStore) => new Set((s.db.prepare('SELECT DISTINCT run_id FROM journal').all() as Array<{ run_id: string }>).map((r) => r.run_id));

describe('retention (StateStore.prune)', () => {
  it('deletes the runs, and their journal rows, that are both older than retainDays and beyond the newest retainRuns', () => {
    const f = fixture();
    const ids = Array.from({ length: 10 }, (_, day) => f.run(day, 'succeeded'));
    f.at(9.5);
    const links = f.state.links();
    const pruned = f.state.prune({ retainRuns: 3, retainDays: 5 });
    // Older than 5 days: days 0–4. Beyond the newest 3: days 0–6. Both: days 0–4.
    expect(pruned).toEqual({ runs: 5, journal: 10 });
    expect(runIds(f.state)).toEqual(ids.slice(5).reverse());
    expect([...journalRuns(f.state)].sort()).toEqual(ids.slice(5).sort());
    // Links are another table: every one stays.
    expect(f.state.links()).toEqual(links);
    f.state.close();
  });

  it('keeps every run younger than retainDays, however many there are', () => {
    const f = fixture();
    for (let day = 0; day < 10; day++) f.run(day, 'succeeded');
    f.at(9.5);
    expect(f.state.prune({ retainRuns: 1, retainDays: 30 })).toEqual({ runs: 0, journal: 0 });
    expect(runIds(f.state)).toHaveLength(10);
    f.state.close();
  });

  it('keeps the newest retainRuns runs, however old they are', () => {
    const f = fixture();
    for (let day = 0; day < 10; day++) f.run(day, 'succeeded');
    f.at(400);
    expect(f.state.prune({ retainRuns: 10, retainDays: 1 })).toEqual({ runs: 0, journal: 0 });
    expect(f.state.prune({ retainRuns: 9, retainDays: 1 })).toEqual({ runs: 1, journal: 2 });
    f.state.close();
  });

  it('a run exactly retainDays old is kept; one a millisecond older is not', () => {
    const f = fixture();
    const old = f.run(0, 'succeeded');
    const edge = f.run(1, 'succeeded');
    f.run(2, 'succeeded');
    f.state.prune({ retainRuns: 1, retainDays: 1, now: new Date(T0 + 2 * DAY) });
    expect(runIds(f.state)).not.toContain(old);
    expect(runIds(f.state)).toContain(edge);
    f.state.prune({ retainRuns: 1, retainDays: 1, now: new Date(T0 + 2 * DAY + 1) });
    expect(runIds(f.state)).not.toContain(edge);
    f.state.close();
  });

  it('always keeps the last successful run, even when old and far down the list', () => {
    const f = fixture();
    f.run(0, 'succeeded');
    const success = f.run(1, 'succeeded');
    for (let day = 2; day < 10; day++) f.run(day, day % 2 ? 'failed' : 'partial');
    f.run(10, 'held');
    f.at(100);
    f.state.prune({ retainRuns: 2, retainDays: 1 });
    const kept = f.state.recentRuns(100);
    expect(kept.map((r) => r.status)).toEqual(['held', 'failed', 'succeeded']);
    expect(kept.at(-1)?.id).toBe(success);
    f.state.close();
  });

  it('keeps an interrupted run while its journal has a write of unknown fate, and prunes it once a later run resolved it', () => {
    const f = fixture();
    const killed = f.run(0, 'running');
    f.state.recordStart(killed, op(100)); // sent, never answered
    const timedOut = f.run(1, 'partial');
    f.state.recordStart(timedOut, op(101));
    f.state.recordFailure(timedOut, op(101), { code: 'DOCKER_TIMEOUT', message: 'timed out' }); // may have landed
    const refused = f.run(2, 'partial');
    f.state.recordStart(refused, op(102));
    f.state.recordFailure(refused, op(102), { code: 'DOCKER_SEATS', message: 'no seats', status: 403 }); // did not land
    f.at(3);
    expect(f.state.markInterruptedRuns()).toEqual([killed]);
    for (let day = 3; day < 6; day++) f.run(day, 'succeeded');
    f.at(200);

    f.state.prune({ retainRuns: 1, retainDays: 1 });
    expect(runIds(f.state)).toEqual(expect.arrayContaining([killed, timedOut]));
    expect(runIds(f.state)).not.toContain(refused);
    expect(f.state.interruptedWrites().map((w) => w.opId).sort()).toEqual(['create:u100', 'create:u101']);

    const pending = f.state.interruptedWrites();
    f.state.recordRecovery({ links: [], abandoned: pending }, 'later');
    f.state.prune({ retainRuns: 1, retainDays: 1 });
    expect(runIds(f.state)).not.toContain(killed);
    expect(runIds(f.state)).not.toContain(timedOut);
    f.state.close();
  });

  it('never deletes a run still marked running (it may be going on now), nor the calling run', () => {
    const f = fixture();
    const running = f.run(0, 'running');
    const current = f.run(1, 'succeeded');
    for (let day = 2; day < 6; day++) f.run(day, 'failed');
    f.run(6, 'succeeded');
    f.at(100);
    f.state.prune({ retainRuns: 1, retainDays: 1, current });
    expect(runIds(f.state)).toEqual(expect.arrayContaining([running, current]));
    expect(runIds(f.state)).toHaveLength(3);
    f.state.close();
  });

  it('a dry run prunes nothing (its store is a copy that is never saved)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'retention-'));
    let now = T0;
    const real = openState({ path: join(dir, 'state.db'), clock: () => new Date(now) });
    for (let day = 0; day < 5; day++) {
      now = T0 + day * DAY;
      real.finishRun(real.startRun('okta', false), 'succeeded', null);
    }
    real.close();
    const dry = openState({ path: join(dir, 'state.db'), dryRun: true });
    expect(dry.prune({ retainRuns: 1, retainDays: 1, now: new Date(T0 + 100 * DAY) })).toEqual({ runs: 0, journal: 0 });
    expect(dry.recentRuns(10)).toHaveLength(5);
    dry.close();
  });
});
