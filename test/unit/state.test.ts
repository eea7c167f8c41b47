import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CreateOperation } from '../../src/model/plan.ts';
import { openState } from '../../src/state/open.ts';

const op = (n: number): CreateOperation => ({
  id: `create:u${n}`,
  kind: 'create',
  idpId: `u${n}`,
  userName: `u${n}@example.com`,
  reason: 'test',
  target: { userName: `u${n}@example.com`, givenName: 'U', familyName: String(n), active: true, role: 'member', org: 'acme', team: null },
});

describe('state store', () => {
  it('creates the file 0600 in a 0700 folder, in WAL mode', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'state-')), 'nested');
    const s = openState({ path: join(dir, 'state.db') });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    s.close();
    expect(statSync(join(dir, 'state.db')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
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

  it('rememberTeams adds to the applied teams once, case-insensitively', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    s.recordUserSuccess(run, op(1), 'd1', 'adopted');
    s.rememberTeams([{ idpId: 'u1', teams: ['acme:Web', 'acme:api'] }]);
    s.rememberTeams([{ idpId: 'u1', teams: ['acme:web'] }]);
    expect(s.links()[0]?.applied.teams).toEqual(['acme:Web', 'acme:api']);
    s.close();
  });
});
