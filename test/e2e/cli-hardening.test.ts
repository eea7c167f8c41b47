import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { Scenario, scenarioPerTest } from '../support/harness.ts';

/**
 * What an admin sees when something goes wrong, through the real binary: a clear line for an
 * expected failure and never a stack trace; for a bug, one line that says so, and the stack only
 * with --log-level debug. Reports are scrubbed in every format, and a report file is private.
 */

/** A stack frame as Node prints it. */
const STACK_FRAME = /^\s+at /m;
const BUG_LINE = 'error: unexpected failure (this is a bug in docker-idp-sync; please report it with the output of --log-level debug): ';

/** A port on loopback that nothing listens on: the IdP there is unreachable. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A bug, provoked from outside the product: a module preloaded with NODE_OPTIONS (production code
 * has no hook for this) makes the command's write to stdout throw a TypeError, as a bug would.
 */
function bugHook(dir: string, mode: 'sync' | 'async'): Record<string, string> {
  const file = join(dir, `bug-${mode}.mjs`);
  const fail = "new TypeError(\"Cannot read properties of undefined (reading 'padEnd')\")";
  writeFileSync(
    file,
    mode === 'sync'
      ? `process.stdout.write = () => { throw ${fail}; };\n`
      : `process.stdout.write = () => { setImmediate(() => { throw ${fail}; }); return true; };\n`,
  );
  return { NODE_OPTIONS: `--import=${file}` };
}

describe.each(WORLD_SOURCES)('what the admin sees (%s)', (source) => {
  const s = scenarioPerTest({ source });

  it('a bad configuration value: the key, the problem and the fix, and no stack trace', async () => {
    const run = await s.cli(['sync', '--dry-run'], { env: { DOCKER_SCIM_BASE_URL: `${s.world.env.DOCKER_SCIM_BASE_URL}?token=x` } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('DOCKER_SCIM_BASE_URL (docker.scimBaseUrl): has a query');
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stderr).not.toContain('"stack"');
  });

  it('an unreachable IdP: one clear error and no stack trace, even at debug level', async () => {
    const port = await closedPort();
    const idp: Record<string, string> = source === 'okta' ? { OKTA_ORG_URL: `http://127.0.0.1:${port}` } : { ENTRA_AUTHORITY_HOST: `https://127.0.0.1:${port}`, GRAPH_BASE_URL: `https://127.0.0.1:${port}` };
    const run = await s.cli(['sync', '--dry-run', '--log-level', 'debug'], { env: { ...idp, IDP_MAX_RETRIES: '0' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .+/m);
    expect(run.stderr).not.toContain('unexpected failure');
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stderr).not.toContain('"stack"');
    for (const secret of s.world.secrets) expect(run.stderr).not.toContain(secret);
  });

  it('--output in a folder that does not exist: one line naming the path, no stack, no report elsewhere', async () => {
    const out = join(s.dir, 'missing', 'report.md');
    const run = await s.cli(['sync', '--dry-run', '--output', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: cannot write the report to ${out}: no such file or folder (ENOENT)`);
    expect(run.stderr).toContain('fix: choose an --output path');
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stdout).toBe('');
  });

  it('a report written over an existing 0644 file ends up 0600, holding the report, with no temp file left', async () => {
    const out = join(s.dir, 'report.txt');
    writeFileSync(out, 'an older report that everyone could read\n', { mode: 0o644 });
    expect(statSync(out).mode & 0o777).toBe(0o644);
    const run = await s.cli(['sync', '--dry-run', '--output', out]);
    expect(run.code).toBe(2);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('dry run (nothing applied)');
    expect(text).toMatch(/create\s+ada@example.com/);
    expect(text).not.toContain('an older report');
    expect(readdirSync(s.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a symbolic link at the --output path is replaced by the report, and the file it pointed to is untouched', async () => {
    const elsewhere = join(s.dir, 'elsewhere');
    mkdirSync(elsewhere);
    const victim = join(elsewhere, 'victim.txt');
    writeFileSync(victim, 'not yours\n', { mode: 0o644 });
    const out = join(s.dir, 'report.json');
    symlinkSync(victim, out);
    const run = await s.cli(['sync', '--dry-run', '--format', 'json', '--output', out]);
    expect(run.code).toBe(2);
    expect(lstatSync(out).isSymbolicLink()).toBe(false);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ kind: 'plan', dryRun: true });
    expect(readFileSync(victim, 'utf8')).toBe('not yours\n');
    expect(statSync(victim).mode & 0o777).toBe(0o644);
  });

  it('reports in every format never carry a secret, even one the IdP hands back as a name', { timeout: 240_000 }, async () => {
    await s.cli(['sync']);
    const [idpSecret, dockerToken] = s.world.secrets as [string, string];
    s.directory.updateUser('ada@example.com', { familyName: dockerToken });
    s.directory.updateUser('grace@example.com', { givenName: idpSecret });
    const file = join(s.dir, 'report.md');
    const runs = {
      text: await s.cli(['sync', '--dry-run', '--format', 'text']),
      json: await s.cli(['sync', '--dry-run', '--format', 'json']),
      markdown: await s.cli(['sync', '--dry-run', '--format', 'markdown', '--output', file]),
    };
    const outputs = { text: runs.text.stdout, json: runs.json.stdout, markdown: readFileSync(file, 'utf8') };
    for (const [format, out] of Object.entries(outputs)) {
      expect(runs[format as keyof typeof runs].code, format).toBe(2);
      expect(out, format).toContain('[redacted]');
      for (const secret of s.world.secrets) {
        // Whole, or cut short by a clipped column: no run of 12 of its characters is left.
        for (let i = 0; i + 12 <= secret.length; i++) expect(out, format).not.toContain(secret.slice(i, i + 12));
        expect(runs[format as keyof typeof runs].stderr, format).not.toContain(secret);
      }
    }
    expect(JSON.parse(outputs.json)).toMatchObject({ kind: 'plan' });
  });
});

describe('a bug (an unexpected error)', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await Scenario.start({ source: 'okta' });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('prints one line that says it is a bug, with no stack, and exits 1', async () => {
    const run = await s.cli(['validate-config', '--log-level', 'info'], { env: bugHook(s.dir, 'sync') });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([`${BUG_LINE}TypeError: Cannot read properties of undefined (reading 'padEnd')`]);
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it('with --log-level debug, the stack is in the log, scrubbed, before the same line', async () => {
    const run = await s.cli(['--log-level', 'debug', 'validate-config'], { env: bugHook(s.dir, 'sync') });
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(`${BUG_LINE}TypeError: Cannot read properties of undefined (reading 'padEnd')`);
    const logged = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; err?: { type: string; stack?: string } });
    const stack = logged.find((l) => l.err?.stack)?.err;
    expect(stack?.type).toBe('TypeError');
    expect(stack?.stack).toMatch(STACK_FRAME);
    expect(stack?.stack).toContain('validate-config.ts');
    for (const secret of s.world.secrets) expect(run.stderr).not.toContain(secret);
  });

  it('thrown outside the command (an uncaught exception): the same one line, no Node stack dump', async () => {
    const run = await s.cli(['validate-config'], { env: { ...bugHook(s.dir, 'async'), LOG_LEVEL: 'info' } });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([`${BUG_LINE}TypeError: Cannot read properties of undefined (reading 'padEnd')`]);
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it("commander's own errors are one line too (demo --users below what the demo needs)", async () => {
    const run = await s.cli(['demo', '--users', '3']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: option '--users <n>' argument '3' is invalid. --users must be at least 10");
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(existsSync(join(s.dir, 'data'))).toBe(false);
  });
});
