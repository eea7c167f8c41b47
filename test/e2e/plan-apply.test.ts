import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyCommand } from '../../src/commands/apply.ts';
import type { CommandContext } from '../../src/commands/context.ts';
import { planCommand } from '../../src/commands/plan.ts';
import { loadConfig } from '../../src/config/load.ts';
import { scrubber } from '../../src/logging/scrub.ts';
import type { Operation } from '../../src/model/plan.ts';
import { PlanFileError, type PlanFile } from '../../src/run/plan-file.ts';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { scenarioPerTest } from '../support/harness.ts';
import { OTHER_APP_ENV } from '../support/idp.ts';
import { captureLogs } from '../support/logs.ts';

/**
 * A plan is a value (issue 14, DESIGN.md invariant 12): `plan --out` saves what `sync --dry-run`
 * prints, and `apply` applies exactly that, or nothing when what it was reviewed against no longer
 * holds. Through the real CLI for the exit codes and files, in-process for the rest; each source.
 */
describe.each(WORLD_SOURCES)('plan and apply (%s)', (source) => {
  const s = scenarioPerTest({ source });

  const readPlan = (name = 'plan.json'): PlanFile => JSON.parse(readFileSync(join(s.dir, name), 'utf8')) as PlanFile;
  const writeCount = () => s.docker.http.writes().length;

  /** The commands in this process, as the CLI runs them; reports go to files, not the test's stdout. */
  function context(env: Record<string, string> = {}): CommandContext {
    const config = loadConfig({ env: s.env(env) });
    return { config, logger: captureLogs(config.log.level, config.secrets).logger, scrub: scrubber(config.secrets) };
  }
  const planIn = (env: Record<string, string> = {}) => planCommand(context(env), { out: join(s.dir, 'plan.json'), output: join(s.dir, 'plan.txt') });
  const applyIn = (env: Record<string, string> = {}, opts: { force?: boolean } = {}) => applyCommand(context(env), join(s.dir, 'plan.json'), { ...opts, output: join(s.dir, 'apply.txt') });
  const applyReport = () => readFileSync(join(s.dir, 'apply.txt'), 'utf8');

  /** Docker's write requests since `since`, as "METHOD resource subject" (a userName, or a team's name). */
  function writesSince(since: number): string[] {
    const teamById = new Map(s.docker.groupNames().map((name) => [s.docker.group(name)?.id, name]));
    return s.docker.http.writes().slice(since).map((r) => {
      const body = (r.body ?? {}) as { userName?: string; displayName?: string };
      if (r.route === 'createUser') return `POST /Users ${body.userName}`;
      if (r.route === 'replaceUser') return `PUT /Users ${body.userName}`;
      if (r.route === 'createGroup') return `POST /Groups ${body.displayName}`;
      if (r.route === 'patchGroup') return `PATCH /Groups ${teamById.get(r.path.split('/').pop())}`;
      return `${r.method} ${r.path}`;
    });
  }

  /** The write each operation makes, in the same form (an adoption without changes makes none). */
  function writesOf(op: Operation): string[] {
    switch (op.kind) {
      case 'create':
        return [`POST /Users ${op.userName}`];
      case 'group-create':
        return [`POST /Groups ${op.group}`];
      case 'team-add':
      case 'team-remove':
        return [`PATCH /Groups ${op.group}`];
      case 'adopt':
        return op.changes.length ? [`PUT /Users ${op.target.userName}`] : [];
      default:
        return [`PUT /Users ${op.target.userName}`];
    }
  }

  it('plan writes a private file with no secret and changes nothing; apply makes exactly its writes, one for one', async () => {
    expect((await s.cli(['sync'])).code).toBe(0);
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    s.directory.updateUser('alan@example.com', { assigned: false });
    s.directory.addUser({ email: 'lin@example.com', givenName: 'Lin', familyName: 'Ma' });
    // An account of Lin's own, in no team: adopted, then added to acme:everyone once the adoption is in.
    s.docker.seedUser({ userName: 'lin@example.com', givenName: 'L', familyName: 'Ma', role: 'member', team: null });
    s.directory.removeMember('acme:platform', 'grace@example.com');
    s.directory.addGroup('acmelabs:gpu').members.add(s.directory.user('edsger@example.com').id);
    const hash = s.stateHash();
    const before = writeCount();

    const planned = await s.cli(['plan', '--out', 'plan.json', '--format', 'json']);
    expect(planned.code).toBe(2);
    expect(writeCount()).toBe(before);
    expect(s.stateHash()).toBe(hash);
    const report = JSON.parse(planned.stdout) as { kind: string; dryRun: boolean; operations: Array<{ id: string }> };
    expect(report).toMatchObject({ kind: 'plan', dryRun: true });
    const file = readPlan();
    expect(statSync(join(s.dir, 'plan.json')).mode & 0o777).toBe(0o600);
    expect(file).toMatchObject({ format: 'docker-idp-sync/plan', formatVersion: 1, source: { kind: source }, stateFile: s.stateDb });
    expect(file.source.identity).toContain(source === 'okta' ? s.world.env.OKTA_APP_ID : s.world.env.ENTRA_APP_ID);
    expect(file.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The file holds the plan the report showed.
    expect(file.plan.operations.map((o) => o.id)).toEqual(report.operations.map((o) => o.id));
    expect(file.plan.operations.map((o) => o.kind).sort()).toEqual(['adopt', 'deactivate', 'group-create', 'team-add', 'team-add', 'team-remove', 'update']);
    const text = readFileSync(join(s.dir, 'plan.json'), 'utf8');
    expect(text).toContain('lin@example.com');
    for (const secret of s.world.secrets) expect(text.includes(secret), `secret ${secret.slice(0, 6)}… in the plan file`).toBe(false);

    const applied = await s.cli(['apply', 'plan.json', '--format', 'json']);
    expect(applied.stderr).not.toContain('error');
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ kind: 'result', status: 'succeeded', unreviewed: [] });
    expect(writesSince(before).sort()).toEqual(file.plan.operations.flatMap(writesOf).sort());
    expect(writesSince(before)).toHaveLength(file.plan.operations.length);
    expect(s.docker.teamMembers('acme:everyone')).toContain('lin@example.com');
    expect(s.docker.user('ada@example.com')?.familyName).toBe('King');
    expect(s.docker.teamMembers('acmelabs:gpu')).toEqual(['edsger@example.com']);
    expect((await s.sync({ dryRun: true })).plan.operations).toEqual([]);
  });

  it('a plan the IdP changed after `plan` is refused: exit 5, what changed, zero writes, links and journal untouched', async () => {
    await s.sync();
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    s.directory.updateUser('alan@example.com', { assigned: false });
    expect((await s.cli(['plan', '--out', 'plan.json'])).code).toBe(2);
    s.directory.updateUser('ada@example.com', { familyName: 'Queen' });
    s.directory.updateUser('barbara@example.com', { familyName: 'Jones' });
    const links = s.state((st) => st.links());
    const before = writeCount();

    const applied = await s.cli(['apply', 'plan.json']);
    expect(applied.code).toBe(5);
    expect(applied.stdout).toContain('Not applied: the reviewed plan plan.json is stale.');
    expect(applied.stdout).toMatch(/changed {2}update ada@example.com:\n\s+change familyName: reviewed "Lovelace" → "King", now "Lovelace" → "Queen"/);
    expect(applied.stdout).toMatch(/new {6}update barbara@example.com: not in the reviewed plan/);
    // alan's deactivation still holds as reviewed, and is not listed.
    expect(applied.stdout).not.toContain('alan@example.com');
    expect(writeCount()).toBe(before);
    expect(s.docker.user('alan@example.com')?.active).toBe(true);
    // The state file keeps its links and gets no journal: only the refused run is recorded.
    expect(s.state((st) => st.links())).toEqual(links);
    const [last] = s.state((st) => st.recentRuns(1));
    expect(last).toMatchObject({ status: 'failed' });
    expect(last?.error).toContain('the reviewed plan is stale');
    expect(s.state((st) => st.journalOf(last?.id as string))).toEqual([]);
  });

  it('a plan that trips the safety guard is refused without --force (exit 3, nothing applied) and applied whole with it', async () => {
    await s.sync();
    s.directory.updateUser('alan@example.com', { assigned: false });
    s.directory.updateUser('edsger@example.com', { assigned: false });
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    const env = { MAX_DEACTIVATIONS: '1' };
    expect(await planIn(env)).toBe(2);
    expect(readPlan().plan.safety).toMatchObject({ tripped: true, forced: false });
    const before = writeCount();

    expect(await applyIn(env)).toBe(3);
    expect(applyReport()).toContain('trips the safety guard: 2 deactivations exceed MAX_DEACTIVATIONS=1');
    expect(applyReport()).toContain(`run \`apply ${join(s.dir, 'plan.json')} --force\``);
    expect(writeCount()).toBe(before);

    expect(await applyIn(env, { force: true })).toBe(0);
    expect(writesSince(before).sort()).toEqual(['PUT /Users ada@example.com', 'PUT /Users alan@example.com', 'PUT /Users edsger@example.com']);
    expect(s.docker.user('alan@example.com')?.active).toBe(false);
    expect(s.docker.user('edsger@example.com')?.active).toBe(false);
  });

  it("Docker changed a planned account behind the tool's back after `plan`: refused, and the report says which value", async () => {
    await s.sync();
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    expect(await planIn()).toBe(2);
    s.docker.editUser(s.docker.user('ada@example.com')?.id as string, { givenName: 'Adelaide' });
    const before = writeCount();
    expect(await applyIn()).toBe(5);
    expect(applyReport()).toContain('change givenName: reviewed (none), now "Adelaide" → "Ada" (drift)');
    // The same refusal for a script: which operation, which field, what was reviewed and what holds now.
    expect(await applyCommand(context(), join(s.dir, 'plan.json'), { format: 'json', output: join(s.dir, 'apply.json') })).toBe(5);
    const refusal = JSON.parse(readFileSync(join(s.dir, 'apply.json'), 'utf8'));
    expect(refusal).toMatchObject({ format: 'docker-idp-sync/apply-refusal', version: 1, verdict: 'stale' });
    expect(refusal.differences).toMatchObject([{ kind: 'update', subject: 'ada@example.com', change: 'changed', fields: [{ field: 'change givenName', reviewed: '(none)', now: '"Adelaide" → "Ada" (drift)' }] }]);
    expect(writeCount()).toBe(before);
  });

  it('a plan made for another app, or edited by hand, is refused before either side is read', async () => {
    await s.sync();
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    expect(await planIn()).toBe(2);
    const reads = s.world.idp.requests.length;
    const before = writeCount();

    const other = await applyIn(OTHER_APP_ENV[source]).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(PlanFileError);
    expect((other as PlanFileError).message).toMatch(/it was made for ".+", but this configuration reads ".+"/);

    const path = join(s.dir, 'plan.json');
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('"familyName": "King"');
    writeFileSync(path, text.replace('"familyName": "King"', '"familyName": "Kong"'));
    const tampered = await applyIn().catch((e: unknown) => e);
    expect(tampered).toBeInstanceOf(PlanFileError);
    expect((tampered as PlanFileError).describe()).toContain('does not match its digest');

    expect(s.world.idp.requests.length).toBe(reads);
    expect(writeCount()).toBe(before);
    expect(s.docker.user('ada@example.com')?.familyName).toBe('Lovelace');
  });

  it('a secret that reached the plan (an IdP value equal to a token) is redacted in the file, and that plan is never applied', async () => {
    await s.sync();
    s.directory.updateUser('ada@example.com', { familyName: s.world.env.DOCKER_SCIM_TOKEN as string });
    expect(await planIn()).toBe(2);
    const text = readFileSync(join(s.dir, 'plan.json'), 'utf8');
    for (const secret of s.world.secrets) expect(text.includes(secret), `secret ${secret.slice(0, 6)}… in the plan file`).toBe(false);
    expect(text).toContain('[redacted]');
    // The file no longer says what the IdP holds, so it cannot match a fresh plan: refused, not half-applied.
    const before = writeCount();
    expect(await applyIn()).toBe(5);
    expect(writeCount()).toBe(before);
  });

  it('changes made in the IdP after `plan` are not applied by `apply`, and the report lists them', async () => {
    await s.sync();
    s.directory.updateUser('ada@example.com', { familyName: 'King' });
    expect(await planIn()).toBe(2);
    s.directory.addUser({ email: 'lin@example.com', givenName: 'Lin', familyName: 'Ma' });
    s.directory.updateUser('barbara@example.com', { familyName: 'Jones' });
    const before = writeCount();

    expect(await applyIn()).toBe(0);
    expect(writesSince(before)).toEqual(['PUT /Users ada@example.com']);
    expect(s.docker.user('lin@example.com')).toBeUndefined();
    expect(s.docker.user('barbara@example.com')?.familyName).toBe('Liskov');
    const report = applyReport();
    expect(report).toContain('Not applied (not in the reviewed plan; run `plan` again to review them):');
    expect(report).toMatch(/ {2}create lin@example.com\n/);
    expect(report).toMatch(/ {2}update barbara@example.com\n/);
    // lin's create puts her in the default team itself: no team change to list.
    expect(report).not.toMatch(/team-add/);
    // The next plan has them, and only them.
    const next = await s.sync({ dryRun: true });
    expect(next.plan.operations.map((o) => `${o.kind} ${'userName' in o ? o.userName : o.group}`)).toEqual(['create lin@example.com', 'update barbara@example.com']);
  });
});

