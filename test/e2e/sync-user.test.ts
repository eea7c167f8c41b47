import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { Plan } from '../../src/model/plan.ts';
import { renderReport } from '../../src/report/index.ts';
import { createDockerClient, createSource, sourceIdentity } from '../../src/run/factory.ts';
import { runSync, type SyncOutcome } from '../../src/run/sync.ts';
import { TargetedRefusedError, UnknownPersonError } from '../../src/run/targeted.ts';
import type { RequestRecord } from '../../src/sandbox/http/emulator.ts';
import type { WorldSource } from '../../src/sandbox/world.ts';
import { openState } from '../../src/state/open.ts';
import { Scenario, startSyncedWithCursor } from '../support/harness.ts';
import { captureLogs, rejectionOf } from '../support/logs.ts';

/**
 * `sync --user EMAIL`, Docker's "provision on demand": one person (or a few) now, with the safety
 * guards, lock, journal and report of `sync`, and the change feed left where it was, for each source.
 */

interface TargetedRun {
  readonly outcome: SyncOutcome;
  readonly plan: Plan;
  /** The write requests Docker received during the run. */
  readonly writes: RequestRecord[];
}

/** `sync --user …` through the product's own code path, in this process (the harness's `sync` with `users`). */
async function syncUsers(s: Scenario, users: string[], opts: { dryRun?: boolean; env?: Record<string, string> } = {}): Promise<TargetedRun> {
  const config = loadConfig({ env: s.env(opts.env) });
  const logger = captureLogs(config.log.level, config.secrets).logger;
  const state = openState({ path: config.state.db, dryRun: opts.dryRun === true });
  const before = s.docker.http.writes().length;
  try {
    const outcome = await runSync(
      { config, source: createSource(config, logger), docker: createDockerClient(config, logger), state, logger, sourceIdentity: sourceIdentity(config) },
      { dryRun: opts.dryRun === true, users },
    );
    return { outcome, plan: outcome.plan, writes: s.docker.http.writes().slice(before) };
  } finally {
    state.close();
  }
}

/** The userNames a run's write requests were about: the body's, or the account's the path names. */
function writtenUsers(s: Scenario, writes: readonly RequestRecord[]): string[] {
  const byId = new Map(s.docker.allUsers().map((u) => [u.id, u.userName]));
  return [
    ...new Set(
      writes.map((w) => {
        const body = w.body as { userName?: unknown } | undefined;
        if (typeof body?.userName === 'string') return body.userName;
        return byId.get(w.path.split('/').pop() ?? '') ?? `${w.method} ${w.path}`;
      }),
    ),
  ].sort();
}

