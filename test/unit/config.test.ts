import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS, ConfigError, loadConfig } from '../../src/config/index.ts';

const BASE = {
  SOURCE: 'okta',
  OKTA_ORG_URL: 'https://acme.okta.com',
  OKTA_APP_ID: '0oa1',
  OKTA_API_TOKEN: 'okta-token-123456',
  DOCKER_SCIM_BASE_URL: 'https://hub.docker.com/v2/scim/2.0',
  DOCKER_SCIM_TOKEN: 'scim-token-123456',
  DOCKER_DEFAULT_ORG: 'acme',
};

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
    expect(c.okta).toEqual({ orgUrl: 'https://acme.okta.com', appId: '0oa1', auth: { kind: 'token', token: 'okta-token-123456' } });
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

describe('configuration reference', () => {
  it('docs/configuration.md is generated from the key table and current (run `npm run docs`)', async () => {
    const { renderConfigReference } = await import('../../src/config/reference.ts');
    const file = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(file).toBe(renderConfigReference());
    for (const key of CONFIG_KEYS) expect(file).toContain(`\`${key.env}\``);
  });
});
