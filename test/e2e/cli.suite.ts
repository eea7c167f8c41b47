import { existsSync, readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openState } from '../../src/state/open.ts';
import type { WorldSource } from '../../src/sandbox/world.ts';
import { Scenario, scenarioPerTest } from '../support/harness.ts';
import { IDP_SECRET_ENV, OTHER_APP_ENV } from '../support/idp.ts';

/** The real binary: reports on stdout, logs on stderr, documented exit codes; for each source. */
function cliCommandTests(source: WorldSource): void {
  describe(`the CLI (${source})`, () => {
    const s = scenarioPerTest({ source });

    it('sync --dry-run sends zero writes, leaves the state file byte-for-byte unchanged, and exits 2 on changes', async () => {
      await s.cli(['sync']);
      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      s.directory.updateUser('alan@example.com', { assigned: false });
      const files = readdirSync(s.dir).sort();
      const hash = s.stateHash();
      const writes = s.docker.http.writes().length;

      const dry = await s.cli(['sync', '--dry-run']);
      expect(dry.code).toBe(2);
      expect(dry.stdout).toContain('dry run (nothing applied)');
      expect(dry.stdout).toMatch(/update\s+ada@example.com\s+familyName: "Lovelace" → "King"/);
      expect(dry.stdout).toMatch(/deactivate\s+alan@example.com/);
      expect(s.docker.http.writes().length).toBe(writes);
      expect(s.stateHash()).toBe(hash);
      expect(readdirSync(s.dir).sort()).toEqual(files);
    });

    it('sync --dry-run before any run creates no state file', async () => {
      const dry = await s.cli(['sync', '--dry-run', '--format', 'json']);
      expect(dry.code).toBe(2);
      expect(existsSync(s.stateDb)).toBe(false);
      const report = JSON.parse(dry.stdout);
      expect(report).toMatchObject({ format: 'docker-idp-sync/report', version: 1, kind: 'plan', dryRun: true, source });
      expect(report.operations.filter((o: { kind: string }) => o.kind === 'create')).toHaveLength(6);
      expect(s.docker.http.writes()).toEqual([]);
    });

    it('exit 0 when there is nothing to do; the markdown report can go to a file', async () => {
      expect((await s.cli(['sync'])).code).toBe(0);
      const out = join(s.dir, 'report.md');
      const dry = await s.cli(['sync', '--dry-run', '--format', 'markdown', '--output', out]);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toBe('');
      expect(readFileSync(out, 'utf8')).toContain('None: Docker already matches the IdP.');
    });

    it('findings at FAIL_ON severity exit 4 after everything else is applied, and say why; FAIL_ON=never keeps 0', async () => {
      s.directory.addUser({ email: 'not-an-email', givenName: 'Bad', familyName: 'Email' });
      const run = await s.cli(['sync']);
      expect(run.code).toBe(4);
      expect(run.stderr).toContain('exiting 4 (FAIL_ON=error)');
      expect(s.docker.user('ada@example.com')?.active).toBe(true);
      expect((await s.cli(['sync'], { env: { FAIL_ON: 'never' } })).code).toBe(0);
      // A dry run with nothing to change but a held user: 4 too, so CI notices before the sync does.
      expect((await s.cli(['sync', '--dry-run'])).code).toBe(4);
    });

    it('reports go to stdout and JSON logs to stderr, with a run id on every line of a run', async () => {
      const run = await s.cli(['sync', '--format', 'json']);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.kind).toBe('result');
      expect(report.status).toBe('succeeded');
      const lines = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as { runId?: string; msg: string });
      const runLines = lines.filter((l) => !('system' in l));
      expect(runLines.length).toBeGreaterThan(5);
      expect(runLines.every((l) => l.runId === report.runId)).toBe(true);
    });

    it('a safety trip applies the safe operations, holds the deactivations, says so and exits 3; --force lets them through', async () => {
      await s.cli(['sync']);
      for (const email of ['edsger@example.com', 'alan@example.com']) s.directory.updateUser(email, { assigned: false });
      s.directory.updateUser('grace@example.com', { familyName: 'Hopper-Murray' });
      const held = await s.cli(['sync'], { env: { MAX_DEACTIVATIONS: '1' } });
      expect(held.code).toBe(3);
      expect(held.stdout).toContain('Safety: HELD — 2 deactivations exceed MAX_DEACTIVATIONS=1');
      expect(held.stdout).toMatch(/deactivate\s+edsger@example.com.*blocked \(safety-threshold\)/);
      expect(s.docker.user('edsger@example.com')?.active).toBe(true);
      expect(s.docker.user('grace@example.com')?.familyName).toBe('Hopper-Murray');

      const forced = await s.cli(['sync', '--force'], { env: { MAX_DEACTIVATIONS: '1' } });
      expect(forced.code).toBe(0);
      expect(s.docker.user('edsger@example.com')?.active).toBe(false);
      expect(s.docker.user('alan@example.com')?.active).toBe(false);
      // --force is for one run: the next one is judged afresh (and has nothing left to do).
      expect((await s.cli(['sync', '--dry-run'], { env: { MAX_DEACTIVATIONS: '1' } })).code).toBe(0);
    });

    it('--no-deactivate plans deactivations and applies none', async () => {
      await s.cli(['sync']);
      s.directory.updateUser('alan@example.com', { assigned: false });
      const run = await s.cli(['sync', '--no-deactivate']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/deactivate\s+alan@example.com.*blocked \(deactivation-disabled\)/);
      expect(s.docker.user('alan@example.com')?.active).toBe(true);
    });

    it('one run at a time: a second run on the same state file is refused while the first holds it', async () => {
      await s.cli(['sync']);
      const state = openState({ path: s.stateDb });
      const release = state.acquireRunLock('test holder');
      try {
        const second = await s.cli(['sync']);
        expect(second.code).toBe(1);
        expect(second.stderr).toMatch(/another docker-idp-sync run holds the state file .*pid \d+ on /);
        // A dry run needs no lock: it reads a private copy.
        expect((await s.cli(['sync', '--dry-run'])).code).toBe(0);
      } finally {
        release();
        state.close();
      }
      expect((await s.cli(['sync'])).code).toBe(0);
    });

    it('bad configuration exits 1 and names the key and the fix', async () => {
      const run = await s.cli(['sync'], { env: { DOCKER_SCIM_BASE_URL: 'http://hub.docker.com/v2/scim/2.0' } });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('DOCKER_SCIM_BASE_URL (docker.scimBaseUrl): uses plain http:// to a non-loopback host');
      expect(run.stderr).toContain('fix: use the https:// address');
      expect(run.stderr).not.toMatch(/^\s+at /m);
    });

    it('validate-config prints each value and its origin, never a secret', async () => {
      const run = await s.cli(['validate-config']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Configuration is valid.');
      expect(run.stdout).toMatch(new RegExp(`${IDP_SECRET_ENV[source]}\\s+\\[set, hidden\\]\\s+\\(env\\)`));
      expect(run.stdout).toMatch(/MAX_DEACTIVATIONS\s+25\s+\(default\)/);
      for (const secret of s.world.secrets) expect(run.stdout + run.stderr).not.toContain(secret);
    });

    it('status lists the runs and the managed accounts', async () => {
      await s.cli(['sync']);
      const run = await s.cli(['status']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Managed:    6 accounts (6 active; 6 created, 0 adopted)');
      expect(run.stdout).toMatch(/succeeded\s+\S+ · \d+ ok, 0 failed, 0 blocked/);
    });

    it('refuses a state file that belongs to another app of the IdP', async () => {
      await s.cli(['sync']);
      const run = await s.cli(['sync'], { env: OTHER_APP_ENV[source] });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`belongs to "${source}`);
      expect(run.stderr).toContain('Use a new STATE_DB');
    });
  });
}

