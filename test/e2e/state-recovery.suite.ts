import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorldSource } from '../../src/sandbox/world.ts';
import { Scenario } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';

/** A missing, corrupt or locked state file: a clear error, and `state rebuild` as the way out. */
export function stateRecoverySuite(source: WorldSource): void {
  describe(`state file trouble and state rebuild (${source})`, () => {
    let s: Scenario;
    beforeEach(async () => {
      s = await Scenario.start({ source });
      seedPeople(s.directory);
      expect((await s.cli(['sync'])).code).toBe(0);
    });
    afterEach(async () => {
      await s.stop();
    });

    const removeState = () => {
      for (const f of readdirSync(s.dir).filter((f) => f.startsWith('state.db'))) rmSync(`${s.dir}/${f}`);
    };

    it('a lost state file: rebuild --dry-run shows the links and writes nothing; rebuild re-links, and the next sync has nothing to do', async () => {
      removeState();
      const dry = await s.cli(['state', 'rebuild', '--dry-run']);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('6 IdP users re-linked to the Docker account with their userName');
      expect(dry.stdout).toMatch(/link\s+ada@example.com/);
      expect(existsSync(s.stateDb)).toBe(false);
      const writes = s.docker.http.writes().length;

      const rebuilt = await s.cli(['state', 'rebuild']);
      expect(rebuilt.code).toBe(0);
      expect(s.state((st) => st.links()).length).toBe(6);
      const next = await s.cli(['sync', '--dry-run', '--format', 'json']);
      expect(JSON.parse(next.stdout).operations).toEqual([]);
      expect(next.code).toBe(0);
      expect(s.docker.http.writes().length).toBe(writes);
    });

    it('a corrupt state file: sync stops with the way out; rebuild keeps the corrupt file aside and recovers', async () => {
      removeState();
      writeFileSync(s.stateDb, 'this is not a database'.repeat(100));
      const writes = s.docker.http.writes().length;
      const sync = await s.cli(['sync']);
      expect(sync.code).toBe(1);
      expect(sync.stderr).toContain('is corrupt or not a docker-idp-sync database');
      expect(sync.stderr).toContain('state rebuild');
      expect(s.docker.http.writes().length).toBe(writes);

      expect((await s.cli(['state', 'rebuild'])).code).toBe(0);
      expect(readdirSync(s.dir).some((f) => /^state\.db\.corrupt-\d{8}T\d{6}Z$/.test(f))).toBe(true);
      expect((await s.cli(['sync'])).code).toBe(0);
      expect((await s.sync()).writes).toBe(0);
    });

    it('a healthy state file is not replaced without --force, and is kept as a .bak copy with it', async () => {
      const refused = await s.cli(['state', 'rebuild']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('is readable and links 6 accounts');
      const forced = await s.cli(['state', 'rebuild', '--force']);
      expect(forced.code).toBe(0);
      expect(readdirSync(s.dir).some((f) => /^state\.db\.bak-/.test(f))).toBe(true);
      expect(s.state((st) => st.links()).length).toBe(6);
    });

    it('rebuild refuses to work from an incomplete IdP read, and writes nothing', async () => {
      removeState();
      s.world.idp.faults.add({ route: source === 'okta' ? 'listAppUsers' : 'appRoleAssignedTo', times: Infinity, action: { type: 'status', status: 500, body: { error: 'boom' } } });
      const run = await s.cli(['state', 'rebuild'], { env: { IDP_MAX_RETRIES: '0' } });
      expect(run.code).toBe(1);
      expect(existsSync(s.stateDb)).toBe(false);
    });
  });
}
