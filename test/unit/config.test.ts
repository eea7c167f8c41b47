import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS, ConfigError, loadConfig, type ConfigKey } from '../../src/config/index.ts';

const BASE = {
  SOURCE: 'okta',
  OKTA_ORG_URL: 'https://acme.okta.com',
  OKTA_APP_ID: '0oa1',
  OKTA_API_TOKEN: 'okta-token-123456',
  DOCKER_SCIM_BASE_URL: 'https://hub.docker.com/v2/scim/2.0',
  DOCKER_SCIM_TOKEN: 'scim-token-123456',
  DOCKER_DEFAULT_ORG: 'acme',
};

const ENTRA: Record<string, string> = {
  SOURCE: 'entra',
  ENTRA_TENANT_ID: 'contoso.onmicrosoft.com',
  ENTRA_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
  ENTRA_CLIENT_SECRET: 'entra-secret-value-123',
  ENTRA_APP_ID: '66666666-7777-8888-9999-00000000000A',
  DOCKER_SCIM_BASE_URL: 'https://hub.docker.com/v2/scim/2.0',
  DOCKER_SCIM_TOKEN: 'scim-token-123456',
  DOCKER_DEFAULT_ORG: 'acme',
};

/** A valid environment in which `key` is read (Entra keys need SOURCE=entra). */
function baseFor(key: ConfigKey): Record<string, string> {
  return key.source === 'entra' ? { ...ENTRA } : { ...BASE };
}

