import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.ts';
import type { RunResult } from '../../src/model/result.ts';
import { StateError } from '../../src/state/errors.ts';
import { openState } from '../../src/state/open.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { createOp } from '../support/builders.ts';

const op = createOp;

describe('state store', () => {
  it('creates the file 0600 in a 0700 folder, in WAL mode', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'state-')), 'nested');
    const s = openState({ path: join(dir, 'state.db') });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    s.close();
    expect(statSync(join(dir, 'state.db')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("one person's journal, newest first, and no one else's", () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    s.recordStart(run, op(1));
    s.recordFailure(run, op(1), { code: 'DOCKER_SEATS', message: 'no seats' });
    s.recordStart(run, op(2));
    s.recordStart(run, op(1));
    s.recordUserSuccess(run, op(1), 'd1', 'created');
    expect(s.journalForUser('u1').map((r) => r.status)).toEqual(['succeeded', 'started', 'failed', 'started']);
    expect(s.journalForUser('u1', 2).map((r) => r.status)).toEqual(['succeeded', 'started']);
    expect(s.journalForUser('u2').map((r) => r.opId)).toEqual(['create:u2']);
    expect(s.db.prepare("EXPLAIN QUERY PLAN SELECT * FROM journal WHERE idp_id = ? ORDER BY seq DESC LIMIT 5").all('u1').map((r) => (r as { detail: string }).detail).join(' ')).toContain('journal_idp');
    s.close();
  });

  it('team sources: each record replaces the last whole', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    s.recordTeamSources(new Map([['g1', 'acme:dev'], ['g2', 'acme:ops']]));
    s.recordTeamSources(new Map([['g1', 'acme:dev'], ['g3', 'acme:web']]));
    expect(s.teamSources()).toEqual(new Map([['g1', 'acme:dev'], ['g3', 'acme:web']]));
    s.close();
  });

  it('interrupted writes: started without an answer, or a create that failed ambiguously', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    s.recordStart(run, op(1)); // killed before the answer
    s.recordStart(run, op(2));
    s.recordFailure(run, op(2), { code: 'DOCKER_TIMEOUT', message: 'timed out' }); // may have landed
    s.recordStart(run, op(3));
    s.recordFailure(run, op(3), { code: 'DOCKER_SEATS', message: 'no seats', status: 403 }); // refused: did not land
    s.recordStart(run, op(4));
    s.recordUserSuccess(run, op(4), 'd4', 'created'); // done
    s.recordStart(run, op(5));
    s.recordFailure(run, op(5), { code: 'DOCKER_HTTP_502', message: 'bad gateway', status: 502 });
    const pending = s.interruptedWrites();
    expect(pending.map((w) => w.opId)).toEqual(['create:u1', 'create:u2', 'create:u5']);
    expect(pending[0]?.target).toEqual(op(1).target);
    // Once closed out by a later run, they are not pending any more.
    s.recordRecovery({ links: [{ ...pending[0]!, idpId: 'u1', dockerId: 'd1', origin: 'created', userName: 'u1@example.com' }], abandoned: pending.slice(1) }, 'r2');
    expect(s.interruptedWrites()).toEqual([]);
    expect(s.links().map((l) => `${l.idpId}:${l.dockerId}:${l.origin}`)).toEqual(['u1:d1:created', 'u4:d4:created']);
    expect(s.journalOf(run).filter((j) => j.status === 'recovered' || j.status === 'abandoned').map((j) => `${j.opId}:${j.status}:${j.detail?.by}`)).toEqual([
      'create:u1:recovered:r2',
      'create:u2:abandoned:r2',
      'create:u5:abandoned:r2',
    ]);
    s.close();
  });

  it('links read back as written; the values rows repeat (teams, role, org, origin) are held once, not once a row', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    for (const n of [1, 2, 3, 4]) s.recordUserSuccess(run, op(n), `d${n}`, n === 4 ? 'adopted' : 'created');
    s.rememberTeams([1, 2, 3].map((n) => ({ idpId: `u${n}`, teams: n === 3 ? ['acme:web'] : ['acme:everyone', 'acme:web'] })));
    const links = s.links();
    expect(links.map((l) => ({ ...l, applied: { ...l.applied } }))).toEqual(
      [1, 2, 3, 4].map((n) => ({
        idpId: `u${n}`,
        dockerId: `d${n}`,
        userName: `u${n}@example.com`,
        origin: n === 4 ? 'adopted' : 'created',
        applied: { ...op(n).target, teams: n === 4 ? [] : n === 3 ? ['acme:web'] : ['acme:everyone', 'acme:web'] },
      })),
    );
    const [a, b, c, d] = links;
    expect(a?.applied.teams).toBe(b?.applied.teams);
    expect(c?.applied.teams).not.toBe(a?.applied.teams);
    // Shared, so nobody may change one: the empty list is frozen, and every list is readonly.
    expect(Object.isFrozen(d?.applied.teams)).toBe(true);
    expect(s.linksFor(['u1', 'u2'], []).map((l) => l.applied.teams)).toEqual([['acme:everyone', 'acme:web'], ['acme:everyone', 'acme:web']]);
    s.close();
  });

  it('rememberTeams adds to the applied teams once, case-insensitively', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    s.recordUserSuccess(run, op(1), 'd1', 'adopted');
    s.rememberTeams([{ idpId: 'u1', teams: ['acme:Web', 'acme:api'] }]);
    s.rememberTeams([{ idpId: 'u1', teams: ['acme:web'] }]);
    expect(s.links()[0]?.applied.teams).toEqual(['acme:Web', 'acme:api']);
    s.close();
  });

  it('a run summary counts what was applied by kind, what failed, was blocked, and the findings, with the version that ran it', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    expect(s.recentRuns(1)[0]?.summary).toEqual({ toolVersion: TOOL_VERSION });
    s.finishRun(run, 'partial', result(run, [
      { opId: 'create:u1', kind: 'create', subject: 'u1', status: 'succeeded' },
      { opId: 'create:u2', kind: 'create', subject: 'u2', status: 'succeeded' },
      { opId: 'update:u3', kind: 'update', subject: 'u3', status: 'succeeded' },
      { opId: 'deactivate:u4', kind: 'deactivate', subject: 'u4', status: 'blocked', note: 'safety-threshold' },
      { opId: 'team-add:acme:web', kind: 'team-add', subject: 'acme:web', status: 'failed', error: { code: 'DOCKER_HTTP_500', message: 'boom' } },
    ]));
    expect(s.recentRuns(1)[0]?.summary).toMatchObject({ toolVersion: TOOL_VERSION, applied: { create: 2, update: 1 }, succeeded: 3, failed: 1, blocked: 1, findings: { error: 1, warning: 0, info: 0 } });
    s.close();
  });

  it('storedRun gives back the result exactly as stored; lastFinishedRun skips runs still going or killed', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const done = s.startRun('okta', false);
    const stored = result(done, [{ opId: 'create:u1', kind: 'create', subject: 'u1', status: 'succeeded' }]);
    s.finishRun(done, 'succeeded', stored);
    const failed = s.startRun('okta', false);
    s.finishRun(failed, 'failed', null, 'okta: GET /api/v1/apps/0oa1/users failed: HTTP 500');
    expect(s.lastFinishedRun()).toMatchObject({ id: failed, status: 'failed', result: null, error: 'okta: GET /api/v1/apps/0oa1/users failed: HTTP 500' });
    s.startRun('okta', false); // still running, or killed
    s.markInterruptedRuns();
    s.startRun('okta', false);
    expect(s.lastFinishedRun()?.id).toBe(failed);
    expect(s.storedRun(done)?.result).toEqual(stored);
    // Stored compressed (gzip's magic bytes), and read back as it was.
    const raw = (s.db.prepare('SELECT result FROM runs WHERE id = ?').get(done) as { result: Buffer }).result;
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    expect(s.storedRun('no-such-run')).toBeNull();
    s.db.prepare('UPDATE runs SET result = ? WHERE id = ?').run(Buffer.from('not gzip at all'), done);
    expect(() => s.storedRun(done)).toThrow(/damaged row: table runs, id "[^"]+", column result is not valid compressed JSON/);
    // A result stored as text by an older release still reads; a damaged one is named as such.
    s.db.prepare('UPDATE runs SET result = ? WHERE id = ?').run(JSON.stringify(stored), done);
    expect(s.storedRun(done)?.result).toEqual(stored);
    s.db.prepare('UPDATE runs SET result = ? WHERE id = ?').run('{"plan": 1}', done);
    expect(() => s.storedRun(done)).toThrow(StateError);
    expect(() => s.storedRun(done)).toThrow(/damaged row: table runs, id "[^"]+", column result is not a run result/);
    s.close();
  });

  it('interruptions: a killed run\'s writes in flight and what the next run did about each; runs without any are left out', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const clean = s.startRun('okta', false);
    s.recordStart(clean, op(9));
    s.recordUserSuccess(clean, op(9), 'd9', 'created');
    s.finishRun(clean, 'succeeded', null);
    const killed = s.startRun('okta', false);
    s.recordStart(killed, op(1));
    s.recordUserSuccess(killed, op(1), 'd1', 'created');
    s.recordStart(killed, op(2));
    s.recordFailure(killed, op(2), { code: 'DOCKER_SEATS', message: 'no seats', status: 403 });
    s.recordStart(killed, op(3)); // landed, unheard
    s.recordStart(killed, op(4)); // never landed
    s.recordStart(killed, op(5)); // not looked at yet
    const [pending] = s.interruptions([clean, killed]);
    expect(pending).toMatchObject({ runId: killed, confirmed: 1, failed: 1 });
    expect(pending?.inFlight.map((w) => `${w.userName}:${w.outcome}`)).toEqual(['u3@example.com:pending', 'u4@example.com:pending', 'u5@example.com:pending']);

    s.markInterruptedRuns();
    const next = s.startRun('okta', false);
    const writes = s.interruptedWrites();
    s.recordRecovery({ links: [{ ...writes[0]!, idpId: 'u3', dockerId: 'd3', origin: 'created', userName: 'u3@example.com' }], abandoned: [writes[1]!] }, next);
    s.finishRun(next, 'succeeded', null);
    const after = s.interruptions([next, killed, clean]);
    expect(after.map((i) => i.runId)).toEqual([killed]);
    expect(after[0]?.inFlight.map((w) => `${w.userName}:${w.outcome}:${w.by ?? '-'}:${w.dockerId ?? '-'}`)).toEqual([
      `u3@example.com:recovered:${next}:d3`,
      `u4@example.com:abandoned:${next}:-`,
      'u5@example.com:pending:-:-',
    ]);
    s.close();
  });
});

function result(runId: string, results: RunResult['results']): RunResult {
  const plan: Plan = {
    schemaVersion: 1,
    source: 'okta',
    operations: [],
    memberships: [],
    findings: [{ code: 'INVALID_EMAIL', severity: 'error', subject: 'x', message: 'bad' }],
    safety: { deactivations: 0, managedUsers: 0, maxDeactivations: 25, maxDeactivationPercent: 10, tripped: false, forced: false, deactivationDisabled: false, message: null },
    counts: {
      idpUsers: 4,
      desiredActive: 4,
      dockerUsers: 0,
      managed: 0,
      operations: { 'group-create': 0, create: 2, adopt: 0, reactivate: 0, update: 1, 'team-add': 1, 'team-remove': 0, deactivate: 1 },
      blocked: 1,
      findings: { error: 1, warning: 0, info: 0 },
    },
  };
  return { runId, dryRun: false, status: 'succeeded', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', plan, results, recovered: [] };
}
