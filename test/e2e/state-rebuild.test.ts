import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadContext } from '../../src/commands/context.ts';
import { stateRebuildCommand, type RebuildOptions } from '../../src/commands/state-rebuild.ts';
import { syncCommand } from '../../src/commands/sync.ts';
import { StateError } from '../../src/state/errors.ts';
import { openState } from '../../src/state/open.ts';
import { Scenario } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';
import { ForwardingProxy } from '../support/proxy.ts';
import { inProcess } from '../support/in-process.ts';

/**
 * `state rebuild` and a file in use: it takes the run lock `sync` takes, is refused while a run
 * holds it, holds it itself until the new file is in place, and never moves a file another process
 * may have open. And what it links: only accounts the state file proves the tool owns, unless the
 * admin allows more (ADOPT_EXISTING, --adopt-unproven). Rebuilds run in this process through the
 * command's own code (the lock check sees this process's pid as alive, as for another process).
 */

const LONG = 240_000;


/** Names and bytes of the state file and everything beside it (-wal, -shm, copies kept aside). */
function stateFiles(s: Scenario, opts: { withShm?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(s.dir).filter((f) => f.startsWith('state.db')).sort()) {
    // The -shm is shared memory: SQLite's readers mark it by design; its presence still counts.
    out[name] = name.endsWith('-shm') && !opts.withShm ? 'present' : createHash('sha256').update(readFileSync(join(s.dir, name))).digest('hex');
  }
  return out;
}

function refusal(r: { error?: unknown }): StateError {
  expect(r.error).toBeInstanceOf(StateError);
  return r.error as StateError;
}

