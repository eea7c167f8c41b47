import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDaemonLock } from '../../src/daemon/instance-lock.ts';
import { PROCESS_STARTED } from '../../src/state/holder.ts';
import { openState } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';

/** A container restarted in place runs node as pid 1 again: its predecessor's lock must not hold it off. */
describe('a lock row left by an earlier process with the same pid', () => {
  const dirs: string[] = [];
  const stores: StateStore[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-holder-'));
    dirs.push(dir);
    const s = openState({ path: join(dir, 'state.db') });
    stores.push(s);
    return s;
  };
  const row = (started: string | undefined) => ({ pid: process.pid, host: hostname(), ...(started ? { started } : {}), run: 'okta sync', since: new Date().toISOString(), heartbeat: new Date().toISOString(), token: 'earlier' });

  it.each([
    ['run-lock', (s: StateStore) => s.acquireRunLock('okta sync')],
    ['daemon-lock', (s: StateStore) => acquireDaemonLock(s)],
  ] as const)('%s: taken over when the row names this pid but another start time', (key, acquire) => {
    const s = fresh();
    s.setMeta(key, JSON.stringify(row('2026-01-01T00:00:00.000Z')));
    expect(() => acquire(s)()).not.toThrow();
  });

  it.each([
    ['run-lock', (s: StateStore) => s.acquireRunLock('okta sync')],
    ['daemon-lock', (s: StateStore) => acquireDaemonLock(s)],
  ] as const)('%s: refused when the row is this very process (or an old row says nothing of its start)', (key, acquire) => {
    const s = fresh();
    s.setMeta(key, JSON.stringify(row(PROCESS_STARTED)));
    expect(() => acquire(s)).toThrow(/another docker-idp-sync/);
    s.setMeta(key, JSON.stringify(row(undefined)));
    expect(() => acquire(s)).toThrow(/another docker-idp-sync/);
  });
});
