import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadContext } from '../../src/commands/context.ts';
import { stateRebuildCommand } from '../../src/commands/state-rebuild.ts';
import { statusCommand } from '../../src/commands/status.ts';
import { syncCommand } from '../../src/commands/sync.ts';
import { scimErrorBody } from '../../src/sandbox/docker/wire.ts';
import { oktaError } from '../../src/sandbox/okta/faults.ts';
import { StateError } from '../../src/state/errors.ts';
import { openState, type OpenStateOptions } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import { Scenario } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';
import { inProcess } from '../support/in-process.ts';

/**
 * The state file under trouble, through the commands' own code: a file that is not ours, a disk
 * that fills up mid-run, and secrets that remote systems echo into the messages the file stores.
 */

const LONG = 240_000;


function refusal(r: { error?: unknown }): StateError {
  expect(r.error).toBeInstanceOf(StateError);
  return r.error as StateError;
}

describe('state file trouble, end to end', () => {
  let s: Scenario;
  const ctx = (env: Record<string, string> = {}) => loadContext({}, s.env({ LOG_LEVEL: 'silent', ...env }));
  beforeEach(async () => {
    s = await Scenario.start({ source: 'okta' });
    seedPeople(s.directory);
  });
  afterEach(async () => {
    await s.stop();
  });

  it("STATE_DB naming another program's database: sync, sync --dry-run, status and state rebuild refuse it and leave it as it was", { timeout: LONG }, async () => {
    const db = new BetterSqlite3(s.stateDb);
    db.exec("CREATE TABLE accounts (email TEXT); INSERT INTO accounts VALUES ('someone@example.com');");
    db.close();
    utimesSync(s.stateDb, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
    const look = () => ({ files: readdirSync(s.dir).sort(), sha: createHash('sha256').update(readFileSync(s.stateDb)).digest('hex'), mtime: statSync(s.stateDb).mtimeMs, mode: statSync(s.stateDb).mode });
    const before = look();
    for (const [name, command] of [
      ['sync', () => syncCommand(ctx(), {})],
      ['sync --dry-run', () => syncCommand(ctx(), { dryRun: true })],
      ['status', () => statusCommand(ctx(), {})],
      ['state rebuild --force', () => stateRebuildCommand(ctx(), { force: true })],
    ] as const) {
      const err = refusal(await inProcess(command));
      expect(err.reason, name).toBe('foreign');
      expect(err.message).toContain(`${s.stateDb} is an SQLite database but not a docker-idp-sync state file`);
      expect(err.message).toContain('it was not changed');
      expect(look(), name).toEqual(before);
    }
    expect(s.docker.http.writes()).toEqual([]);
  });

  describe('the disk fills up: the report already computed is still written, then a clear error', () => {
    /** Opens the state file as the command does, then lets it grow by no page at all. */
    const onFullDisk = (o: OpenStateOptions): StateStore => {
      const st = openState(o);
      st.db.pragma(`max_page_count = ${st.db.pragma('page_count', { simple: true }) as number}`);
      return st;
    };

    it('mid-apply: the report lists the plan and what reached Docker; the error names the file; the next runs converge with no duplicate', { timeout: LONG }, async () => {
      // Enough writes that their journal rows outgrow the pages the new file has, however they are grouped into commits.
      for (let i = 0; i < 60; i++) s.directory.addUser({ email: `filler${i}@example.com`, givenName: 'Filler', familyName: String(i) });
      const output = join(s.dir, 'report.json');
      const r = await inProcess(() => syncCommand(ctx(), { format: 'json', output }, undefined, onFullDisk));
      const err = refusal(r);
      expect(err.reason).toBe('full');
      expect(err.describe()).toContain(`the disk holding the state file ${s.stateDb} is full`);
      expect(err.describe()).toMatch(/fix: free space/);
      const report = JSON.parse(readFileSync(output, 'utf8'));
      expect(report).toMatchObject({ kind: 'result', status: 'failed' });
      expect(report.operations.length).toBeGreaterThan(6);
      const results = report.operations.map((o: { result: { status: string } | null }) => o.result?.status);
      expect(results).not.toContain(undefined);
      // Some writes landed before the disk filled, and the report says which.
      expect(s.docker.http.writes().length).toBeGreaterThan(0);
      expect(results).toContain('succeeded');
      expect(results.filter((r: string) => r !== 'succeeded').length).toBeGreaterThan(0);

      const next = await inProcess(() => syncCommand(ctx(), {}));
      expect(next.error).toBeUndefined();
      expect(next.value).toBe(0);
      expect((await s.sync()).writes).toBe(0);
      const names = s.docker.allUsers().map((u) => u.userName.toLowerCase());
      expect(new Set(names).size).toBe(names.length);
    });

    it('at the end: when only finishing the run cannot be recorded, the report of the whole run is still written', { timeout: LONG }, async () => {
      const output = join(s.dir, 'report.json');
      const fullAtTheEnd = (o: OpenStateOptions): StateStore => {
        const st = openState(o);
        const finish = st.finishRun.bind(st);
        st.finishRun = (...args) => {
          st.db.pragma(`max_page_count = ${st.db.pragma('page_count', { simple: true }) as number}`);
          // Fill the room the runs table has left, so recording the run needs a page the disk
          // lacks (the stored result is compressed and small enough to fit in a page's spare room).
          let n = 0;
          for (const size of [2000, 500, 100, 10]) {
            try {
              for (;;) st.db.prepare("INSERT INTO runs (id, started_at, source, status, error) VALUES (?, '2000-01-01T00:00:00.000Z', 'okta', 'failed', ?)").run(`test-filler-${n++}`, 'x'.repeat(size));
            } catch {
              // Full at this size: try a smaller one.
            }
          }
          return finish(...args);
        };
        return st;
      };
      const err = refusal(await inProcess(() => syncCommand(ctx(), { format: 'json', output }, undefined, fullAtTheEnd)));
      expect(err.reason).toBe('full');
      const report = JSON.parse(readFileSync(output, 'utf8'));
      expect(report.kind).toBe('result');
      expect(report.operations.every((o: { result: { status: string } }) => o.result.status === 'succeeded')).toBe(true);
      expect((await s.sync()).writes).toBe(0);
    });
  });

  describe('secrets echoed by Docker or the IdP never reach the state file or status', () => {
    const forms = (secret: string) => [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
    const echo = (secret: string) => `invalid credentials ${secret} (${encodeURIComponent(secret)}; ${Buffer.from(secret).toString('base64')})`;

    /** Every column of every table, as text, and the raw bytes of the file and its WAL. */
    function everything(): string {
      const st = openState({ path: s.stateDb, dryRun: true });
      try {
        const tables = (st.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
        expect(tables).toEqual(expect.arrayContaining(['meta', 'links', 'runs', 'journal']));
        const rows = tables.map((t) => JSON.stringify(st.db.prepare(`SELECT * FROM "${t}"`).all()));
        const raw = readdirSync(s.dir).filter((f) => f.startsWith('state.db') && !f.endsWith('-shm')).map((f) => readFileSync(join(s.dir, f)).toString('latin1'));
        return [...rows, ...raw].join('\n');
      } finally {
        st.close();
      }
    }

    it('a SCIM detail and an Okta errorSummary that quote the tokens: no column, no byte of the file, no status output holds them', { timeout: LONG }, async () => {
      const dockerToken = s.world.env.DOCKER_SCIM_TOKEN as string;
      const oktaToken = s.world.env.OKTA_API_TOKEN as string;
      // A create refused with the token quoted (journal detail, run result)…
      s.docker.http.faults.add({ route: 'createUser', times: 1, action: { type: 'status', status: 400, body: scimErrorBody(400, echo(dockerToken)) } });
      const first = await inProcess(() => syncCommand(ctx(), {}));
      expect(first.error).toBeUndefined();
      expect(first.value).toBe(1);
      // …a read that fails with it (run error)…
      s.docker.http.faults.add({ route: 'listUsers', times: Infinity, action: { type: 'status', status: 400, body: scimErrorBody(400, echo(dockerToken)) } });
      expect((await inProcess(() => syncCommand(ctx({ DOCKER_MAX_RETRIES: '0' }), {}))).error).toBeDefined();
      s.docker.http.faults.clear();
      // …and the IdP quoting its own token in an error.
      s.world.idp.faults.add({ route: 'listAppUsers', times: Infinity, action: oktaError(400, 'E0000001', `Api validation failed: ${echo(oktaToken)}`) });
      expect((await inProcess(() => syncCommand(ctx({ IDP_MAX_RETRIES: '0' }), {}))).error).toBeDefined();
      s.world.idp.faults.clear();

      const stored = everything();
      expect(stored).toContain('[redacted]');
      expect(stored).toMatch(/"status":"failed"/);
      for (const form of [...forms(dockerToken), ...forms(oktaToken)]) expect(stored).not.toContain(form);

      for (const format of ['text', 'json'] as const) {
        const out = await inProcess(() => statusCommand(ctx(), { format }));
        expect(out.error).toBeUndefined();
        expect(out.stdout).toMatch(/failed/);
        for (const form of [...forms(dockerToken), ...forms(oktaToken)]) expect(out.stdout).not.toContain(form);
      }
    });

    it('status scrubs what it prints, JSON included, even from a file written before messages were scrubbed', { timeout: LONG }, async () => {
      await s.sync();
      const dockerToken = s.world.env.DOCKER_SCIM_TOKEN as string;
      const db = new BetterSqlite3(s.stateDb);
      db.prepare("INSERT INTO runs (id, started_at, finished_at, source, status, summary, error) VALUES ('old', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:01.000Z', 'okta', 'failed', ?, ?)").run(JSON.stringify({ note: echo(dockerToken) }), echo(dockerToken));
      db.close();
      for (const format of ['text', 'json'] as const) {
        const out = await inProcess(() => statusCommand(ctx(), { format }));
        expect(out.stdout).toContain('[redacted]');
        for (const form of forms(dockerToken)) expect(out.stdout).not.toContain(form);
      }
    });
  });
});