describe('state rebuild and a state file in use', () => {
  let s: Scenario;
  const rebuild = (opts: RebuildOptions, env: Record<string, string> = {}) => inProcess(() => stateRebuildCommand(loadContext({}, s.env({ LOG_LEVEL: 'silent', ...env })), opts));
  beforeEach(async () => {
    s = await Scenario.start({ source: 'okta' });
    seedPeople(s.directory);
    await s.sync();
  });
  afterEach(async () => {
    await s.stop();
  });

  it('a connection holding the run lock: rebuild --force is refused, names the holder, and the files are untouched', { timeout: LONG }, async () => {
    const holder = openState({ path: s.stateDb });
    const release = holder.acquireRunLock('okta sync');
    try {
      const before = stateFiles(s);
      const r = await rebuild({ force: true });
      const err = refusal(r);
      expect(err.reason).toBe('held');
      expect(err.message).toContain(`another docker-idp-sync run holds the state file ${s.stateDb}: pid ${process.pid} on `);
      expect(err.message).toContain('(okta sync), started ');
      expect(err.hint).toMatch(/wait for it to finish/);
      expect(stateFiles(s)).toEqual(before);
    } finally {
      release();
      holder.close();
    }
  });

  it('a lock held by a live process whose connection is closed: refused, and every byte, -wal and -shm included, stays', { timeout: LONG }, async () => {
    const holder = openState({ path: s.stateDb });
    holder.acquireRunLock('okta sync'); // closing keeps the row; the pid (this process) is alive
    holder.close();
    const before = stateFiles(s, { withShm: true });
    expect(Object.keys(before)).toEqual(['state.db']);
    expect(refusal(await rebuild({ force: true })).reason).toBe('held');
    expect(stateFiles(s, { withShm: true })).toEqual(before);
  });

  it('a connection in the middle of a write (SQLITE_BUSY) is "in use", never "corrupt": refused, nothing moved', { timeout: LONG }, async () => {
    const writer = new BetterSqlite3(s.stateDb);
    writer.exec("BEGIN IMMEDIATE; UPDATE meta SET value = value WHERE key = 'source';");
    try {
      const before = stateFiles(s);
      const err = refusal(await rebuild({ force: true }));
      expect(err.reason).toBe('busy');
      expect(err.message).toContain(`the state file ${s.stateDb} is locked by another process`);
      expect(stateFiles(s)).toEqual(before);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('an unreadable file with a -wal beside it may still be open somewhere: refused, not moved', { timeout: LONG }, async () => {
    for (const f of readdirSync(s.dir).filter((f) => f.startsWith('state.db'))) rmSync(join(s.dir, f));
    writeFileSync(s.stateDb, 'not a database'.repeat(100));
    writeFileSync(`${s.stateDb}-wal`, 'a WAL nobody can read'.repeat(10));
    const before = stateFiles(s, { withShm: true });
    const err = refusal(await rebuild({ force: true }));
    expect(err.reason).toBe('busy');
    expect(err.message).toMatch(/is unreadable .* a process may still have it open; nothing was moved/);
    expect(err.hint).toContain('move');
    expect(stateFiles(s, { withShm: true })).toEqual(before);
  });

  it('a connection that keeps the file open (a daemon between runs): rebuild reads, then refuses to swap, and leaves the file usable', { timeout: LONG }, async () => {
    const proxy = new ForwardingProxy({ target: s.docker.baseUrl });
    await proxy.start();
    let reached!: () => void;
    const atDocker = new Promise<void>((resolve) => (reached = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    proxy.hold = (req) => (req.method === 'GET' && req.url.includes('/Users') ? (reached(), gate) : null);
    let reader: BetterSqlite3.Database | null = null;
    try {
      const base = new URL(s.docker.baseUrl);
      const rebuilding = rebuild({ force: true }, { DOCKER_SCIM_BASE_URL: s.env().DOCKER_SCIM_BASE_URL!.replace(base.origin, proxy.origin) });
      await atDocker;
      reader = new BetterSqlite3(s.stateDb, { readonly: true });
      reader.prepare('SELECT count(*) FROM links').get();
      letGo();
      const err = refusal(await rebuilding);
      expect(err.reason).toBe('busy');
      expect(err.message).toContain(`another process has the state file ${s.stateDb} open`);
      expect(err.message).toContain('nothing was replaced');
      expect(readdirSync(s.dir).filter((f) => /\.(bak|corrupt|rebuild)-/.test(f))).toEqual([]);
      reader.close();
      reader = null;
      // Still the old file, with its links and history, and no lock left behind.
      expect(s.state((st) => [st.linkCount(), st.recentRuns().length, st.getMeta('run-lock')])).toEqual([6, 1, null]);
    } finally {
      letGo();
      reader?.close();
      await proxy.stop();
    }
  });

  it('a sync running in another process (held mid-apply): rebuild --force is refused and moves nothing; the sync then finishes', { timeout: LONG }, async () => {
    const proxy = new ForwardingProxy({ target: s.docker.baseUrl });
    await proxy.start();
    let reached!: () => void;
    const atDocker = new Promise<void>((resolve) => (reached = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    proxy.hold = (req) => (req.method === 'POST' && req.url.includes('/Users') ? (reached(), gate) : null);
    try {
      s.directory.addUser({ email: 'new@example.com', givenName: 'New', familyName: 'Hire' });
      const base = new URL(s.docker.baseUrl);
      const sync = s.cli(['sync'], { env: { DOCKER_SCIM_BASE_URL: s.env().DOCKER_SCIM_BASE_URL!.replace(base.origin, proxy.origin), DOCKER_TIMEOUT_SECONDS: '600' } });
      await atDocker;
      const names = Object.keys(stateFiles(s));
      const main = stateFiles(s)['state.db'];
      const err = refusal(await rebuild({ force: true }));
      expect(err.reason).toBe('held');
      expect(err.message).toMatch(/holds the state file .*: pid \d+ on \S+ \(okta sync\)/);
      expect(Object.keys(stateFiles(s))).toEqual(names);
      expect(stateFiles(s)['state.db']).toBe(main);
      letGo();
      const done = await sync;
      expect(done.code, done.stderr).toBe(0);
      expect(s.state((st) => st.links().length)).toBe(7);
    } finally {
      letGo();
      await proxy.stop();
    }
  });

  it('rebuild holds the lock from before its reads until the new file is in place: a sync meanwhile is refused', { timeout: LONG }, async () => {
    const proxy = new ForwardingProxy({ target: s.docker.baseUrl });
    await proxy.start();
    let reached!: () => void;
    const atDocker = new Promise<void>((resolve) => (reached = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    proxy.hold = (req) => (req.method === 'GET' && req.url.includes('/Users') ? (reached(), gate) : null);
    try {
      const base = new URL(s.docker.baseUrl);
      const rebuilding = rebuild({ force: true }, { DOCKER_SCIM_BASE_URL: s.env().DOCKER_SCIM_BASE_URL!.replace(base.origin, proxy.origin) });
      await atDocker;
      const ctx = loadContext({}, s.env({ LOG_LEVEL: 'silent' }));
      const meanwhile = await inProcess(() => syncCommand(ctx, {}));
      const err = refusal(meanwhile);
      expect(err.message).toMatch(/holds the state file .*: pid \d+ on \S+ \(state rebuild\)/);
      letGo();
      const done = await rebuilding;
      expect(done.error).toBeUndefined();
      expect(done.value).toBe(0);
      // The new file is in place, with the rebuild recorded as its run and no lock left behind.
      expect(s.state((st) => [st.linkCount(), st.recentRuns().length, st.getMeta('run-lock')])).toEqual([6, 1, null]);
      const kept = readdirSync(s.dir).find((f) => /^state\.db\.bak-/.test(f)) as string;
      expect(kept).toBeTruthy();
      expect(openState({ path: join(s.dir, kept), dryRun: true }).getMeta('run-lock')).toBeNull();
      const next = await s.sync({ dryRun: true });
      expect(next.plan.operations).toEqual([]);
    } finally {
      letGo();
      await proxy.stop();
    }
  });
});

describe('state rebuild links only what the state file proves the tool owns (ADOPT_EXISTING=false)', () => {
  let s: Scenario;
  const NO_ADOPT = { ADOPT_EXISTING: 'false' };
  const rebuild = (opts: RebuildOptions, env: Record<string, string> = NO_ADOPT) => inProcess(() => stateRebuildCommand(loadContext({}, s.env({ LOG_LEVEL: 'silent', ...env })), opts));
  const origins = () => s.state((st) => Object.fromEntries(st.links().map((l) => [l.userName, l.origin])));
  beforeEach(async () => {
    s = await Scenario.start({ source: 'okta' });
    seedPeople(s.directory);
    // An account made by hand, whose userName an assigned IdP user has: never created by the tool.
    s.docker.seedUser({ userName: 'hand@example.com', givenName: 'By', familyName: 'Hand' });
    s.directory.addUser({ email: 'hand@example.com', givenName: 'By', familyName: 'Hand' });
    const first = await s.sync({ env: NO_ADOPT });
    expect(first.outcome.result.results.filter((r) => r.kind === 'create' && r.status === 'succeeded')).toHaveLength(6);
  });
  afterEach(async () => {
    await s.stop();
  });

  it('the created accounts keep origin "created"; the hand-made match is listed, not linked (text and JSON)', { timeout: LONG }, async () => {
    const r = await rebuild({ force: true, format: 'json' });
    expect(r.error).toBeUndefined();
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ proven: 6, adopted: 0, unproven: [{ userName: 'hand@example.com' }] });
    expect(out.links.every((l: { origin: string; proven: boolean }) => l.origin === 'created' && l.proven)).toBe(true);
    expect(origins()).toEqual(Object.fromEntries(['ada', 'alan', 'barbara', 'edsger', 'grace', 'ken'].map((n) => [`${n}@example.com`, 'created'])));

    const text = await rebuild({ force: true, dryRun: true });
    expect(text.stdout).toContain('6 proven by the current state file (a link, or a creation in its journal), 0 adopted without proof');
    expect(text.stdout).toContain('1 userName matches have no proof that this tool manages the account and are NOT linked (ADOPT_EXISTING=false)');
    expect(text.stdout).toMatch(/unproven\s+hand@example.com/);
  });

  it('--adopt-unproven links them, as adopted', { timeout: LONG }, async () => {
    const r = await rebuild({ force: true, adoptUnproven: true });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain('1 adopted without proof (confirmed with --adopt-unproven)');
    expect(origins()['hand@example.com']).toBe('adopted');
    expect(Object.values(origins()).filter((o) => o === 'created')).toHaveLength(6);
  });

  it('a lost state file proves nothing: every match is listed and none is linked', { timeout: LONG }, async () => {
    for (const f of readdirSync(s.dir).filter((f) => f.startsWith('state.db'))) rmSync(join(s.dir, f));
    const r = await rebuild({});
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain('0 IdP users re-linked');
    expect(r.stdout).toContain('7 userName matches have no proof');
    expect(s.state((st) => st.linkCount())).toBe(0);
  });

  it('links lost but the journal kept: a journaled creation is proof', { timeout: LONG }, async () => {
    const db = new BetterSqlite3(s.stateDb);
    db.exec('DELETE FROM links');
    db.close();
    const r = await rebuild({});
    expect(r.error).toBeUndefined();
    expect(Object.values(origins())).toEqual(Array(6).fill('created'));
    expect(origins()['hand@example.com']).toBeUndefined();
  });

  it('with ADOPT_EXISTING=true the match is adopted, as a sync would, and the output says how many were proven', { timeout: LONG }, async () => {
    const r = await rebuild({ force: true }, { ADOPT_EXISTING: 'true' });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain('7 IdP users re-linked to the Docker account with their userName: 6 proven by the current state file (a link, or a creation in its journal), 1 adopted without proof (ADOPT_EXISTING=true');
    expect(origins()['hand@example.com']).toBe('adopted');
    expect(Object.values(origins()).filter((o) => o === 'created')).toHaveLength(6);
  });

  it('a file with a damaged row still gives its proof, so the way out works', { timeout: LONG }, async () => {
    const db = new BetterSqlite3(s.stateDb);
    db.prepare("UPDATE links SET applied = 'garbage' WHERE user_name = 'ada@example.com'").run();
    db.close();
    const broken = await inProcess(() => syncCommand(loadContext({}, s.env({ LOG_LEVEL: 'silent', ...NO_ADOPT })), {}));
    expect(refusal(broken).reason).toBe('damaged');
    const r = await rebuild({ force: true });
    expect(r.error).toBeUndefined();
    expect(Object.values(origins())).toEqual(Array(6).fill('created'));
    expect((await s.sync({ env: NO_ADOPT })).writes).toBe(0);
  });
});