function sandboxCommandTests(source: WorldSource): void {
  describe(`the sandbox command (${source})`, () => {
    it('starts both emulators with seeded users, prints their URLs and tokens, and stops on SIGTERM', async () => {
      const s = await Scenario.start();
      try {
        let printed = '';
        let served: number[] = [];
        const run = await s.cli(['sandbox', '--source', source, '--users', '7', '--no-edge-cases'], {
          onSpawn: (child) => {
            child.stdout?.on('data', async (d) => {
              printed += d;
              if (!printed.includes('STATE_DB') || served.length > 0) return;
              served = [0];
              // While it runs, both emulators answer with the printed tokens.
              const e = Object.fromEntries([...printed.matchAll(/export (\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
              served = await Promise.all([
                fetch(`${e.DOCKER_SCIM_BASE_URL}/Users?count=1`, { headers: { authorization: `Bearer ${e.DOCKER_SCIM_TOKEN}` } }).then((r) => r.status),
                source === 'okta'
                  ? fetch(`${e.OKTA_ORG_URL}/api/v1/apps/${e.OKTA_APP_ID}/users`, { headers: { authorization: `SSWS ${e.OKTA_API_TOKEN}` } }).then((r) => r.status)
                  : graphDiscovery(String(e.ENTRA_AUTHORITY_HOST), String(e.ENTRA_TENANT_ID), readFileSync(String(e.NODE_EXTRA_CA_CERTS), 'utf8')),
              ]);
              child.kill('SIGTERM');
            });
          },
        });
        expect(served).toEqual([200, 200]);
        expect(run.code).toBe(0);
        const env = Object.fromEntries([...printed.matchAll(/export (\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
        if (source === 'okta') {
          expect(env.OKTA_ORG_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
          expect(env.OKTA_API_TOKEN).toBeTruthy();
        } else {
          expect(env.GRAPH_BASE_URL).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
          expect(env.ENTRA_CLIENT_SECRET).toBeTruthy();
          expect(readFileSync(String(env.NODE_EXTRA_CA_CERTS), 'utf8')).toContain('BEGIN CERTIFICATE');
        }
        expect(env.DOCKER_SCIM_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\/scim\/2\.0$/);
        expect(env.DOCKER_SCIM_TOKEN).toBeTruthy();
        expect(printed).toMatch(/Seeded users\s+7 \(7 assigned\)/);
      } finally {
        await s.stop();
      }
    });
  });
}

/** The emulator's OpenID discovery document, fetched trusting only the CA the sandbox printed. */
function graphDiscovery(origin: string, tenant: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(`${origin}/${tenant}/v2.0/.well-known/openid-configuration`, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

/** Every block of this suite for one IdP: one test file per source, so the two run in parallel. */
export function cliSuite(source: WorldSource): void {
  cliCommandTests(source);
  sandboxCommandTests(source);
}