describe.each<WorldSource>(['okta', 'entra'])('sync --user (%s)', (source) => {
  let s: Scenario;
  afterEach(async () => {
    await s?.stop();
  });

  /** Seeded and synced by a run that keeps a cursor, as the daemon's first run leaves it. */
  async function synced(): Promise<Scenario> {
    ({ s } = await startSyncedWithCursor({ source }));
    return s;
  }

  it('writes only the account of the person asked for, now; the feed mark stays, so the next incremental run still picks up the rest', { timeout: 60_000 }, async () => {
    await synced();
    const mark = s.state((st) => st.feedMark());
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    s.directory.updateUser('grace@example.com', { familyName: 'Murray' });

    // The dry run first: the plan, and nothing written anywhere.
    const hash = s.stateHash();
    const dry = await syncUsers(s, ['ADA@example.com'], { dryRun: true });
    expect(dry.writes).toEqual([]);
    expect(s.stateHash()).toBe(hash);
    expect(dry.outcome.exitCode).toBe(2);
    expect(dry.plan.operations.map((o) => o.id)).toEqual([`update:${s.directory.user('ada@example.com').id}`]);

    const run = await syncUsers(s, ['ADA@example.com']);
    expect(run.outcome.exitCode).toBe(0);
    expect(writtenUsers(s, run.writes)).toEqual(['ada@example.com']);
    expect(s.docker.user('ada@example.com')?.familyName).toBe('King');
    expect(s.docker.user('grace@example.com')?.familyName).toBe('Hopper');
    // The report says what kind of run it was, in every format.
    expect(run.plan.coverage).toEqual({ mode: 'incremental', users: 1, dockerListed: false, targeted: ['ADA@example.com'] });
    const text = renderReport('text', { plan: run.plan, result: run.outcome.result, generatedAt: run.outcome.result.finishedAt, dryRun: false });
    expect(text).toContain('Targeted run: ADA@example.com (1 IdP user), read afresh');
    expect((JSON.parse(renderReport('json', { plan: run.plan, result: run.outcome.result, generatedAt: '', dryRun: false })) as { coverage: unknown }).coverage).toEqual(run.plan.coverage);
    // Journaled like any run.
    expect(s.state((st) => st.journalForUser(s.directory.user('ada@example.com').id, 5).map((r) => `${r.kind} ${r.status}`))).toContain('update succeeded');

    // The cursor, the full and verify times and the retry list are as the last run left them.
    expect(s.state((st) => st.feedMark())).toEqual(mark);
    const next = await s.sync({ incremental: true });
    expect(next.plan.coverage?.mode).toBe('incremental');
    expect(s.docker.user('grace@example.com')?.familyName).toBe('Murray');
  });

  it('an unassigned --user is deactivated, under the same guards as any run', { timeout: 60_000 }, async () => {
    await synced();
    s.directory.updateUser('alan@example.com', { assigned: false });

    // The deactivation share is counted as an incremental run counts it: 1 of 6 managed is over 10 %.
    const held = await syncUsers(s, ['alan@example.com'], { env: { MAX_DEACTIVATION_PERCENT: '10' } });
    expect(held.outcome.exitCode).toBe(3);
    expect(held.plan.safety.tripped).toBe(true);
    expect(held.writes).toEqual([]);
    expect(s.docker.user('alan@example.com')?.active).toBe(true);

    const run = await syncUsers(s, ['alan@example.com']);
    expect(run.plan.operations.map((o) => o.kind)).toEqual(['deactivate']);
    expect(writtenUsers(s, run.writes)).toEqual(['alan@example.com']);
    expect(s.docker.user('alan@example.com')?.active).toBe(false);

    // The last owner: without a listing of Docker the other owners are unseen, so the loss is held, and said.
    s.directory.updateUser('ada@example.com', { assigned: false });
    const owner = await syncUsers(s, ['ada@example.com']);
    expect(owner.plan.operations).toEqual([expect.objectContaining({ kind: 'deactivate', blocked: 'last-owner' })]);
    expect(owner.plan.findings.map((f) => f.code)).toContain('LAST_OWNER');
    expect(owner.writes).toEqual([]);
    expect(s.docker.user('ada@example.com')?.active).toBe(true);
  });

  it('an email found nowhere stops the run: exit 1, its name in the error, nothing written', { timeout: 60_000 }, async () => {
    await synced();
    const writes = s.docker.http.writes().length;
    const hash = s.stateHash();

    const err = await rejectionOf(syncUsers(s, ['ada@example.com', 'nobody@example.com']));
    expect(err).toBeInstanceOf(UnknownPersonError);
    expect((err as Error).message).toContain('"nobody@example.com"');
    expect((err as Error).message).not.toContain('"ada@example.com"');

    const cli = await s.cli(['sync', '--user', 'nobody@example.com']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('nobody@example.com');
    expect(cli.stderr).not.toMatch(/unexpected failure|\n\s+at /);
    // Not with --incremental: a targeted run follows no feed.
    const both = await s.cli(['sync', '--user', 'ada@example.com', '--incremental']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--user.*cannot be used with.*--incremental/);

    expect(s.docker.http.writes().length).toBe(writes);
    expect(s.stateHash()).toBe(hash);

    // Two people through the CLI, the flag repeated: the JSON report names both.
    s.directory.updateUser('edsger@example.com', { givenName: 'E. W.' });
    s.directory.updateUser('barbara@example.com', { givenName: 'Barb' });
    s.directory.updateUser('grace@example.com', { givenName: 'Amazing Grace' });
    const two = await s.cli(['sync', '--user', 'edsger@example.com', '--user', 'barbara@example.com', '--format', 'json']);
    expect(two.code).toBe(0);
    expect((JSON.parse(two.stdout) as { coverage: unknown }).coverage).toEqual({ mode: 'incremental', users: 2, dockerListed: false, targeted: ['edsger@example.com', 'barbara@example.com'] });
    expect(writtenUsers(s, s.docker.http.writes().slice(writes))).toEqual(['barbara@example.com', 'edsger@example.com']);

    // A new hire whose address has a quote and a plus in it: found through the real SDKs, as typed.
    s.directory.addUser({ email: "o'neil+docker@example.com", givenName: 'Pat', familyName: "O'Neil" });
    const hire = await syncUsers(s, ["O'Neil+docker@example.com"]);
    expect(hire.plan.operations.map((o) => o.kind)).toEqual(['create']);
    expect(s.docker.user("o'neil+docker@example.com")?.active).toBe(true);
  });

  it('is refused while a previous run left writes unconfirmed: a full sync recovers them first', { timeout: 60_000 }, async () => {
    await synced();
    // What a run killed mid-apply leaves: a write started and never answered.
    const st = openState({ path: s.stateDb, dryRun: false });
    try {
      const runId = st.startRun(source, false);
      const ada = s.directory.user('ada@example.com');
      st.recordStart(runId, { id: `update:${ada.id}`, kind: 'update', reason: 'test', idpId: ada.id, dockerId: s.docker.user('ada@example.com')?.id ?? '', userName: 'ada@example.com', changes: [], target: { userName: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', active: true, role: 'owner', org: 'acme', team: 'everyone' } });
    } finally {
      st.close();
    }
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    const writes = s.docker.http.writes().length;

    const err = await rejectionOf(syncUsers(s, ['ada@example.com']));
    expect(err).toBeInstanceOf(TargetedRefusedError);
    expect((err as Error).message).toMatch(/1 write to Docker unconfirmed/);
    expect((err as TargetedRefusedError).hint).toMatch(/run `sync` first/);
    expect(s.docker.http.writes().length).toBe(writes);

    await s.sync();
    const after = await syncUsers(s, ['ada@example.com']);
    expect(after.outcome.exitCode).toBe(0);
  });
});
