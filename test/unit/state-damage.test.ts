import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError, stateFailure } from '../../src/state/errors.ts';
import { openState } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import { createOp } from '../support/builders.ts';

/**
 * A damaged row, a full disk or an I/O error: a StateError that names the state file (and the row)
 * and says what to do, never a TypeError or a bare SQLite message.
 */

const op = createOp;

function fresh(): { path: string; s: StateStore } {
  const path = join(mkdtempSync(join(tmpdir(), 'state-damage-')), 'state.db');
  return { path, s: openState({ path }) };
}

function failure(fn: () => unknown): StateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StateError);
    return err as StateError;
  }
  throw new Error('expected a StateError');
}

describe('damaged rows', () => {
  it.each([
    ['not JSON', '{"userName": "u1@exa'],
    ['JSON of the wrong shape', '{"userName": 42, "teams": "acme:web"}'],
    ['a record with a value of the wrong type', JSON.stringify({ userName: 'u1@example.com', givenName: null, familyName: null, active: 'yes', role: 'member', org: 'acme', team: null, teams: [] })],
  ])('links.applied that is %s: names the table, the row and the way out', (_what, text) => {
    const { path, s } = fresh();
    const run = s.startRun('okta', false);
    s.recordUserSuccess(run, op(1), 'd1', 'created');
    s.db.prepare("UPDATE links SET applied = ? WHERE idp_id = 'u1'").run(text);
    const err = failure(() => s.links());
    expect(err.reason).toBe('damaged');
    expect(err.message).toContain(path);
    expect(err.message).toContain('table links, idp_id "u1", column applied');
    expect(err.hint).toContain('state rebuild');
    // Every path that reads the row says the same, writes included.
    expect(failure(() => s.recordUserSuccess(run, op(1), 'd1', null)).reason).toBe('damaged');
    s.close();
  });

  it('a journal detail that is not JSON: the recovery check names the journal row', () => {
    const { path, s } = fresh();
    const run = s.startRun('okta', false);
    s.recordStart(run, op(1));
    s.recordFailure(run, op(1), { code: 'DOCKER_TIMEOUT', message: 'timed out' });
    const seq = (s.db.prepare("SELECT max(seq) AS seq FROM journal WHERE status = 'failed'").get() as { seq: number }).seq;
    s.db.prepare('UPDATE journal SET detail = ? WHERE seq = ?').run('DOCKER_TIMEOUT: timed out', seq);
    const err = failure(() => s.interruptedWrites());
    expect(err.message).toContain(`${path} has a damaged row: table journal, seq ${seq}, column detail is not valid JSON`);
    expect(err.hint).toContain('state rebuild');
    expect(failure(() => s.journalOf(run)).reason).toBe('damaged');
    s.close();
  });

  it('a run lock row that is not a lock: refused rather than guessed at', () => {
    const { s } = fresh();
    s.setMeta('run-lock', 'held by me');
    const err = failure(() => s.acquireRunLock('test'));
    expect(err.message).toContain('table meta, key "run-lock", column value is not valid JSON');
    s.close();
  });

  it('a run summary that is not JSON: status names the run', () => {
    const { s } = fresh();
    const run = s.startRun('okta', false);
    s.db.prepare('UPDATE runs SET summary = ? WHERE id = ?').run('12 ok', run);
    expect(failure(() => s.recentRuns()).message).toContain(`table runs, id "${run}", column summary is not valid JSON`);
    s.close();
  });
});

describe('a full disk and an I/O error', () => {
  it('SQLITE_FULL on a journal write: "the disk holding <path> is full", with what to do', () => {
    const { path, s } = fresh();
    const run = s.startRun('okta', false);
    // The file may not grow by a single page: as a full disk would do.
    s.db.pragma(`max_page_count = ${s.db.pragma('page_count', { simple: true }) as number}`);
    const err = failure(() => {
      for (let n = 0; n < 10_000; n++) s.recordStart(run, op(n));
    });
    expect(err.reason).toBe('full');
    expect(err.message).toContain(`the disk holding the state file ${path} is full`);
    expect(err.hint).toMatch(/free space/);
    expect(err.describe()).not.toMatch(/\n\s+at /); // no stack trace in what the admin reads
    s.close();
  });

  it.each(['SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC'])('%s: an I/O error on <path>, check the disk', (code) => {
    const err = stateFailure(Object.assign(new Error('disk I/O error'), { code }), '/data/state.db', 'write state');
    expect(err.reason).toBe('io');
    expect(err.message).toBe(`an I/O error on the state file /data/state.db (${code}: disk I/O error)`);
    expect(err.operation).toBe('write state');
    expect(err.hint).toMatch(/check the disk/);
  });
});
