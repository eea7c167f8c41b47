import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/state/group-commit.ts';
import { openState } from '../../src/state/open.ts';
import { createOp } from '../support/builders.ts';

/**
 * The journal's group commit: records asked for in the same turn share one transaction, and each
 * caller goes on only once its record is on disk, as another connection to the file sees it.
 */
describe('group commit of journal records', () => {
  const fresh = () => {
    const path = join(mkdtempSync(join(tmpdir(), 'group-commit-')), 'state.db');
    const store = openState({ path });
    const runId = store.startRun('okta', false);
    const rows = () => {
      // Another connection: only what was committed is visible to it.
      const other = new BetterSqlite3(path, { readonly: true });
      try {
        return (other.prepare('SELECT op_id, status FROM journal ORDER BY seq').all() as Array<{ op_id: string; status: string }>).map((r) => `${r.op_id} ${r.status}`);
      } finally {
        other.close();
      }
    };
    return { store, runId, rows };
  };

  it('a record is committed before write() resolves, and the records of one turn share one commit', async () => {
    const { store, runId, rows } = fresh();
    const commit = new GroupCommit(store);
    const writes = [1, 2, 3].map((i) => commit.write(() => store.recordStart(runId, createOp(i))));
    // Asked for, not yet on disk: whoever awaits them has not been let go.
    expect(rows()).toEqual([]);
    await Promise.all(writes);
    expect(rows()).toEqual(['create:u1 started', 'create:u2 started', 'create:u3 started']);
    expect(commit.stats).toEqual({ commits: 1, records: 3 });
    await commit.write(() => store.recordUserSuccess(runId, createOp(1), 'd1', 'created'));
    expect(rows().at(-1)).toBe('create:u1 succeeded');
    expect(commit.stats).toEqual({ commits: 2, records: 4 });
    store.close();
  });

  it('a record that fails fails alone; the others of its commit land', async () => {
    const { store, runId, rows } = fresh();
    const commit = new GroupCommit(store);
    const ok = commit.write(() => store.recordStart(runId, createOp(1)));
    const bad = commit.write(() => {
      store.recordStart(runId, createOp(2));
      throw new Error('a damaged row');
    });
    const after = commit.write(() => store.recordStart(runId, createOp(3)));
    await expect(bad).rejects.toThrow('a damaged row');
    await ok;
    await after;
    // The failed record's own statements were rolled back with its savepoint.
    expect(rows()).toEqual(['create:u1 started', 'create:u3 started']);
    store.close();
  });

  it('when the transaction itself fails (the disk is full), every record of it is refused and none is on disk', async () => {
    const { store, runId, rows } = fresh();
    const commit = new GroupCommit(store);
    store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
    const detail = { padding: 'x'.repeat(3000) };
    const writes = Array.from({ length: 20 }, (_, i) => commit.write(() => store.recordStart(runId, createOp(i + 1), detail)));
    const settled = await Promise.allSettled(writes);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(String((settled[0] as PromiseRejectedResult).reason.message)).toMatch(/full/);
    expect(rows()).toEqual([]);
    store.close();
  });
});