function problems(env: Record<string, string>, file?: string): string[] {
  try {
    loadConfig({ env, ...(file ? { file } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.env}: ${p.problem}`);
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('loads from environment variables with documented defaults', () => {
    const c = loadConfig({ env: BASE });
    expect(c.okta).toEqual({ orgUrl: 'https://acme.okta.com', appId: '0oa1', auth: { kind: 'token', token: 'okta-token-123456' }, teamGroups: ['assigned'], groupRule: null });
    expect(c.docker).toMatchObject({ verifiedDomains: null, orgs: null });
    expect(c.state.db).toBe('./data/state.db');
    expect(c.sync).toMatchObject({ adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 10 });
    expect(c.docker).toMatchObject({ defaultTeam: null, concurrency: 4, timeoutMs: 30_000, teamChunkSize: 100 });
    expect(c.secrets).toEqual(['okta-token-123456', 'scim-token-123456']);
  });

  it('names every missing required key at once, with the fix', () => {
    const err = (() => {
      try {
        loadConfig({ env: { SOURCE: 'okta' } });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected an error');
    })();
    expect(err.problems.map((p) => p.env).sort()).toEqual(['DOCKER_DEFAULT_ORG', 'DOCKER_SCIM_BASE_URL', 'DOCKER_SCIM_TOKEN', 'OKTA_API_TOKEN', 'OKTA_APP_ID', 'OKTA_ORG_URL']);
    expect(err.message).toContain('DOCKER_SCIM_BASE_URL (docker.scimBaseUrl): is required');
    expect(err.message).toContain('fix: set DOCKER_SCIM_BASE_URL or docker.scimBaseUrl in the config file');
  });

  it.each<{ env: Record<string, string>; want: string }>([
    { env: { OKTA_ORG_URL: 'http://acme.okta.com' }, want: 'OKTA_ORG_URL: uses plain http:// to a non-loopback host' },
    { env: { DOCKER_SCIM_BASE_URL: 'not a url' }, want: 'DOCKER_SCIM_BASE_URL: is not a valid URL' },
    { env: { DOCKER_SCIM_BASE_URL: 'ftp://x/y' }, want: 'DOCKER_SCIM_BASE_URL: must be an https:// URL' },
    { env: { MAX_DEACTIVATIONS: '-1' }, want: 'MAX_DEACTIVATIONS: must be at least 0' },
    { env: { MAX_DEACTIVATION_PERCENT: 'ten' }, want: 'MAX_DEACTIVATION_PERCENT: must be a number' },
    { env: { ADOPT_EXISTING: 'maybe' }, want: 'ADOPT_EXISTING: must be true or false' },
    { env: { LOG_LEVEL: 'loud' }, want: 'LOG_LEVEL: must be one of' },
    { env: { SOURCE: 'ldap' }, want: 'SOURCE: must be one of: okta, entra' },
    { env: { OKTA_CLIENT_ID: '0oa5', OKTA_PRIVATE_KEY: 'x' }, want: 'OKTA_API_TOKEN: is set together with' },
    { env: { DOCKER_SCIM_BASE_URL: 'https://user:tok@hub.docker.com/v2/scim/2.0' }, want: 'DOCKER_SCIM_BASE_URL: contains a user name or password' },
    { env: { OKTA_ORG_URL: 'https://acme.okta.com/admin' }, want: 'OKTA_ORG_URL: must be just the scheme and host' },
    { env: { DOCKER_CONCURRENCY: '0x10' }, want: 'DOCKER_CONCURRENCY: must be a whole number' },
    { env: { MAX_DEACTIVATIONS: '1e3' }, want: 'MAX_DEACTIVATIONS: must be a whole number' },
  ])('rejects $want', ({ env, want }) => {
    expect(problems({ ...BASE, ...env }).join('\n')).toContain(want);
  });

  it('accepts plain http only to loopback (the emulators)', () => {
    expect(problems({ ...BASE, OKTA_ORG_URL: 'http://127.0.0.1:8080', DOCKER_SCIM_BASE_URL: 'http://localhost:9/v2/scim/2.0' })).toEqual([]);
    expect(problems({ ...BASE, OKTA_ORG_URL: 'http://[::1]:8080' })).toEqual([]);
    expect(problems({ ...BASE, OKTA_ORG_URL: 'http://127.0.0.1.evil.com' }).join()).toContain('plain http');
  });

  it('never echoes a secret value in an error', () => {
    const msg = problems({ ...BASE, OKTA_API_TOKEN: '', OKTA_CLIENT_ID: 'c', OKTA_PRIVATE_KEY: 'SECRETKEYMATERIAL-not-pem' }).join('\n');
    expect(msg).toContain('OKTA_PRIVATE_KEY: is neither a PEM private key nor a JWK');
    expect(msg).not.toContain('SECRETKEYMATERIAL');
  });

  it('reads secrets from *_FILE, trimming the trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'tok'), 'from-file-token\n');
    const { OKTA_API_TOKEN: _, ...rest } = BASE;
    const c = loadConfig({ env: { ...rest, OKTA_API_TOKEN_FILE: join(dir, 'tok') } });
    expect(c.okta?.auth).toEqual({ kind: 'token', token: 'from-file-token' });
    expect(c.origins['okta.apiToken']).toBe('env-file');
    expect(problems({ ...rest, OKTA_API_TOKEN_FILE: join(dir, 'missing') }).join()).toContain('OKTA_API_TOKEN_FILE: names the file');
  });

  it('accepts private_key_jwt with a PEM key and a key id', () => {
    const { OKTA_API_TOKEN: _, ...rest } = BASE;
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----';
    const c = loadConfig({ env: { ...rest, OKTA_CLIENT_ID: '0oa5', OKTA_PRIVATE_KEY: pem, OKTA_KEY_ID: 'kid1' } });
    expect(c.okta?.auth).toMatchObject({ kind: 'privateKey', clientId: '0oa5', keyId: 'kid1', scopes: ['okta.apps.read', 'okta.groups.read', 'okta.users.read'] });
    expect(problems({ ...rest, OKTA_CLIENT_ID: '0oa5', OKTA_PRIVATE_KEY: pem }).join()).toContain('OKTA_KEY_ID: is required when the private key is PEM');
  });

  it('environment variables win over the file; unknown file keys are reported with a suggestion', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'source: okta\nokta:\n  orgUrl: https://file.okta.com\n  appID: x\n');
    const msg = problems({ ...BASE }, file).join('\n');
    expect(msg).toContain('okta.appID');
    const err = (() => {
      try {
        loadConfig({ env: BASE, file });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected an error');
    })();
    expect(err.problems[0]?.fix).toContain('did you mean okta.appId?');
    writeFileSync(file, 'okta:\n  orgUrl: https://file.okta.com\n');
    expect(loadConfig({ env: BASE, file }).okta?.orgUrl).toBe('https://acme.okta.com');
  });

  it('reports a missing or broken file clearly', () => {
    expect(problems(BASE, '/nonexistent/config.yaml').join()).toContain('file not found');
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'okta: [unclosed');
    expect(problems(BASE, join(dir, 'bad.yaml')).join()).toContain('is not valid YAML');
  });

  it('the example file names every key, and is itself a valid configuration', () => {
    const text = readFileSync(new URL('../../config/docker-idp-sync.example.yaml', import.meta.url), 'utf8');
    for (const key of CONFIG_KEYS) {
      expect(text, `example file lacks ${key.env}`).toContain(`env: ${key.env}`);
      const leaf = key.path.split('.').pop() as string;
      expect(text, `example file lacks ${key.path}`).toMatch(new RegExp(`\\b${leaf}:`));
    }
    const doc = parse(text) as Record<string, unknown>;
    expect(doc).toBeTypeOf('object');
    const c = loadConfig({ file: new URL('../../config/docker-idp-sync.example.yaml', import.meta.url).pathname, env: {} });
    expect(c.source).toBe('okta');
  });
});

describe('Docker defaults (checked against Docker naming rules at start)', () => {
  it.each([
    { env: { DOCKER_DEFAULT_ORG: 'Acme Corp' }, want: 'DOCKER_DEFAULT_ORG (docker.defaultOrg): "acme corp" is not a Docker organization name' },
    { env: { DOCKER_DEFAULT_TEAM: 'acme:everyone' }, want: 'DOCKER_DEFAULT_TEAM (docker.defaultTeam): "acme:everyone" is not a Docker team name' },
  ])('$want', async ({ env, want }) => {
    const { checkDockerDefaults } = await import('../../src/run/preflight.ts');
    expect(() => checkDockerDefaults(loadConfig({ env: { ...BASE, ...env } }))).toThrow(want);
  });

  it('the origin of the Okta org URL is what is kept (and bound to the state file)', () => {
    expect(loadConfig({ env: { ...BASE, OKTA_ORG_URL: 'https://Acme.Okta.com/' } }).okta?.orgUrl).toBe('https://acme.okta.com');
  });
});

describe('configuration reference', () => {
  it('docs/configuration.md is generated from the key table and current (run `npm run docs`)', async () => {
    const { renderConfigReference } = await import('../../src/config/reference.ts');
    const file = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(file).toBe(renderConfigReference());
    for (const key of CONFIG_KEYS) expect(file).toContain(`\`${key.env}\``);
  });
});

