import { rmSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { Explanation } from '../../src/report/explain.ts';
import { explainEmail } from '../../src/run/explain.ts';
import { createDockerClient, createSource, sourceIdentity } from '../../src/run/factory.ts';
import type { WorldSource } from '../../src/sandbox/world.ts';
import { openState } from '../../src/state/open.ts';
import { Scenario } from '../support/harness.ts';
import { captureLogs } from '../support/logs.ts';
import { seedPeople } from '../support/people.ts';

/**
 * `explain EMAIL` for people reached through each row of Docker's placement table (seedPeople: Ada
 * row 1 with an owner attribute, Alan row 2, Grace row 3 plus a team group, Edsger row 4, Ken
 * through the "Docker Users" group), for each source: the row, where each value came from, what the
 * next sync would do, and, once synced, the journal; never a write to Docker or the state file.
 */

async function explain(s: Scenario, email: string): Promise<Explanation> {
  const config = loadConfig({ env: s.env() });
  const logger = captureLogs(config.log.level, config.secrets).logger;
  const state = openState({ path: config.state.db, dryRun: true });
  try {
    return await explainEmail({ config, source: createSource(config, logger), docker: createDockerClient(config, logger), state, logger, sourceIdentity: sourceIdentity(config) }, email);
  } finally {
    state.close();
  }
}

/**
 * What happened to the files named like `file` (its -wal, -shm, journal) while `work` ran, by the
 * folder's change events. A marker file written afterwards flushes them: events come in order, so
 * once the marker's is seen, every earlier one has been too.
 */
async function touchedBeside<T>(file: string, work: () => Promise<T>): Promise<{ result: T; touched: string[] }> {
  const dir = dirname(file);
  const name = basename(file);
  const marker = `explain-marker-${process.pid}`;
  const touched: string[] = [];
  let seen: () => void = () => {};
  const markerSeen = new Promise<void>((resolve) => (seen = resolve));
  const watcher = watch(dir, (event, changed) => {
    if (changed === marker) seen();
    else if (changed?.startsWith(name)) touched.push(`${event} ${changed}`);
  });
  try {
    const result = await work();
    writeFileSync(join(dir, marker), '');
    await markerSeen;
    return { result, touched };
  } finally {
    watcher.close();
    rmSync(join(dir, marker), { force: true });
  }
}

describe.each<WorldSource>(['okta', 'entra'])('explain (%s)', (source) => {
  let s: Scenario;
  beforeAll(async () => {
    s = await Scenario.start({ source });
    seedPeople(s.directory);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const role = source === 'okta' ? 'profile.dockerRole (Okta app user profile)' : "the app role of the user's assignments to the Docker app";
  const org = source === 'okta' ? 'profile.dockerOrg (Okta app user profile)' : 'the directory extension';
  const team = source === 'okta' ? 'profile.dockerTeam (Okta app user profile)' : 'the directory extension';
  // Okta's app user names one way in (scope USER wins); Entra lists every assignment, a team group's too.

  it.each([
    { email: 'ada@example.com', row: 1, values: { role: 'owner', org: 'acme', team: 'everyone' }, from: { role, org: 'the default organization (DOCKER_DEFAULT_ORG=acme)', team: 'the default team (DOCKER_DEFAULT_TEAM=everyone)' }, teams: ['acme:everyone'], via: 'directly' },
    { email: 'alan@example.com', row: 2, values: { role: 'member', org: 'acmelabs', team: null }, from: { role: 'member by default', org, team: 'dockerOrg is set: no team' }, teams: [], via: 'directly' },
    { email: 'grace@example.com', row: 3, values: { role: 'editor', org: 'acme', team: 'backend' }, from: { role, org: 'the default organization', team }, teams: ['acme:backend', 'acme:platform'], via: source === 'okta' ? 'directly' : 'directly and through the group acme:platform' },
    { email: 'edsger@example.com', row: 4, values: { role: 'member', org: 'acmelabs', team: 'research' }, from: { role: 'member by default', org, team }, teams: ['acmelabs:research'], via: 'directly' },
    { email: 'ken@example.com', row: 1, values: { role: 'member', org: 'acme', team: 'everyone' }, from: { role: 'member by default', org: 'the default organization', team: 'the default team' }, teams: ['acme:everyone'], via: 'through the group Docker Users' },
  ])('before the first sync: $email, row $row, each value with its source, and a create next', { timeout: 60_000 }, async ({ email, row, values, from, teams, via }) => {
    const writes = s.docker.http.writes().length;
    const e = await explain(s, email);
    expect(e.people).toHaveLength(1);
    const p = e.people[0]!;
    const t = p.idp!;
    expect(t.row).toBe(row);
    expect(t.assignment).toBe(via);
    expect({ role: t.role.value, org: t.org.value, team: t.team.value }).toEqual(values);
    expect(t.role.from).toContain(from.role);
    expect(t.org.from).toContain(from.org);
    expect(t.team.from).toContain(from.team);
    expect(t.teams.map((x) => x.team)).toEqual(teams);
    expect(p.docker).toEqual({ kind: 'none' });
    expect(p.next.map((o) => o.kind)).toContain('create');
    expect(p.next.find((o) => o.kind === 'create')?.reason).toBeTruthy();
    expect(p.journal).toEqual([]);
    expect(s.docker.http.writes().length).toBe(writes);
  });

  it('names what gives each team: the attribute, the default team, or the group', { timeout: 60_000 }, async () => {
    const grace = (await explain(s, 'grace@example.com')).people[0]!.idp!;
    expect(grace.teams).toEqual([
      { team: 'acme:backend', from: expect.stringContaining('dockerTeam') },
      { team: 'acme:platform', from: 'the group acme:platform' },
    ]);
    expect(grace.rowRule).toMatch(/dockerTeam set, dockerOrg unset/);
  });

  it('after a sync: the account Docker holds, nothing next, the journal; and explain writes nothing anywhere', { timeout: 60_000 }, async () => {
    await s.sync();
    const hash = s.stateHash();
    const writes = s.docker.http.writes().length;

    // Never opened for writing, not only left as it was: a SQLite connection that may write makes
    // its -wal and -shm files beside the state file, even when it writes nothing.
    const opened = await touchedBeside(s.stateDb, () => s.cli(['explain', 'ada@example.com']));
    expect(opened.touched).toEqual([]);
    const cli = opened.result;
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain("row 1 of Docker's table: neither dockerOrg nor dockerTeam set");
    expect(cli.stdout).toMatch(new RegExp(`role\\s+owner ← .*${role.slice(0, 30).replace(/[()]/g, '.')}`));
    expect(cli.stdout).toContain(`account ${s.docker.user('ada@example.com')?.id} (created by this tool): active, role owner, org acme`);
    expect(cli.stdout).toContain('nothing: Docker matches');
    expect(cli.stdout).toMatch(/run \S+\s+create succeeded \(Docker /);

    const json = await s.cli(['explain', 'KEN@example.com', '--format', 'json']);
    expect(json.code).toBe(0);
    const ken = JSON.parse(json.stdout) as Explanation & { format: string };
    expect(ken.format).toBe('docker-idp-sync/explain');
    expect(ken.people[0]?.idp?.assignment).toBe('through the group Docker Users');
    expect(ken.people[0]?.journal.map((j) => `${j.kind} ${j.status}`)).toContain('create succeeded');

    // A change in the IdP shows as the next operation, with its reason.
    s.directory.setAttribute('alan@example.com', 'dockerRole', 'editor');
    const alan = (await explain(s, 'alan@example.com')).people[0]!;
    expect(alan.next).toEqual([expect.objectContaining({ kind: 'update', lines: ['role: "member" → "editor"'] })]);

    expect(s.stateHash()).toBe(hash);
    expect(s.docker.http.writes().length).toBe(writes);
  });

  it('an email found nowhere: exit 1, named, nothing written', { timeout: 60_000 }, async () => {
    const cli = await s.cli(['explain', 'nobody@example.com']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('"nobody@example.com"');
  });
});
