import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A run reads one IdP, and loading an IdP's SDK costs CPU on every run (the Okta SDK alone ~0.7 s,
 * @azure/identity ~0.15 s): src/run/factory.ts loads the configured one when the first read
 * starts, and never the other. Checked in a fresh process, whose module loader records every file
 * it loads.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sdk-loading-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
const root = process.env.ROOT;
const { loadConfig } = await import(root + '/src/config/load.ts');
const { createSource } = await import(root + '/src/run/factory.ts');
const { silentLogger } = await import(root + '/src/logging/logger.ts');
const packages = () => [...new Set(loaded.map((u) => /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(u)?.[1]).filter(Boolean))];
const source = createSource(loadConfig({ env: JSON.parse(process.env.CONFIG) }), silentLogger());
const atStart = packages();
// A read under shutdown: the source loads, then stops before its first request.
const shutdown = new AbortController();
shutdown.abort();
const failed = await source.read(shutdown.signal).then(() => null, (e) => e.message);
console.log(JSON.stringify({ atStart, afterRead: packages(), failed }));
`;
const childFile = join(dir, 'child.mjs');
writeFileSync(childFile, CHILD);

const DOCKER = { DOCKER_SCIM_BASE_URL: 'https://127.0.0.1:9/scim/v2', DOCKER_SCIM_TOKEN: 'dckr_pat_loading_test', DOCKER_DEFAULT_ORG: 'acme' };
const ENTRA = {
  SOURCE: 'entra',
  ENTRA_TENANT_ID: '11111111-2222-3333-4444-555555555555',
  ENTRA_CLIENT_ID: '11111111-2222-3333-4444-555555555556',
  ENTRA_CLIENT_SECRET: 'loading-test-secret-value',
  ENTRA_APP_ID: '11111111-2222-3333-4444-555555555557',
  ...DOCKER,
};
const OKTA = { SOURCE: 'okta', OKTA_ORG_URL: 'https://example.okta.com', OKTA_APP_ID: '0oa1234567890abcdef', OKTA_API_TOKEN: '00loadingTestTokenValue0123456789abcdefgh', ...DOCKER };

async function load(config: Record<string, string>): Promise<{ atStart: string[]; afterRead: string[]; failed: string | null }> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [childFile], { env: { PATH: process.env.PATH ?? '', ROOT, CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}: ${err}`))));
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

const SDKS = { okta: ['@okta/okta-sdk-nodejs'], entra: ['@azure/identity', '@azure/msal-node', '@microsoft/microsoft-graph-client'] };

describe('which IdP SDK a run loads', () => {
  it.each([
    ['entra', ENTRA, SDKS.entra, SDKS.okta],
    ['okta', OKTA, SDKS.okta, SDKS.entra],
  ] as const)(
    '%s: a run loads its own SDK when its first read starts, and never the other',
    async (source, config, own, other) => {
      const r = await load(config);
      expect(r.failed).toMatch(new RegExp(`^${source}: .* was cancelled$`));
      for (const pkg of [...own, ...other]) expect(r.atStart).not.toContain(pkg);
      for (const pkg of own) expect(r.afterRead).toContain(pkg);
      for (const pkg of other) expect(r.afterRead).not.toContain(pkg);
    },
    30_000,
  );
});
