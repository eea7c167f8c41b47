import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorldSource } from '../../src/sandbox/world.ts';
import { until } from '../support/daemon.ts';
import { Scenario } from '../support/harness.ts';
import { IDP_SECRET_ENV } from '../support/idp.ts';
import { seedPeople } from '../support/people.ts';

/** DESIGN.md invariants that need a whole run to see: 3 (PUT semantics), 7 (crash), 8 (secrets); for each source. */
export function invariantsSuite(source: WorldSource): void {
  describe(`invariants, end to end (${source})`, () => {
    let s: Scenario;
    afterEach(async () => {
      await s?.stop();
    });

    it('3: every PUT carries active explicitly, and no request ever DELETEs', async () => {
      s = await Scenario.start({ source });
      seedPeople(s.directory);
      await s.sync();
      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      s.directory.updateUser('alan@example.com', { assigned: false });
      await s.sync();
      s.directory.updateUser('alan@example.com', { assigned: true });
      s.directory.setAttribute('grace@example.com', 'dockerRole', 'owner');
      await s.sync();
      const puts = s.docker.http.requests.filter((r) => r.method === 'PUT');
      expect(puts.length).toBeGreaterThanOrEqual(4);
      for (const put of puts) expect(typeof (put.body as { active?: unknown }).active, put.path).toBe('boolean');
      expect(s.docker.quirks.putWithoutActive).toBe(0);
      expect(s.docker.http.count({ method: 'DELETE' })).toBe(0);
    });

    it('8: no secret appears in logs, reports, errors or the state file', async () => {
      s = await Scenario.start({ source });
      seedPeople(s.directory);
      s.directory.addUser({ email: 'bad-email', givenName: 'X', familyName: 'Y' });
      const outputs: string[] = [];
      const report = join(s.dir, 'report.md');
      for (const args of [['sync', '--dry-run'], ['sync', '--format', 'json'], ['sync', '--format', 'markdown', '--output', report], ['status'], ['validate-config']]) {
        const run = await s.cli(args, { env: { LOG_LEVEL: 'trace' } });
        outputs.push(run.stdout, run.stderr);
      }
      // A failing run: Docker rejects its token, the IdP rejects its credential; errors must not echo either.
      const wrongDocker = 'dckr_scim_wrong_token_4711abcdef';
      const wrongIdp = 'wrong-idp-credential-4711abcdef';
      const wrong: Array<Record<string, string>> = [{ DOCKER_SCIM_TOKEN: wrongDocker }, { [IDP_SECRET_ENV[source]]: wrongIdp }];
      for (const env of wrong) {
        const run = await s.cli(['sync'], { env: { ...env, LOG_LEVEL: 'trace', IDP_MAX_RETRIES: '0', DOCKER_MAX_RETRIES: '0' } });
        expect(run.code).toBe(1);
        outputs.push(run.stdout, run.stderr);
      }
      outputs.push(readFileSync(report, 'utf8'));
      const files = readdirSync(s.dir).filter((f) => f.startsWith('state.db'));
      for (const f of files) outputs.push(readFileSync(join(s.dir, f)).toString('latin1'));
      const all = outputs.join('\n');
      // The outputs really are the reports and the failures (a check that cannot pass on empty text).
      expect(all).toContain('INVALID_EMAIL');
      expect(all).toMatch(/401|invalid_client|AADSTS/);
      for (const secret of [...s.world.secrets, wrongDocker, wrongIdp]) {
        expect(all.includes(secret), `secret ${secret.slice(0, 6)}… leaked`).toBe(false);
        expect(all.includes(Buffer.from(secret).toString('base64')), 'base64 form leaked').toBe(false);
      }
    });

    it('7: a create whose answer was lost (truncated 201) is recovered as ours on the next run, even with ADOPT_EXISTING=false', async () => {
      s = await Scenario.start({ source });
      seedPeople(s.directory);
      s.docker.http.faults.add({ route: 'createUser', when: 'after', times: 1, action: { type: 'truncate' } });
      const first = await s.sync({ env: { ADOPT_EXISTING: 'false' } });
      const lost = first.outcome.result.results.find((r) => r.status === 'failed');
      expect(lost).toMatchObject({ kind: 'create', error: { code: 'DOCKER_BAD_RESPONSE' } });
      expect(s.docker.allUsers()).toHaveLength(6);
      const second = await s.sync({ env: { ADOPT_EXISTING: 'false' } });
      expect(second.outcome.result.recovered).toEqual([lost?.subject]);
      expect(second.plan.findings.map((f) => f.code)).not.toContain('ADOPTABLE_ACCOUNT');
      expect(s.state((st) => st.links().find((l) => l.userName === lost?.subject)?.origin)).toBe('created');
      expect((await s.sync()).plan.operations).toEqual([]);
    });

    /**
     * Kill points. 'after' kills as the Nth write's answer goes out (acknowledged; journaled or
     * not). 'lands' holds a write before Docker acts on it, kills the client meanwhile, and lets the
     * write land afterwards (it reached Docker, nobody heard the answer). 'lost' holds it and drops
     * it (it never reached Docker). With 40 people, writes 1-5 create teams, the next 40 create
     * users, the rest change team memberships.
     */
    const KILLS: Array<{ label: string; mode: 'after' | 'lands' | 'lost'; route?: string; at: number }> = [
      { label: 'after the first write is answered', mode: 'after', at: 1 },
      { label: 'after a team create is answered', mode: 'after', at: 4 },
      { label: 'after a few creates are answered', mode: 'after', at: 9 },
      { label: 'in the middle of the creates', mode: 'after', at: 23 },
      { label: 'after the last creates are answered', mode: 'after', at: 44 },
      { label: 'during the team changes', mode: 'after', at: 47 },
      { label: 'while a create is in flight, which lands after the kill', mode: 'lands', route: 'createUser', at: 12 },
      { label: 'while a create is in flight, which never lands', mode: 'lost', route: 'createUser', at: 12 },
      { label: 'while a team change is in flight, which lands after the kill', mode: 'lands', route: 'patchGroup', at: 1 },
    ];
    // Every kill point for Okta; a spread of them for Entra (the apply side is the same code).
    const kills = source === 'okta' ? KILLS : KILLS.filter((_, i) => i % 3 === 0);

    it.each(kills)('7: a kill -9 $label, then a new run, converges with no duplicate and no lost change', async ({ mode, route, at }) => {
      s = await Scenario.start({ source, docker: { latencyMs: 15 } });
      const squads = Array.from({ length: 5 }, (_, k) => s.directory.addGroup(`acme:squad${k}`));
      for (let i = 0; i < 40; i++) {
        const u = s.directory.addUser({ email: `p${i}@example.com`, givenName: 'P', familyName: String(i), attributes: i % 3 === 0 ? { dockerTeam: `team${i % 4}` } : {} });
        if (i % 2 === 0) squads[i % 5]?.members.add(u.id);
      }
      if (mode !== 'after') {
        s.docker.http.faults.add({ route, skip: at, action: { type: 'delay', ms: 1500 } });
        if (mode === 'lost') s.docker.http.faults.add({ route, skip: at, action: { type: 'drop' } });
      }
      let writes = 0;
      const crashed = await s.cli(['sync'], {
        onSpawn: (child) => {
          if (mode === 'after') {
            s.docker.http.onRequest = (rec) => {
              if (rec.method === 'GET') return;
              writes += 1;
              if (writes === at) child.kill('SIGKILL');
            };
            // The write after the first `at` of that route has reached Docker and is held there for
            // 1.5 s: kill while it is (waited for, not timed, so a loaded machine changes nothing).
          } else void until(() => s.docker.http.faults.pending() === 0).then(() => child.kill('SIGKILL'));
        },
      });
      s.docker.http.onRequest = null;
      expect(crashed.signal).toBe('SIGKILL');
      if (mode !== 'after') {
        // Let the held write finish (or be dropped) on Docker's side before looking.
        await until(() => s.docker.http.requests.filter((r) => r.route === route).length > at);
      }
      expect(s.docker.allUsers().length).toBeLessThan(40 + 1);

      // A dry run right after the kill (a WAL and its index lie beside the file) changes none of them.
      const files = s.stateHash();
      // (2 when work is left; 0 when everything in flight had landed and the journal recovers it.)
      expect([0, 2]).toContain((await s.cli(['sync', '--dry-run'])).code);
      expect(s.stateHash()).toBe(files);

      const recovery = await s.cli(['sync']);
      expect(recovery.code).toBe(0);
      const names = s.docker.allUsers().map((u) => u.userName.toLowerCase());
      expect(names).toHaveLength(40);
      expect(new Set(names).size).toBe(40);
      expect(s.state((st) => st.links()).length).toBe(40);
      const runs = s.state((st) => st.recentRuns(5));
      expect(runs.map((r) => r.status)).toEqual(['succeeded', 'interrupted']);
      const journal = s.state((st) => st.journalOf(runs[1]?.id as string));
      expect(journal.every((j) => j.status !== 'started' || journal.some((k) => k.opId === j.opId && k.seq > j.seq))).toBe(true);
      // The journal explains the recovery: writes in flight at the kill are closed out by the new run.
      expect(journal.filter((j) => j.status === 'recovered' || j.status === 'abandoned').length).toBeGreaterThan(0);
      expect(journal.filter((j) => j.status === 'recovered' || j.status === 'abandoned').every((j) => j.detail?.by === runs[0]?.id)).toBe(true);
      // A create that landed unheard is recovered as ours; one that never landed is abandoned and redone.
      if (route === 'createUser' && mode === 'lands') expect(journal.some((j) => j.status === 'recovered')).toBe(true);
      if (mode === 'lost') expect(journal.some((j) => j.status === 'abandoned' && j.kind === 'create')).toBe(true);
      // No change lost, none made twice: a third run has nothing to do, and Docker holds what the IdP says.
      const again = await s.sync();
      expect(again.plan.operations).toEqual([]);
      expect(again.writes).toBe(0);
      expect(s.state((st) => st.links().filter((l) => l.origin === 'adopted'))).toEqual([]);
      const people = (keep: (i: number) => boolean) => Array.from({ length: 40 }, (_, i) => i).filter(keep).map((i) => `p${i}@example.com`).sort();
      for (let t = 0; t < 4; t++) expect(s.docker.teamMembers(`acme:team${t}`)).toEqual(people((i) => i % 3 === 0 && i % 4 === t));
      for (let k = 0; k < 5; k++) expect(s.docker.teamMembers(`acme:squad${k}`)).toEqual(people((i) => i % 2 === 0 && i % 5 === k));
    });
  });
}
