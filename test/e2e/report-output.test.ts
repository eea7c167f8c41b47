import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadContext } from '../../src/commands/context.ts';
import { syncCommand } from '../../src/commands/sync.ts';
import { FileError } from '../../src/logging/failure.ts';
import { openState, type OpenStateOptions } from '../../src/state/open.ts';
import { scenarioPerTest } from '../support/harness.ts';

/** --output is checked before anything is applied; a report that still cannot be written names the way to print it again. */
describe('sync --output', () => {
  const s = scenarioPerTest({ source: 'okta' });

  it('a path that cannot be written is refused before anything is applied', { timeout: 120_000 }, async () => {
    const run = await s.cli(['sync', '--output', join(s.dir, 'no-such-folder', 'report.txt')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot write the report to');
    expect(s.docker.http.writes()).toEqual([]);
    expect(s.stateHash()).toBeNull();
    const intoFolder = await s.cli(['sync', '--output', s.dir]);
    expect(intoFolder.code).toBe(1);
    expect(intoFolder.stderr).toContain('it is a folder (EISDIR)');
    expect(s.docker.http.writes()).toEqual([]);
  });

  it('a folder that goes away during the run: the changes stand, and the error says how to print the report from the state file', { timeout: 120_000 }, async () => {
    const folder = join(s.dir, 'reports');
    mkdirSync(folder);
    const ctx = loadContext({}, s.env({ LOG_LEVEL: 'silent' }));
    // The folder is removed once the run has started (after the check), as a cleanup job might.
    const open = (o: OpenStateOptions) => {
      rmSync(folder, { recursive: true });
      return openState(o);
    };
    const err = await syncCommand(ctx, { output: join(folder, 'report.txt') }, undefined, open).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileError);
    const runId = s.state((st) => st.recentRuns(1)[0]?.id);
    expect((err as FileError).describe()).toContain(`docker-idp-sync report --run ${runId}`);
    expect(s.docker.user('ada@example.com')?.active).toBe(true);
    expect(s.state((st) => st.recentRuns(1)[0]?.status)).toBe('succeeded');
  });

  it('apply checks --output before anything is applied too', { timeout: 120_000 }, async () => {
    expect((await s.cli(['plan', '--out', 'plan.json'])).code).toBe(2);
    const run = await s.cli(['apply', 'plan.json', '--output', join(s.dir, 'no-such-folder', 'report.txt')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot write the report to');
    expect(s.docker.http.writes()).toEqual([]);
    // The plan still holds: applied with a writable --output it goes through.
    expect((await s.cli(['apply', 'plan.json', '--output', join(s.dir, 'report.txt')])).code).toBe(0);
    expect(s.docker.user('ada@example.com')?.active).toBe(true);
  });

  it('when Docker\'s read fails, the IdP read still going is stopped, not left running', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 1_200; i++) s.directory.addUser({ email: `p${i}@example.com`, givenName: 'P', familyName: String(i) });
    s.world.idp.latencyMs = 400;
    s.docker.http.faults.add({ route: 'listUsers', times: Infinity, action: { type: 'status', status: 401 } });
    const ctx = loadContext({}, s.env({ LOG_LEVEL: 'silent' }));
    const err = await syncCommand(ctx, {}).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/401/);
    // A page already in flight is answered (the emulator logs it then); after that, nothing more.
    await new Promise((r) => setTimeout(r, 1_500));
    const seen = s.world.idp.requests.length;
    // The app users are three pages, then the groups: had the read gone on, they would arrive now.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(s.world.idp.requests.length).toBe(seen);
    expect(seen).toBeLessThan(3);
  });
});