describe('configuration for Microsoft Entra ID', () => {
  it('defaults to the public cloud, the app role for dockerRole, and direct group members', () => {
    const c = loadConfig({ env: ENTRA });
    expect(c.okta).toBeNull();
    expect(c.entra).toMatchObject({
      tenantId: 'contoso.onmicrosoft.com',
      appId: '66666666-7777-8888-9999-00000000000a',
      credential: { kind: 'secret', secret: 'entra-secret-value-123' },
      authorityHost: 'https://login.microsoftonline.com',
      graphBaseUrl: 'https://graph.microsoft.com',
      graphScope: 'https://graph.microsoft.com/.default',
      attributes: { dockerRole: { kind: 'appRole' }, dockerOrg: { kind: 'none' }, dockerTeam: { kind: 'none' } },
      userNameSource: 'userPrincipalName',
      groupMembership: 'direct',
    });
    expect(c.secrets).toContain('entra-secret-value-123');
  });

  it.each([
    { cloud: 'usgov', authority: 'https://login.microsoftonline.us', graph: 'https://graph.microsoft.us' },
    { cloud: 'usgov-dod', authority: 'https://login.microsoftonline.us', graph: 'https://dod-graph.microsoft.us' },
    { cloud: 'china', authority: 'https://login.chinacloudapi.cn', graph: 'https://microsoftgraph.chinacloudapi.cn' },
  ])('ENTRA_CLOUD=$cloud sets authority, Graph and scope together', ({ cloud, authority, graph }) => {
    expect(loadConfig({ env: { ...ENTRA, ENTRA_CLOUD: cloud } }).entra).toMatchObject({ authorityHost: authority, graphBaseUrl: graph, graphScope: `${graph}/.default` });
  });

  it('overrides keep the cloud scope (the emulator and proxies accept the real one)', () => {
    const c = loadConfig({ env: { ...ENTRA, ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:8443', GRAPH_BASE_URL: 'https://127.0.0.1:8443/' } });
    expect(c.entra).toMatchObject({ authorityHost: 'https://127.0.0.1:8443', graphBaseUrl: 'https://127.0.0.1:8443', graphScope: 'https://graph.microsoft.com/.default' });
  });

  it.each([
    { value: 'extensionAttribute3', want: { kind: 'extensionAttribute', index: 3 } },
    { value: 'extension:dockerTeam', want: { kind: 'extension', property: 'extension_6666666677778888999900000000000a_dockerTeam' } },
    { value: 'extension_0123456789abcdef0123456789abcdef_team', want: { kind: 'extension', property: 'extension_0123456789abcdef0123456789abcdef_team' } },
    { value: 'none', want: { kind: 'none' } },
  ])('ENTRA_TEAM_SOURCE=$value', ({ value, want }) => {
    expect(loadConfig({ env: { ...ENTRA, ENTRA_TEAM_SOURCE: value } }).entra?.attributes.dockerTeam).toEqual(want);
  });

  it('directory extension names use the owner app, ENTRA_EXTENSION_APP_ID when set', () => {
    const c = loadConfig({ env: { ...ENTRA, ENTRA_ORG_SOURCE: 'extension:dockerOrg', ENTRA_EXTENSION_APP_ID: 'B7D8E3F0-0000-4000-8000-000000000001' } });
    expect(c.entra?.attributes.dockerOrg).toEqual({ kind: 'extension', property: 'extension_b7d8e3f0000040008000000000000001_dockerOrg' });
  });

  it.each<{ env: Record<string, string>; want: string }>([
    { env: { ENTRA_TENANT_ID: '' }, want: 'ENTRA_TENANT_ID: is required' },
    { env: { ENTRA_CLIENT_ID: 'not-a-guid' }, want: 'ENTRA_CLIENT_ID: must be a GUID' },
    { env: { ENTRA_TENANT_ID: 'contoso/evil' }, want: 'ENTRA_TENANT_ID: must be the tenant GUID or a verified domain' },
    { env: { ENTRA_CLIENT_SECRET: '' }, want: 'ENTRA_CLIENT_SECRET: is required (or ENTRA_CLIENT_CERTIFICATE_FILE' },
    { env: { ENTRA_CLIENT_CERTIFICATE_FILE: '/nonexistent.pem' }, want: 'ENTRA_CLIENT_SECRET: is set together with ENTRA_CLIENT_CERTIFICATE_FILE' },
    { env: { ENTRA_ROLE_SOURCE: 'extensionAttribute16' }, want: 'ENTRA_ROLE_SOURCE: must be appRole, none, extensionAttribute1' },
    { env: { ENTRA_TEAM_SOURCE: 'appRole' }, want: 'ENTRA_TEAM_SOURCE: cannot be appRole' },
    { env: { ENTRA_USERNAME_SOURCE: 'upn' }, want: 'ENTRA_USERNAME_SOURCE: must be one of: userPrincipalName, mail' },
    { env: { GRAPH_BASE_URL: 'http://graph.example.com' }, want: 'GRAPH_BASE_URL: uses plain http://' },
  ])('rejects $want', ({ env, want }) => {
    expect(problems({ ...ENTRA, ...env }).join('\n')).toContain(want);
  });

  it.each<{ env: Record<string, string>; want: string }>([
    { env: { OKTA_TEAM_GROUPS: 'rule' }, want: 'OKTA_GROUP_RULE: is required when OKTA_TEAM_GROUPS includes rule' },
    { env: { OKTA_GROUP_RULE: 'startsWith:acme:' }, want: 'OKTA_GROUP_RULE: is set but OKTA_TEAM_GROUPS does not include rule' },
    { env: { OKTA_TEAM_GROUPS: 'rule', OKTA_GROUP_RULE: 'acme:' }, want: 'OKTA_GROUP_RULE: must be startsWith:<text> or contains:<text>' },
    { env: { OKTA_TEAM_GROUPS: 'rule', OKTA_GROUP_RULE: 'startsWith:a"b' }, want: 'OKTA_GROUP_RULE: must not contain a double quote' },
    { env: { OKTA_TEAM_GROUPS: 'rule', OKTA_GROUP_RULE: `contains:${'x'.repeat(100)}` }, want: 'OKTA_GROUP_RULE: must be at most 100 characters' },
    { env: { OKTA_TEAM_GROUPS: 'assigned,everything' }, want: 'OKTA_TEAM_GROUPS: may hold only: assigned, rule, push' },
    { env: { DOCKER_VERIFIED_DOMAINS: 'acme.com,@acme.com' }, want: 'DOCKER_VERIFIED_DOMAINS: must list domains such as example.com' },
    { env: { DOCKER_ORGS: 'labs' }, want: 'DOCKER_ORGS: does not include DOCKER_DEFAULT_ORG acme' },
  ])('rejects $want', ({ env, want }) => {
    expect(problems({ ...BASE, ...env }).join('\n')).toContain(want);
  });

  it('reads the team-group sources, the name rule, the verified domains and the orgs in scope', () => {
    const c = loadConfig({ env: { ...BASE, OKTA_TEAM_GROUPS: 'Rule push rule', OKTA_GROUP_RULE: 'STARTSWITH:Acme:', DOCKER_VERIFIED_DOMAINS: 'Acme.com *.acme.com', DOCKER_ORGS: 'ACME,labs' } });
    expect(c.okta).toMatchObject({ teamGroups: ['rule', 'push'], groupRule: { op: 'startsWith', value: 'Acme:' } });
    expect(c.docker).toMatchObject({ verifiedDomains: ['acme.com', '*.acme.com'], orgs: ['acme', 'labs'] });
    expect(loadConfig({ env: { ...BASE, OKTA_TEAM_GROUPS: 'rule', OKTA_GROUP_RULE: 'contains::' } }).okta?.groupRule).toEqual({ op: 'contains', value: ':' });
    expect(loadConfig({ env: ENTRA }).entra).toMatchObject({ roleConflict: 'hold', emailSource: 'mail' });
    expect(loadConfig({ env: { ...ENTRA, ENTRA_ROLE_CONFLICT: 'Highest', ENTRA_EMAIL_SOURCE: 'username' } }).entra).toMatchObject({ roleConflict: 'highest', emailSource: 'userName' });
  });

  it('enum values are case-insensitive and come out canonical', () => {
    expect(loadConfig({ env: { ...ENTRA, ENTRA_USERNAME_SOURCE: 'MAIL', ENTRA_GROUP_MEMBERSHIP: 'Transitive' } }).entra).toMatchObject({ userNameSource: 'mail', groupMembership: 'transitive' });
  });

  it('checks the certificate file at start and scrubs its private key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const { ENTRA_CLIENT_SECRET: _, ...rest } = ENTRA;
    const good = join(dir, 'good.pem');
    const key = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
    writeFileSync(good, `${key}\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n`);
    const c = loadConfig({ env: { ...rest, ENTRA_CLIENT_CERTIFICATE_FILE: good } });
    expect(c.entra?.credential).toEqual({ kind: 'certificate', certificatePath: good });
    expect(c.secrets).toContain(key);
    const keyOnly = join(dir, 'key.pem');
    writeFileSync(keyOnly, key);
    expect(problems({ ...rest, ENTRA_CLIENT_CERTIFICATE_FILE: keyOnly }).join()).toContain('holds no certificate');
    expect(problems({ ...rest, ENTRA_CLIENT_CERTIFICATE_FILE: join(dir, 'missing.pem') }).join()).toContain('does not exist');
  });
});

/** Every key of type url, whatever its name: one rule, applied to all of them. */
const URL_KEYS = CONFIG_KEYS.filter((k) => k.type === 'url');

describe('base URLs (one rule for every URL key)', () => {
  it('covers every base URL the tool sends a credential to', () => {
    expect(URL_KEYS.map((k) => k.env).sort()).toEqual(expect.arrayContaining(['DOCKER_SCIM_BASE_URL', 'ENTRA_AUTHORITY_HOST', 'GRAPH_BASE_URL', 'OKTA_ORG_URL']));
  });

  const ORIGIN_ONLY = /^must be just the scheme and host \(and port\), without a path, query or fragment/;
  const bad: Array<{ name: string; make: (u: string) => string; want: RegExp; originWant?: RegExp }> = [
    { name: 'a query', make: (u) => `${u}?access_token=QUERYSECRET`, want: /^has a query/, originWant: ORIGIN_ONLY },
    { name: 'an empty query', make: (u) => `${u}?`, want: /^has a query/, originWant: ORIGIN_ONLY },
    { name: 'a fragment', make: (u) => `${u}#FRAGSECRET`, want: /^has a fragment/, originWant: ORIGIN_ONLY },
    { name: 'credentials', make: (u) => u.replace('https://', 'https://admin:PASSSECRET@'), want: /contains a user name or password/ },
    { name: 'a user name alone', make: (u) => u.replace('https://', 'https://USERSECRET@'), want: /contains a user name or password/ },
    { name: 'a raw line feed', make: (u) => `${u}\nX-Injected: 1`, want: /contains a control character/ },
    { name: 'a raw carriage return', make: (u) => `${u}\r\nX-Injected: 1`, want: /contains a control character/ },
    { name: 'a tab inside the host', make: (u) => u.replace('://', '://ex\tample.'), want: /contains a control character/ },
    { name: 'a NUL', make: (u) => `${u}\u0000`, want: /contains a control character/ },
    { name: 'an encoded line feed', make: (u) => `${u}/%0aX-Injected:%201`, want: /contains a control character/ },
    { name: 'an encoded carriage return', make: (u) => `${u}/%0D%0A`, want: /contains a control character/ },
    { name: 'an encoded NUL', make: (u) => `${u}/%00`, want: /contains a control character/ },
  ];

  describe.each(URL_KEYS.map((k) => ({ key: k, env: k.env })))('$env', ({ key }) => {
    const good = key.example as string;

    it('accepts the documented example', () => {
      expect(problems({ ...baseFor(key), [key.env]: good })).toEqual([]);
    });

    it.each(bad)('refuses $name, naming the key, the problem and the fix, and echoing no credential', ({ make, want, originWant }) => {
      const err = configError({ ...baseFor(key), [key.env]: make(good) });
      const problem = err.problems.find((p) => p.env === key.env);
      expect(problem?.problem).toMatch(key.originOnly && originWant ? originWant : want);
      expect(problem?.fix).toMatch(/^(remove the|retype|give only the origin)/);
      expect(err.message).not.toMatch(/QUERYSECRET|FRAGSECRET|PASSSECRET|USERSECRET/);
    });
  });
});

describe('NOTIFY_WEBHOOK_URL is a secret URL: a query is allowed, plain http only to loopback', () => {
  it.each([
    ['https://hooks.slack.com/services/T000/B000/XXXX', null],
    ['https://prod.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=XYZ', null],
    ['http://127.0.0.1:9999/hook', null],
    ['http://hooks.example.com/hook', 'plain http'],
    ['https://user:pw@hooks.example.com/hook', 'user name or password'],
    ['https://hooks.example.com/hook#frag', 'fragment'],
    ['not a url', 'not a valid URL'],
  ])('%s', (url, want) => {
    const found = problems({ ...BASE, NOTIFY_WEBHOOK_URL: url });
    if (want === null) expect(found).toEqual([]);
    else {
      expect(found.join('\n')).toContain(want);
      // A secret is never echoed, even when it is wrong.
      expect(found.join('\n')).not.toContain(url);
    }
  });
});

describe('daemon keys', () => {
  it('durations read as 90s, 15m, 1h30m, 2d or plain seconds', () => {
    const c = loadConfig({ env: { ...BASE, STALE_AFTER: '1h30m', SHUTDOWN_TIMEOUT: '25', START_DELAY_MAX: '2m' } });
    expect(c.daemon).toMatchObject({ staleAfterMs: 5_400_000, shutdownTimeoutMs: 25_000, startDelayMaxMs: 120_000, schedule: '*/15 * * * *', httpPort: 8080, httpHost: '127.0.0.1' });
    expect(loadConfig({ env: BASE }).daemon.staleAfterMs).toBeNull();
  });

  it.each([
    [{ SCHEDULE: '61 * * * *' }, 'SCHEDULE: is not a cron expression'],
    [{ SCHEDULE: 'every day' }, 'SCHEDULE: is not a cron expression'],
    [{ STALE_AFTER: 'soon' }, 'STALE_AFTER: must be a duration'],
    [{ SHUTDOWN_TIMEOUT: '0s' }, 'SHUTDOWN_TIMEOUT: must be at least 1 s'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT: must be at most 65535'],
    [{ NOTIFY_ON: 'failure,everything' }, 'NOTIFY_ON: may hold only: failure, hold, stale, recovery, changes'],
    [{ FAIL_ON: 'sometimes' }, 'FAIL_ON: must be one of: error, warning, never'],
    [{ RETAIN_RUNS: '0' }, 'RETAIN_RUNS: must be at least 1'],
  ])('%o is refused: %s', (env, want) => {
    expect(problems({ ...BASE, ...env }).join('\n')).toContain(want);
  });

  it('NOTIFY_ON and FAIL_ON have their documented defaults', () => {
    const c = loadConfig({ env: BASE });
    expect(c.notify).toEqual({ webhookUrl: null, on: ['failure', 'hold', 'stale', 'recovery'] });
    expect(c.sync.failOn).toBe('error');
    expect(c.state).toMatchObject({ retainRuns: 1000, retainDays: 90 });
  });
});

describe('secrets must be one line (header values), PEM keys excepted', () => {
  const SINGLE_LINE = CONFIG_KEYS.filter((k) => k.type === 'secret' && !k.multiline);

  it('every single-line secret is a token or a client secret, and the PEM key is the exception', () => {
    expect(SINGLE_LINE.map((k) => k.env).sort()).toEqual(['DOCKER_SCIM_TOKEN', 'ENTRA_CLIENT_SECRET', 'NOTIFY_WEBHOOK_URL', 'OKTA_API_TOKEN']);
    expect(CONFIG_KEYS.filter((k) => k.multiline).map((k) => k.env)).toEqual(['OKTA_PRIVATE_KEY']);
  });

  describe.each(SINGLE_LINE.map((k) => ({ key: k, env: k.env })))('$env', ({ key }) => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-secret-'));
    const env = (file: string) => {
      const { [key.env]: _, ...rest } = baseFor(key);
      return { ...rest, [`${key.env}_FILE`]: file };
    };
    const value = (c: ReturnType<typeof loadConfig>) => [c.docker.scimToken, c.okta?.auth, c.entra?.credential, c.notify.webhookUrl].map((x) => JSON.stringify(x)).join(' ');
    // The webhook's secret is a URL, so its one line is one.
    const token = key.secretUrl ? 'https://hooks.example.com/tok-one-line-0123456789' : 'tok-one-line-0123456789';

    it.each([
      { name: 'one trailing newline', text: `${token}\n` },
      { name: 'one trailing CRLF', text: `${token}\r\n` },
      { name: 'no newline at all', text: token },
    ])('a file with $name is read as the token', ({ text }) => {
      const file = join(dir, 'ok');
      writeFileSync(file, text);
      expect(value(loadConfig({ env: env(file) }))).toContain(JSON.stringify(token));
    });

    const LINES = 'holds more than one line; this secret must be a single line (one trailing newline is fine)';
    it.each([
      { name: 'a second line', text: 'tok-first-line\nSECONDLINE\n', want: LINES },
      { name: 'a CRLF in the middle', text: 'tok-first-line\r\nX-Injected: SECONDLINE', want: LINES },
      { name: 'a blank line after the newline', text: 'tok-first-line-SECONDLINE\n\n', want: LINES },
      { name: 'a bare CR', text: 'tok-first-line\rSECONDLINE', want: LINES },
      { name: 'a NUL', text: 'tok-first-line\u0000SECONDLINE', want: 'holds a line break or another control character' },
    ])('a file with $name is a configuration error naming the variable and the path, not the content', ({ text, want }) => {
      const file = join(dir, 'multi');
      writeFileSync(file, text);
      const err = configError(env(file));
      // One problem: the file's, not a second "is required" for the key it failed to fill.
      expect(err.problems).toHaveLength(1);
      expect(`${err.problems[0]?.env}: ${err.problems[0]?.problem}`).toMatch(`${key.env}_FILE: names the file ${file}, which holds`);
      expect(err.problems[0]?.problem).toContain(want);
      expect(err.problems[0]?.fix).toContain(`printf '%s' "$VALUE" > ${file}`);
      expect(err.message).not.toMatch(/tok-first-line|SECONDLINE/);
    });

    it.each([
      { name: 'CR LF', text: 'tok-abc\r\nX-Injected: SECONDLINE' },
      { name: 'LF', text: 'tok-abc\nSECONDLINE' },
      { name: 'NUL', text: 'tok-abc\u0000SECONDLINE' },
      { name: 'ESC', text: 'tok-abc\u001bSECONDLINE' },
    ])('the value given directly with $name inside is a configuration error that does not echo it', ({ text }) => {
      const err = configError({ ...baseFor(key), [key.env]: text });
      expect(err.problems.map((p) => `${p.env}: ${p.problem}`)).toEqual([`${key.env}: contains a line break or another control character; this secret must be a single line`]);
      expect(err.message).not.toMatch(/tok-abc|SECONDLINE/);
    });
  });

  it('the YAML form (key + File) is named as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-secret-'));
    writeFileSync(join(dir, 'tok'), 'a\nb\n');
    writeFileSync(join(dir, 'c.yaml'), `docker:\n  scimTokenFile: ${join(dir, 'tok')}\n`);
    const { DOCKER_SCIM_TOKEN: _, ...rest } = BASE;
    expect(problems(rest, join(dir, 'c.yaml'))).toEqual([`docker.scimTokenFile: names the file ${join(dir, 'tok')}, which holds more than one line; this secret must be a single line (one trailing newline is fine)`]);
  });

  it('a PEM private key may span lines, from a file or a variable, but holds no other control character', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-secret-'));
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
    writeFileSync(join(dir, 'key.pem'), pem);
    const { OKTA_API_TOKEN: _, ...rest } = BASE;
    const jwt = { ...rest, OKTA_CLIENT_ID: '0oa5', OKTA_KEY_ID: 'kid1' };
    expect(loadConfig({ env: { ...jwt, OKTA_PRIVATE_KEY_FILE: join(dir, 'key.pem') } }).okta?.auth).toMatchObject({ privateKey: pem.trim() });
    expect(loadConfig({ env: { ...jwt, OKTA_PRIVATE_KEY: pem.replace(/\n/g, '\r\n') } }).okta?.auth.kind).toBe('privateKey');
    expect(problems({ ...jwt, OKTA_PRIVATE_KEY: pem.replace('MIIE', 'MI\u0000IE') })).toEqual(['OKTA_PRIVATE_KEY: contains a control character other than a line break']);
  });
});