/** DESIGN invariant 7 for `apply`: it runs through the same lock, journal and recovery as `sync`. */
describe('a kill -9 in the middle of apply', () => {
  const s = scenarioPerTest({ source: 'okta', docker: { latencyMs: 15 } }, (sc) => {
    for (let i = 0; i < 30; i++) sc.directory.addUser({ email: `p${i}@example.com`, givenName: 'P', familyName: String(i), attributes: i % 3 === 0 ? { dockerTeam: 'platform' } : {} });
  });

  it('then a sync converges with no duplicate and no lost change, and the plan is not applied twice', { timeout: 240_000 }, async () => {
    expect((await s.cli(['plan', '--out', 'plan.json'])).code).toBe(2);
    let writes = 0;
    const killed = await s.cli(['apply', 'plan.json'], {
      onSpawn: (child) => {
        s.docker.http.onRequest = (rec) => {
          if (rec.method !== 'GET' && ++writes === 8) child.kill('SIGKILL');
        };
      },
    });
    s.docker.http.onRequest = null;
    expect(killed.signal).toBe('SIGKILL');
    const created = s.docker.allUsers().length;
    expect(created).toBeGreaterThan(0);
    expect(created).toBeLessThan(30);

    // The rest of the reviewed plan no longer matches what is now planned (some of it is done):
    // apply refuses rather than guess; a sync then finishes the job from the journal.
    const again = await s.cli(['apply', 'plan.json']);
    expect(again.code).toBe(5);
    expect(s.docker.allUsers()).toHaveLength(created);
    const recovery = await s.cli(['sync']);
    expect(recovery.code).toBe(0);
    const names = s.docker.allUsers().map((u) => u.userName.toLowerCase());
    expect(names).toHaveLength(30);
    expect(new Set(names).size).toBe(30);
    expect(s.docker.teamMembers('acme:platform')).toHaveLength(10);
    expect((await s.sync()).writes).toBe(0);
  });
});
