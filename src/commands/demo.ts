import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { scrubber } from '../logging/scrub.ts';
import { reportPieces, type ReportFormat } from '../report/index.ts';
import type { RunMode } from '../run/coverage.ts';
import { syncOnce } from '../run/once.ts';
import type { SyncOutcome } from '../run/sync.ts';
import { startWorld, type World, type WorldSource } from '../sandbox/world.ts';
import { trustCertificates } from '../util/tls.ts';
import { loggerFor } from './context.ts';
import { writeReport } from './output.ts';

/**
 * `demo`: the whole product on the built-in emulators, with no credentials. It shows the dry-run
 * report, the applied run, a second run with nothing to do, then a change in the IdP and the run
 * that follows it. It checks its own claims: a second run that plans anything fails the demo.
 */

export interface DemoOptions {
  source?: WorldSource;
  users?: number;
  format?: ReportFormat;
  logLevel?: string;
  keep?: boolean;
}

/**
 * The demo's company before the tool first runs: seeded people (with a few broken records), two
 * accounts already in Docker, and the team group step 4 joins someone to. Also what the sample
 * report in docs/ is made from (scripts/sample-report.ts).
 */
export async function startDemoWorld(source: WorldSource, users = 20): Promise<World> {
  const world = await startWorld({ source, seed: { users, edgeCases: true, seed: 2026 } });
  // The Graph emulator speaks TLS with a certificate made just now; trust it in this process.
  if (world.caPem) trustCertificates([world.caPem]);
  prepareDocker(world);
  // The team group step 4 joins someone to exists from the start: assigning a new group to the app
  // is a change no incremental run follows (it reads everything), and step 5 shows an incremental one.
  if (![...world.directory.groups.values()].some((g) => g.name === 'acme:platform')) world.directory.addGroup('acme:platform');
  return world;
}

export async function demoCommand(opts: DemoOptions): Promise<number> {
  const world = await startDemoWorld(opts.source ?? 'okta', opts.users ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'docker-idp-sync-demo-'));
  const out = (s: string) => process.stdout.write(s);
  try {
    const config = loadConfig({ env: { ...world.env, STATE_DB: join(dir, 'state.db'), LOG_LEVEL: opts.logLevel ?? 'warn' } });
    const logger = loggerFor(config);
    // The sandbox's credentials are no secrets, but the demo shows what a real run prints: scrubbed.
    const scrub = scrubber(config.secrets);
    const format = opts.format ?? 'text';
    const run = async (dryRun: boolean, mode: RunMode = 'full'): Promise<SyncOutcome> => {
      const outcome = await syncOnce({ config, logger, scrub }, { dryRun, mode });
      await writeReport(reportPieces(format, { plan: outcome.plan, ...(dryRun ? {} : { result: outcome.result }), generatedAt: outcome.result.finishedAt, dryRun }), undefined, scrub);
      return outcome;
    };

    const idpLine = world.source === 'entra' ? `Microsoft Graph emulator: ${world.env.GRAPH_BASE_URL} (Docker app ${world.env.ENTRA_APP_ID})` : `Okta emulator:        ${world.env.OKTA_ORG_URL} (app ${world.env.OKTA_APP_ID})`;
    out(`docker-idp-sync demo (source: ${world.source})\n  ${idpLine}\n  Docker SCIM emulator: ${world.env.DOCKER_SCIM_BASE_URL}\n  State file:           ${config.state.db}\n\n`);
    out(banner('Step 1 · sync --dry-run: the reconciliation report (nothing is written)'));
    await run(true);
    const writesAfterDryRun = world.docker.http.writes().length;

    out(banner('Step 2 · sync --incremental: the first run reads everything, applies the plan, and keeps a change-feed cursor'));
    const applied = await run(false, 'incremental');

    out(banner('Step 3 · sync --incremental again: the change feed names no one, Docker already matches, nothing to do'));
    const before = world.docker.http.writes().length;
    const second = await run(false, 'incremental');
    const secondWrites = world.docker.http.writes().length - before;

    const people = world.directory
      .assignedUsers()
      .filter((u) => u.enabled && u.email && /\.\d+@example\.com$/.test(u.email));
    const [renamed, leaver, mover] = people;
    if (!renamed || !leaver || !mover) throw new Error('demo directory is too small; use --users 10 or more');
    world.directory.updateUser(renamed.id, { familyName: `${renamed.familyName ?? ''}-Smith` });
    world.directory.updateUser(leaver.id, { assigned: false });
    for (const g of world.directory.groups.values()) g.members.delete(leaver.id);
    world.directory.addMember('acme:platform', mover.id);
    out(banner(`Step 4 · in ${world.source === 'entra' ? 'Entra ID' : 'Okta'}: ${renamed.email} changes family name, ${leaver.email} is unassigned, ${mover.email} joins acme:platform`));
    await run(true);
    out(banner('Step 5 · sync --incremental: the change feed names those people; only they are read again, and their changes applied'));
    const last = await run(false, 'incremental');

    const problems: string[] = [];
    if (writesAfterDryRun !== 0) problems.push(`the dry run sent ${writesAfterDryRun} write requests`);
    if (applied.result.results.some((r) => r.status === 'failed')) problems.push('the first apply had failed operations');
    if (second.plan.operations.length !== 0 || secondWrites !== 0) problems.push(`the second run planned ${second.plan.operations.length} operations and sent ${secondWrites} writes`);
    if (last.result.results.some((r) => r.status === 'failed')) problems.push('the last apply had failed operations');
    if (second.plan.coverage?.mode !== 'incremental' || last.plan.coverage?.mode !== 'incremental') problems.push('the runs after the first did not follow the change feed');
    out(banner('Demo result'));
    if (problems.length) {
      out(`FAILED: ${problems.join('; ')}\n`);
      return 1;
    }
    out(
      `OK: the dry run wrote nothing; the first sync applied ${applied.result.results.length} operations; ` +
        `the second planned none and sent 0 write requests; the IdP change became ${last.result.results.length} operations.\n` +
        (opts.keep ? `State kept in ${dir}\n` : ''),
    );
    return 0;
  } finally {
    await world.stop();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Two accounts that exist in Docker before the tool runs: one the IdP claims, one nobody does. */
function prepareDocker(world: World): void {
  const person = world.directory.assignedUsers().find((u) => u.email && /\.\d+@example\.com$/.test(u.email));
  if (person?.email) world.docker.seedUser({ userName: person.email, givenName: person.givenName ?? 'Someone', familyName: 'Via-JIT', role: 'member' });
  world.docker.seedUser({ userName: 'jit.contractor@example.com', givenName: 'Jit', familyName: 'Contractor', role: 'member' });
}

function banner(text: string): string {
  return `\n${'━'.repeat(100)}\n${text}\n${'━'.repeat(100)}\n`;
}
