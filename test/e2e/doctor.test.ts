import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logging/logger.ts';
import type { Check } from '../../src/model/check.ts';
import type { WorldOptions, WorldSource } from '../../src/sandbox/world.ts';
import { runDoctor } from '../../src/run/doctor.ts';
import { Scenario } from '../support/harness.ts';
import { ForwardingProxy } from '../support/proxy.ts';
import { seedPeople } from '../support/people.ts';

/**
 * `doctor` against every misconfiguration it claims to catch: each row breaks one thing and the
 * line that names it must fail (or warn) with its fix, while the rest of a working setup stays
 * green. It writes nothing: not to Docker, not to the state file.
 */

const quiet = createLogger({ level: 'silent' });

/** An Okta OAuth service app (private_key_jwt), whose granted scopes a row can narrow. */
const OKTA_CLIENT_ID = '0oadoctor0app';
const oktaKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const oauth = (grantedScopes?: string[]) => ({ okta: { oauth: { clientId: OKTA_CLIENT_ID, publicKeyPem: oktaKey.publicKey, ...(grantedScopes ? { grantedScopes } : {}) } } });
const OAUTH_ENV = { OKTA_API_TOKEN: '', OKTA_CLIENT_ID, OKTA_PRIVATE_KEY: oktaKey.privateKey, OKTA_KEY_ID: 'doctor' };

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function line(checks: readonly Check[], id: string): Check {
  const found = checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} line in ${JSON.stringify(checks.map((c) => c.id))}`);
  return found;
}

interface Row {
  readonly name: string;
  readonly sources?: readonly WorldSource[];
  readonly world?: Omit<WorldOptions, 'source'>;
  readonly env?: (s: Scenario) => Record<string, string> | Promise<Record<string, string>>;
  readonly prepare?: (s: Scenario) => void | Promise<void>;
  readonly now?: () => number;
  readonly want: { readonly id: string; readonly status: Check['status']; readonly detail: RegExp; readonly fix?: RegExp };
}

const rows: Row[] = [
  { name: 'a missing Docker token', env: () => ({ DOCKER_SCIM_TOKEN: '' }), want: { id: 'config', status: 'fail', detail: /DOCKER_SCIM_TOKEN: is required/ } },
  { name: 'a Docker token Docker refuses', env: () => ({ DOCKER_SCIM_TOKEN: 'dckr_scim_wrong' }), want: { id: 'docker.token', status: 'fail', detail: /401/, fix: /DOCKER_SCIM_TOKEN/ } },
  {
    name: 'a Docker base URL without /v2/scim/2.0',
    env: (s) => ({ DOCKER_SCIM_BASE_URL: new URL(s.world.env['DOCKER_SCIM_BASE_URL'] as string).origin + '/scim' }),
    want: { id: 'docker.token', status: 'fail', detail: /nothing SCIM answers/, fix: /ends in \/v2\/scim\/2\.0/ },
  },
  { name: 'a closed Docker port', env: async () => ({ DOCKER_SCIM_BASE_URL: `http://127.0.0.1:${await closedPort()}/v2/scim/2.0` }), want: { id: 'docker.reachable', status: 'fail', detail: /ECONNREFUSED/, fix: /firewall/ } },
  { name: 'an Okta org URL nothing answers at', sources: ['okta'], env: async () => ({ OKTA_ORG_URL: `http://127.0.0.1:${await closedPort()}` }), want: { id: 'idp.reachable', status: 'fail', detail: /ECONNREFUSED/, fix: /firewall/ } },
  { name: 'a Graph endpoint nothing answers at', sources: ['entra'], env: async () => ({ GRAPH_BASE_URL: `https://127.0.0.1:${await closedPort()}` }), want: { id: 'idp.reachable', status: 'fail', detail: /ECONNREFUSED/, fix: /firewall/ } },
  { name: 'an Okta token Okta refuses', sources: ['okta'], env: () => ({ OKTA_API_TOKEN: '00wrong-token' }), want: { id: 'idp.read', status: 'fail', detail: /401|E0000011|token/i, fix: /OKTA_API_TOKEN/ } },
  { name: 'a wrong OKTA_APP_ID', sources: ['okta'], env: () => ({ OKTA_APP_ID: '0oanosuchapp' }), want: { id: 'idp.read', status: 'fail', detail: /404|not found/i, fix: /OKTA_APP_ID/ } },
  {
    name: 'an OAuth service app without okta.logs.read (incremental runs stay full)',
    sources: ['okta'],
    world: oauth(),
    env: () => OAUTH_ENV,
    want: { id: 'idp.feed', status: 'warn', detail: /incremental runs will read everything/, fix: /okta\.logs\.read/ },
  },
  {
    name: 'an OAuth service app not granted okta.groups.read',
    sources: ['okta'],
    world: oauth(['okta.apps.read', 'okta.users.read']),
    env: () => OAUTH_ENV,
    want: { id: 'idp.read', status: 'fail', detail: /okta\.groups\.read/, fix: /scope/i },
  },
  {
    name: 'Group Push team groups on an org without the push mappings API',
    sources: ['okta'],
    world: { okta: { pushApi: 'absent' } },
    env: () => ({ OKTA_TEAM_GROUPS: 'push' }),
    want: { id: 'idp.read', status: 'fail', detail: /Group Push mappings/, fix: /OKTA_TEAM_GROUPS=rule/ },
  },
  {
    name: 'a team-group rule that matches no group',
    sources: ['okta'],
    env: () => ({ OKTA_TEAM_GROUPS: 'rule', OKTA_GROUP_RULE: 'startsWith:nomatch:' }),
    want: { id: 'idp.teams', status: 'warn', detail: /no org:team group found under OKTA_TEAM_GROUPS=rule \(startsWith:nomatch:\)/, fix: /OKTA_GROUP_RULE/ },
  },
  {
    name: 'an Entra app registration without User.Read.All',
    sources: ['entra'],
    world: { entra: { permissions: ['Application.Read.All', 'GroupMember.Read.All'] } },
    want: { id: 'idp.read', status: 'fail', detail: /403 Authorization_RequestDenied/, fix: /User\.Read\.All/ },
  },
  { name: 'a wrong Entra client secret', sources: ['entra'], env: () => ({ ENTRA_CLIENT_SECRET: 'wrong~secret' }), want: { id: 'idp.read', status: 'fail', detail: /secret|AADSTS|credential/i } },
  { name: 'a wrong ENTRA_APP_ID', sources: ['entra'], env: () => ({ ENTRA_APP_ID: '00000000-0000-4000-8000-000000000000' }), want: { id: 'idp.read', status: 'fail', detail: /servicePrincipals\(appId=.*404/, fix: /ENTRA_APP_ID/ } },
  {
    name: 'nobody assigned to the app',
    prepare: (s) => {
      for (const u of ['ada', 'alan', 'grace', 'edsger', 'barbara', 'ken']) s.directory.removeUser(`${u}@example.com`);
    },
    want: { id: 'idp.read', status: 'warn', detail: /nobody is assigned/, fix: /assign/ },
  },
  {
    name: 'STATE_DB naming another program\'s SQLite file',
    env: (s) => {
      const path = join(s.dir, 'other.db');
      const db = new BetterSqlite3(path);
      db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
      db.close();
      return { STATE_DB: path };
    },
    want: { id: 'state', status: 'fail', detail: /not a docker-idp-sync state file/, fix: /STATE_DB/ },
  },
  {
    name: 'STATE_DB where no file can be created',
    env: (s) => {
      writeFileSync(join(s.dir, 'a-file'), 'x');
      return { STATE_DB: join(s.dir, 'a-file', 'state.db') };
    },
    want: { id: 'state', status: 'fail', detail: /cannot be created/, fix: /STATE_DB/ },
  },
  {
    name: 'a state file bound to another IdP app',
    prepare: async (s) => {
      await s.sync();
      const db = new BetterSqlite3(s.stateDb);
      db.prepare("UPDATE meta SET value = 'okta https://other.okta.com app 0oaother' WHERE key = 'source'").run();
      db.close();
    },
    want: { id: 'state', status: 'fail', detail: /belongs to "okta https:\/\/other\.okta\.com/, fix: /new STATE_DB/ },
  },
  {
    name: 'users held for their data',
    prepare: (s) => {
      s.directory.updateUser('alan@example.com', { attributes: { dockerRole: 'superuser', dockerOrg: 'acmelabs' } });
      s.directory.addUser({ email: 'not-an-email', givenName: 'No', familyName: 'Mail' });
    },
    want: { id: 'idp.mapping', status: 'warn', detail: /5 active users map to Docker accounts, 0 inactive; 2 held for their data \(INVALID_EMAIL 1, UNKNOWN_ROLE 1\)/, fix: /sync --dry-run/ },
  },
  { name: 'a clock ten minutes fast', now: () => Date.now() + 600_000, want: { id: 'clock', status: 'fail', detail: /(59\d|60\d) s ahead of/, fix: /NTP/ } },
  { name: 'a clock two minutes slow', now: () => Date.now() - 120_000, want: { id: 'clock', status: 'warn', detail: /1[12]\d s behind/, fix: /NTP/ } },
];

describe.each(['okta', 'entra'] as const)('doctor (%s)', (source) => {
  let s: Scenario;
  beforeAll(async () => {
    s = await Scenario.start({ source });
  });
  afterAll(async () => {
    await s.stop();
  });

  const fresh = async (world: Omit<WorldOptions, 'source'> = {}): Promise<Scenario> => {
    await s.stop();
    s = await Scenario.start({ source, ...world });
    seedPeople(s.directory);
    return s;
  };

  it('a working setup is green on every line, and doctor writes nothing to Docker or the state file', async () => {
    await fresh();
    await s.sync();
    const hash = s.stateHash();
    const writes = s.docker.http.writes().length;
    const run = await s.cli(['doctor']);
    expect(run.code, run.stdout).toBe(0);
    for (const id of ['config', 'idp.reachable', 'docker.reachable', 'clock', 'idp.read', 'idp.attributes', 'idp.mapping', 'idp.teams', 'idp.feed', 'docker.token', 'docker.teams', 'state']) {
      expect(run.stdout, id).toMatch(new RegExp(`✔ ${id.replace('.', '\\.')}\\s`));
    }
    expect(run.stdout).toMatch(/6 users assigned to the Docker app/);
    expect(run.stdout).toMatch(/dockerRole from .*: 2 of 6/);
    expect(run.stdout).toMatch(/6 active users map to Docker accounts, 0 inactive; nobody held/);
    expect(run.stdout).toMatch(/12 ok · 0 warnings · 0 failed · 0 skipped/);
    expect(s.stateHash()).toBe(hash);
    expect(s.docker.http.writes().length).toBe(writes);
  });

  it.each(rows.filter((r) => !r.sources || r.sources.includes(source)))('names $name', async (row) => {
    await fresh(row.world);
    await row.prepare?.(s);
    const env = s.env(row.env ? await row.env(s) : {});
    const checks = await runDoctor({ load: () => loadConfig({ env }), logger: quiet, ...(row.now ? { now: row.now } : {}) });
    const got = line(checks, row.want.id);
    expect(got.status, JSON.stringify(got)).toBe(row.want.status);
    expect(got.detail).toMatch(row.want.detail);
    if (row.want.fix) expect(got.fix ?? '').toMatch(row.want.fix);
    // Only the broken part (and what depends on it) is off: nothing else fails for its cause.
    const others = checks.filter((c) => c.id !== row.want.id && c.status === 'fail');
    expect(others.map((c) => c.id)).toEqual([]);
  });

  it('a Docker connection without /Groups warns that teams are skipped and still exits 0', async () => {
    await s.stop();
    s = await Scenario.start({ source, docker: { groups: false } });
    seedPeople(s.directory);
    const run = await s.cli(['doctor', '--format', 'json']);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { failed: boolean; checks: Check[] };
    expect(doc.failed).toBe(false);
    expect(line(doc.checks, 'docker.teams')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/no \/Groups endpoint/) });
  });

  it('prints no secret, not even one a server echoes back in its error (invariant 8)', async () => {
    await fresh();
    // A Docker (or a proxy before it) that quotes the Authorization header in its refusal.
    const proxy = new ForwardingProxy({ target: s.docker.baseUrl });
    await proxy.start();
    proxy.intercept = (req) =>
      req.url.includes('/ServiceProviderConfig')
        ? { status: 401, headers: { 'content-type': 'application/scim+json' }, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401', detail: `refused ${String(req.headers.authorization)}` }) }
        : null;
    const refused: Record<string, string> = source === 'okta' ? { OKTA_API_TOKEN: '00refused-okta-token-7f3a9c' } : { ENTRA_CLIENT_SECRET: 'refused~entra-secret-7f3a9c' };
    try {
      const run = await s.cli(['doctor', '--log-level', 'debug'], { env: { ...refused, DOCKER_SCIM_BASE_URL: `${proxy.origin}${new URL(s.world.env['DOCKER_SCIM_BASE_URL'] as string).pathname}` } });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/✘ docker\.token .*refused Bearer \[redacted\]/);
      expect(run.stdout).toMatch(/✘ idp\.read/);
      const out = run.stdout + run.stderr;
      for (const secret of [...Object.values(refused), s.world.env['DOCKER_SCIM_TOKEN'] as string]) expect(out, "a secret in doctor's output").not.toContain(secret);
    } finally {
      await proxy.stop();
    }
  });

  it('an invalid configuration is its first lines, each with its fix, and exit 1; the rest is skipped', async () => {
    const run = await s.cli(['doctor'], { env: { DOCKER_SCIM_TOKEN: '', DOCKER_CONCURRENCY: '0' } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✘ config\s+DOCKER_SCIM_TOKEN: is required/);
    expect(run.stdout).toMatch(/✘ config\s+DOCKER_CONCURRENCY: must be at least 1/);
    expect(run.stdout).toMatch(/– state\s+skipped: the configuration is not valid/);
  });
});
