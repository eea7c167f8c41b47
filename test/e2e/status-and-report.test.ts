import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCIM_PREFIX } from '../../src/sandbox/docker/emulator.ts';
import { CLI, Scenario, type CliRun } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';
import { ForwardingProxy, type Exchange } from '../support/proxy.ts';

/**
 * `status` and `report` as an admin uses them after the fact, through the real binary, with an
 * environment that holds only STATE_DB: what each run did, every run's report printed again as
 * sync printed it, and the journal of a run that was killed mid-apply.
 */

const LONG = 240_000;

/** The CLI with nothing but the state file's location (and the log level) in its environment. */
function stateOnly(stateDb: string, args: string[], extra: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', STATE_DB: stateDb, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface StatusRun {
  id: string;
  status: string;
  summary: Record<string, unknown> | null;
  error: string | null;
  interruption: { confirmed: number; failed: number; inFlight: Array<{ userName: string; outcome: string; by: string | null; dockerId: string | null }> } | null;
}

describe('report: every run printed again, as sync printed it, with only STATE_DB', () => {
  let s: Scenario;
  const printed: Array<{ format: string; text: string }> = [];
  let firstJson: string;
  beforeAll(async () => {
    s = await Scenario.start();
    seedPeople(s.directory);
    const out = join(s.dir, 'first.json');
    expect((await s.cli(['sync', '--format', 'json', '--output', out])).code).toBe(0);
    firstJson = readFileSync(out, 'utf8');
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    s.directory.updateUser('alan@example.com', { assigned: false });
    const second = await s.cli(['sync', '--format', 'markdown']);
    expect(second.code).toBe(0);
    printed.push({ format: 'markdown', text: second.stdout });
    const third = await s.cli(['sync']);
    expect(third.code).toBe(0);
    printed.push({ format: 'text', text: third.stdout });
  }, LONG);
  afterAll(async () => {
    await s?.stop();
  });

  it('status lists each run with what it applied, by kind; report --last and --run reprint them byte for byte in each format', { timeout: LONG }, async () => {
    const status = await stateOnly(s.stateDb, ['status', '--format', 'json']);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    const runs = (JSON.parse(status.stdout) as { runs: StatusRun[] }).runs;
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const [third, second, first] = runs as [StatusRun, StatusRun, StatusRun];
    // The creates put people in their dockerTeam or default team; only acme:platform (a group) is created and added to.
    expect(first.summary).toMatchObject({ applied: { 'group-create': 1, create: 6, 'team-add': 1 }, failed: 0, blocked: 0 });
    expect(second.summary).toMatchObject({ applied: { update: 1, deactivate: 1 }, failed: 0 });
    expect(third.summary).toMatchObject({ applied: {}, succeeded: 0 });

    const text = await stateOnly(s.stateDb, ['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${first.id}  succeeded   `);
    expect(text.stdout).toMatch(new RegExp(`${first.id}  succeeded .* · 8 ok, 0 failed, 0 blocked · teams created 1, created 6, team additions 1`));
    expect(text.stdout).toMatch(new RegExp(`${second.id}  succeeded .* · 2 ok, 0 failed, 0 blocked · updated 1, deactivated 1`));
    expect(text.stdout).toMatch(new RegExp(`${third.id}  succeeded .* · 0 ok, 0 failed, 0 blocked · no changes`));

    const last = await stateOnly(s.stateDb, ['report', '--last']);
    expect(last.code).toBe(0);
    expect(last.stdout).toBe(printed.find((p) => p.format === 'text')?.text);
    expect(last.stdout.split('\n')[0]).toMatch(new RegExp(`^docker-idp-sync \\d+\\.\\d+\\.\\d+\\S* · run ${third.id} · source okta · `));
    expect((await stateOnly(s.stateDb, ['report'])).stdout).toBe(last.stdout);

    const md = await stateOnly(s.stateDb, ['report', '--run', second.id, '--format', 'markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toBe(printed.find((p) => p.format === 'markdown')?.text);

    const out = join(mkdtempSync(join(tmpdir(), 'report-')), 'again.json');
    const json = await stateOnly(s.stateDb, ['report', '--run', first.id, '--format', 'json', '--output', out]);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(firstJson);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(JSON.parse(firstJson)).toMatchObject({ format: 'docker-idp-sync/report', version: 1, toolVersion: expect.stringMatching(/^\d+\.\d+\.\d+/), runId: first.id });
  });

  it('--last and --run together are refused; an unknown id says how to find ids; a missing file says which', { timeout: LONG }, async () => {
    const both = await stateOnly(s.stateDb, ['report', '--last', '--run', 'x']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/cannot be used with/);

    const unknown = await stateOnly(s.stateDb, ['report', '--run', '20990101T000000Z-abcdef']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`the state file ${s.stateDb} holds no run "20990101T000000Z-abcdef"`);
    expect(unknown.stderr).toContain('`docker-idp-sync status` lists the recent runs with their ids');
    expect(unknown.stderr).not.toMatch(/^\s+at /m);

    const missing = await stateOnly(join(s.dir, 'nowhere.db'), ['report', '--last']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`there is no state file at ${join(s.dir, 'nowhere.db')}`);
  });
});

describe('report and status after a run that failed before planning', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await Scenario.start();
    seedPeople(s.directory);
    s.world.idp.faults.add({ route: 'listAppUsers', times: Infinity, action: { type: 'status', status: 500, body: { errorCode: 'E0000009', errorSummary: 'Internal Server Error' } } });
    const sync = await s.cli(['sync'], { env: { IDP_MAX_RETRIES: '0' } });
    expect(sync.code).toBe(1);
    s.world.idp.faults.clear();
  }, LONG);
  afterAll(async () => {
    await s?.stop();
  });

  it('report --last says there is no plan, with the error and the time, and exits 1; status shows the run failed', { timeout: LONG }, async () => {
    const report = await stateOnly(s.stateDb, ['report', '--last']);
    expect(report.code).toBe(1);
    expect(report.stdout).toBe('');
    expect(report.stderr).toMatch(/^error: run \S+ failed at \d{4}-\d\d-\d\dT[\d:.]+Z without a plan to report: okta: .*500/m);
    expect(report.stderr).toContain('changed nothing in Docker');
    expect(report.stderr).not.toMatch(/^\s+at /m);

    const status = await stateOnly(s.stateDb, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/failed\s+\S+ · okta: .*500/);
  });

  it('status and report scrub the secrets the environment holds, though they need none of them', { timeout: LONG }, async () => {
    const token = s.world.env.DOCKER_SCIM_TOKEN as string;
    // A row as a version that did not scrub stored messages would have left it.
    const db = new BetterSqlite3(s.stateDb);
    db.prepare("INSERT INTO runs (id, started_at, finished_at, source, status, error) VALUES ('old-run', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:01.000Z', 'okta', 'failed', ?)").run(`docker: 401 for token ${token}`);
    db.close();
    const env = { DOCKER_SCIM_TOKEN: token };
    for (const args of [['status'], ['status', '--format', 'json'], ['report', '--run', 'old-run']]) {
      const run = await stateOnly(s.stateDb, args, env);
      expect(run.stdout + run.stderr, args.join(' ')).toContain('[redacted]');
      expect(run.stdout + run.stderr, args.join(' ')).not.toContain(token);
    }
  });
});

describe('status after a run killed mid-apply: the journal of the interrupted run', () => {
  let s: Scenario;
  let proxy: ForwardingProxy;
  beforeAll(async () => {
    s = await Scenario.start();
    seedPeople(s.directory);
    for (let i = 0; i < 4; i++) s.directory.addUser({ email: `p${i}@example.com`, givenName: 'P', familyName: String(i) });
    proxy = new ForwardingProxy({ target: s.docker.baseUrl });
    await proxy.start();
  }, LONG);
  afterAll(async () => {
    await proxy?.stop();
    await s?.stop();
  });

  const creates = (r: Exchange) => r.method === 'POST' && r.url === `${SCIM_PREFIX}/Users`;
  const userNameOf = (r: Exchange) => (JSON.parse(r.body.toString('utf8')) as { userName: string }).userName;

  it('shows the writes in flight, then what the next run did about each: recovered or abandoned', { timeout: LONG }, async () => {
    const env = { DOCKER_SCIM_BASE_URL: `${proxy.origin}${SCIM_PREFIX}`, DOCKER_CONCURRENCY: '4' };
    // Creates after the first two are held at the proxy: journaled as sent, never answered.
    const held: Array<{ userName: string; release: () => void }> = [];
    let seen = 0;
    proxy.hold = (r) => {
      if (!creates(r) || ++seen <= 2) return null;
      return new Promise<void>((release) => held.push({ userName: userNameOf(r), release }));
    };
    const crashed = await s.cli(['sync'], {
      env,
      onSpawn: (child) => void until(() => held.length >= 2, 'two held creates').then(() => child.kill('SIGKILL')),
    });
    expect(crashed.signal).toBe('SIGKILL');
    // One held create reaches Docker after the kill (nobody hears the answer); the others never do.
    const landed = held[0] as { userName: string; release: () => void };
    proxy.hold = null;
    landed.release();
    await until(() => s.docker.user(landed.userName) !== undefined, `${landed.userName} in Docker`);

    const before = JSON.parse((await stateOnly(s.stateDb, ['status', '--format', 'json'])).stdout) as { runs: StatusRun[] };
    const killed = before.runs[0] as StatusRun;
    expect(killed.status).toBe('running');
    expect(killed.interruption?.inFlight.map((w) => w.userName)).toEqual(expect.arrayContaining(held.map((h) => h.userName)));
    expect(killed.interruption?.inFlight.every((w) => w.outcome === 'pending')).toBe(true);
    const pendingText = (await stateOnly(s.stateDb, ['status'])).stdout;
    expect(pendingText).toContain(`Journal of run ${killed.id}: it is still marked running`);
    expect(pendingText).toMatch(new RegExp(`create\\s+${landed.userName.replace('.', '\\.')}\\s+sent \\S+ · not resolved yet: the next sync checks Docker for it`));

    expect((await s.cli(['sync'], { env })).code).toBe(0);

    const after = JSON.parse((await stateOnly(s.stateDb, ['status', '--format', 'json'])).stdout) as { runs: StatusRun[] };
    const [recovery, interrupted] = after.runs as [StatusRun, StatusRun];
    expect(interrupted).toMatchObject({ id: killed.id, status: 'interrupted' });
    expect(recovery.interruption).toBeNull();
    const fate = new Map(interrupted.interruption?.inFlight.map((w) => [w.userName, w]));
    expect(fate.get(landed.userName)).toMatchObject({ outcome: 'recovered', by: recovery.id, dockerId: s.docker.user(landed.userName)?.id });
    for (const h of held.slice(1)) expect(fate.get(h.userName)).toMatchObject({ outcome: 'abandoned', by: recovery.id });
    expect([...fate.values()].every((w) => w.outcome !== 'pending')).toBe(true);

    // The text the INTERRUPTED_RUN finding sends the admin to.
    const text = (await stateOnly(s.stateDb, ['status'])).stdout;
    expect(text).toContain(`Journal of run ${killed.id}: it was interrupted`);
    expect(text).toMatch(new RegExp(`create\\s+${landed.userName.replace('.', '\\.')}\\s+sent \\S+ · recovered by run ${recovery.id}: the write reached Docker before the crash`));
    expect(text).toMatch(new RegExp(`create\\s+${(held[1] as { userName: string }).userName.replace('.', '\\.')}\\s+sent \\S+ · abandoned by run ${recovery.id}: interrupted before it was confirmed`));
    const report = await stateOnly(s.stateDb, ['report', '--run', killed.id]);
    expect(report.code).toBe(1);
    expect(report.stderr).toContain('`docker-idp-sync status` shows its journal');
  });
});
