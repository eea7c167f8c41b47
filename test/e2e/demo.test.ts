import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/harness.ts';

/** The README's one command on a fresh machine: the whole product on its own emulators, no credentials. */
describe('demo', () => {
  it.each(['okta', 'entra'] as const)('%s: dry run, full sync, then incremental runs that follow the change feed; exits 0', { timeout: 120_000 }, async (source) => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-sync-demo-'));
    try {
      const child = spawn(process.execPath, [CLI, 'demo', '--source', source], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.resume();
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(stdout).toMatch(/^OK: the dry run wrote nothing; the first sync applied \d+ operations; the second planned none and sent 0 write requests; the IdP change became [1-9]\d* operations\.$/m);
      expect(stdout).toContain('Full run (no full run has succeeded with this state file');
      expect(stdout).toMatch(/Incremental run: 3 IdP users named by the change feed/);
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