describe('MAX_USERS (the read cap)', () => {
  it('defaults to one million and takes a bigger tenant', () => {
    expect(loadConfig({ env: BASE }).sync.maxUsers).toBe(1_000_000);
    expect(loadConfig({ env: { ...BASE, MAX_USERS: '5000000' } }).sync.maxUsers).toBe(5_000_000);
    expect(loadConfig({ env: { ...ENTRA, MAX_USERS: '25' } }).sync.maxUsers).toBe(25);
  });

  it.each([
    { value: '0', want: 'MAX_USERS: must be at least 1' },
    { value: '-5', want: 'MAX_USERS: must be at least 1' },
    { value: '2.5', want: 'MAX_USERS: must be a whole number' },
    { value: '1e6', want: 'MAX_USERS: must be a whole number' },
    { value: 'lots', want: 'MAX_USERS: must be a whole number' },
  ])('refuses $value', ({ value, want }) => {
    expect(problems({ ...BASE, MAX_USERS: value }).join('\n')).toContain(want);
  });
});

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('environment variables that look like ours but are not', () => {
  it('a near miss of a real name gets a did-you-mean warning', () => {
    const c = loadConfig({ env: { ...BASE, MAX_DEACTIVATION: '5', NOTIFY_WEBHOOK_URL_FIEL: '/x', SHEDULE: '* * * * *' } });
    expect(c.warnings).toEqual([
      'MAX_DEACTIVATION is not a setting of docker-idp-sync and is ignored; did you mean MAX_DEACTIVATIONS?',
      'NOTIFY_WEBHOOK_URL_FIEL is not a setting of docker-idp-sync and is ignored; did you mean NOTIFY_WEBHOOK_URL_FILE?',
    ]);
  });

  it('the environment\'s other variables, ours or not, are left alone', () => {
    const c = loadConfig({ env: { ...BASE, DOCKER_HOST: 'unix:///var/run/docker.sock', DOCKER_CONFIG: '/x', HTTP_PROXY: 'http://proxy:3128', HOME: '/root', PATH: '/bin', DOCKER_IDP_SYNC_CONFIG: '/etc/x.yaml', OKTA_API_TOKEN_FILE: undefined } });
    expect(c.warnings).toEqual([]);
  });
});
