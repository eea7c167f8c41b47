import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfig, loadStateConfig } from '../../src/config/load.ts';
import { loadStateContext } from '../../src/commands/context.ts';

/**
 * `status` and `report` load only the state file's settings (and the log's): no IdP or Docker
 * key is required, but every secret that is set is still collected for scrubbing.
 */

const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.env}: ${p.problem}`);
    throw err;
  }
  return [];
};

describe('the state-only configuration', () => {
  it('needs only STATE_DB (or its default), where the full configuration needs the IdP and Docker', () => {
    const env = { STATE_DB: '/data/state.db', LOG_LEVEL: 'warn' };
    expect(problems(() => loadConfig({ env }))).toEqual(expect.arrayContaining([expect.stringMatching(/^SOURCE: is required/), expect.stringMatching(/^DOCKER_SCIM_TOKEN: is required/)]));
    const config = loadStateConfig({ env });
    expect(config.state).toEqual({ db: '/data/state.db', retainRuns: 1000, retainDays: 90 });
    expect(config.log).toEqual({ level: 'warn', format: 'auto' });
    expect(config.origins).toEqual({ 'state.db': 'env', 'state.retainRuns': 'default', 'state.retainDays': 'default', 'log.level': 'env', 'log.format': 'default' });
    expect(loadStateConfig({ env: {} }).state.db).toBe('./data/state.db');
  });

  it('validates the state and log keys as the full load does, and only those', () => {
    expect(problems(() => loadStateConfig({ env: { RETAIN_DAYS: '0', LOG_LEVEL: 'loud', SOURCE: 'ldap', DOCKER_SCIM_BASE_URL: 'http://example.com' } }))).toEqual([
      expect.stringMatching(/^RETAIN_DAYS: must be at least 1/),
      expect.stringMatching(/^LOG_LEVEL: must be one of/),
    ]);
  });

  it('reads the YAML file: its state and log keys count, its other keys are not this command\'s business', () => {
    const dir = mkdtempSync(join(tmpdir(), 'state-config-'));
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, 'source: okta\nokta:\n  orgUrl: https://acme.okta.com\nstate:\n  db: /var/lib/sync/state.db\n  retainRuns: 50\nlog:\n  level: debug\n');
    expect(loadStateConfig({ file, env: {} })).toMatchObject({ state: { db: '/var/lib/sync/state.db', retainRuns: 50 }, log: { level: 'debug' } });
    writeFileSync(file, 'state:\n  dbb: /x\n');
    expect(problems(() => loadStateConfig({ file, env: {} }))).toEqual([expect.stringMatching(/^state\.dbb: is not a known key .*/)]);
    // Environment variables win over the file, as everywhere.
    writeFileSync(file, 'state:\n  db: /from/file.db\n');
    expect(loadStateConfig({ file, env: { STATE_DB: '/from/env.db' } }).state.db).toBe('/from/env.db');
  });

  it('collects every secret that is set, from variables, *_FILE and YAML, so output is scrubbed of it; an unreadable secret file is left to sync', () => {
    const dir = mkdtempSync(join(tmpdir(), 'state-config-'));
    writeFileSync(join(dir, 'token'), 'docker-scim-token-from-a-file\n');
    writeFileSync(join(dir, 'sync.yaml'), 'entra:\n  clientSecret: entra-secret-from-yaml-123\n');
    const env = { OKTA_API_TOKEN: 'okta-token-in-the-env-1234', DOCKER_SCIM_TOKEN_FILE: join(dir, 'token'), OKTA_PRIVATE_KEY_FILE: join(dir, 'missing.pem') };
    const config = loadStateConfig({ env, file: join(dir, 'sync.yaml') });
    expect([...config.secrets].sort()).toEqual(['docker-scim-token-from-a-file', 'entra-secret-from-yaml-123', 'okta-token-in-the-env-1234']);
    const ctx = loadStateContext({ config: join(dir, 'sync.yaml') }, { ...env, LOG_LEVEL: 'silent' });
    expect(ctx.scrub('a docker-scim-token-from-a-file b okta-token-in-the-env-1234 c entra-secret-from-yaml-123')).toBe('a [redacted] b [redacted] c [redacted]');
  });
});
