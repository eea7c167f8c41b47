import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { Plan } from '../../src/model/plan.ts';
import { renderReport, type ReportFormat } from '../../src/report/index.ts';
import { createDockerClient, createSource, sourceIdentity } from '../../src/run/factory.ts';
import { runSync, type SyncOutcome } from '../../src/run/sync.ts';
import { startWorld, type World, type WorldOptions } from '../../src/sandbox/world.ts';
import { openState } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import { trustCertificates } from '../../src/util/tls.ts';
import { afterEach, beforeEach } from 'vitest';
import { captureLogs } from './logs.ts';
import { seedPeople } from './people.ts';

/**
 * A scenario: a sandbox world (IdP emulator + Docker SCIM emulator on loopback), a real state file
 * in a temp folder, and two ways to run docker-idp-sync against them: in-process through the same
 * code the CLI runs (fast), or as the real CLI in a child process (exit codes, stdout, kill -9).
 */

export const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

export interface RunOptions {
  dryRun?: boolean;
  force?: boolean;
  noDeactivate?: boolean;
  /** Follow the IdP's change feed when the run may (the daemon's mode; `sync --incremental`). */
  incremental?: boolean;
  env?: Record<string, string>;
}

export interface InProcessRun {
  readonly outcome: SyncOutcome;
  readonly plan: Plan;
  /** Log lines (JSON) the run wrote. */
  readonly logs: string[];
  report(format?: ReportFormat): string;
  /** Write requests Docker received during this run. */
  readonly writes: number;
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class Scenario {
  readonly world: World;
  readonly dir: string;
  readonly stateDb: string;

  private constructor(world: World, dir: string) {
    this.world = world;
    this.dir = dir;
    this.stateDb = join(dir, 'state.db');
  }

  static async start(opts: WorldOptions = {}): Promise<Scenario> {
    const world = await startWorld(opts);
    // Graph is TLS-only: this process trusts the emulator's CA; child processes get it through
    // NODE_EXTRA_CA_CERTS, as an admin behind a TLS-inspecting proxy would (reference §5.6).
    if (world.caPem) trustCertificates([world.caPem]);
    return new Scenario(world, mkdtempSync(join(tmpdir(), 'idp-sync-e2e-')));
  }

  get source() {
    return this.world.source;
  }

  get directory() {
    return this.world.directory;
  }

  get docker() {
    return this.world.docker;
  }

  /**
   * The scenario company is small: one leaver is already above the default 10% guard, which has
   * its own tests. Scenarios about other things run with the percentage guard opened up.
   */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { ...this.world.env, STATE_DB: this.stateDb, LOG_LEVEL: 'debug', MAX_DEACTIVATION_PERCENT: '50', ...extra };
  }

  /** One sync through the product's own code path, in this process. */
  async sync(opts: RunOptions = {}): Promise<InProcessRun> {
    const config = loadConfig({ env: this.env(opts.env) });
    const capture = captureLogs(config.log.level, config.secrets);
    const logger = capture.logger;
    const state = openState({ path: config.state.db, dryRun: opts.dryRun === true });
    const before = this.world.docker.http.writes().length;
    try {
      const outcome = await runSync(
        { config, source: createSource(config, logger), docker: createDockerClient(config, logger), state, logger, sourceIdentity: sourceIdentity(config) },
        { dryRun: opts.dryRun === true, force: opts.force === true, noDeactivate: opts.noDeactivate === true, mode: opts.incremental === true ? 'incremental' : 'full' },
      );
      const writes = this.world.docker.http.writes().length - before;
      return {
        outcome,
        plan: outcome.plan,
        logs: capture.text().split('\n'),
        writes,
        report: (format: ReportFormat = 'text') =>
          renderReport(format, { plan: outcome.plan, ...(opts.dryRun ? {} : { result: outcome.result }), generatedAt: outcome.result.finishedAt, dryRun: opts.dryRun === true }),
      };
    } finally {
      state.close();
    }
  }

  /** The real CLI in a child process. `onSpawn` gets the child, e.g. to kill it mid-run. */
  cli(args: string[], opts: { env?: Record<string, string>; onSpawn?: (child: ReturnType<typeof spawn>) => void } = {}): Promise<CliRun> {
    const ca: Record<string, string> = {};
    if (this.world.caPem) {
      ca.NODE_EXTRA_CA_CERTS = join(this.dir, 'emulator-ca.pem');
      writeFileSync(ca.NODE_EXTRA_CA_CERTS, this.world.caPem);
    }
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: this.dir, LOG_FORMAT: 'json', ...ca, ...this.env(opts.env) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Anything the CLI writes by relative path (./data/…) lands in the scenario's scratch folder.
      cwd: this.dir,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    opts.onSpawn?.(child);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  /** Read-only view of the state file (an in-memory copy: the file is not touched). */
  state<T>(fn: (s: StateStore) => T): T {
    const s = openState({ path: this.stateDb, dryRun: true });
    try {
      return fn(s);
    } finally {
      s.close();
    }
  }

  stateHash(): string | null {
    if (!existsSync(this.stateDb)) return null;
    const h = createHash('sha256').update(readFileSync(this.stateDb));
    for (const suffix of ['-wal', '-shm']) if (existsSync(this.stateDb + suffix)) h.update(readFileSync(this.stateDb + suffix));
    return h.digest('hex');
  }

  async stop(): Promise<void> {
    await this.world.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Requests the Docker emulator received that write, as "METHOD route". */
export function writeKinds(world: World, since = 0): string[] {
  return world.docker.http.writes().slice(since).map((r) => `${r.method} ${r.route}`);
}

/**
 * The usual e2e fixture: a fresh scenario for each test of the enclosing describe, prepared (by
 * default with seedPeople) before it and stopped after it. The returned value stands for the
 * current test's scenario, so a test reads `s.cli(...)` as if it had started it itself.
 */
/**
 * The people of seedPeople, synced once by a run that keeps a change-feed cursor: what the daemon's
 * first run leaves. The caller stops the scenario; `first` is that run.
 */
export async function startSyncedWithCursor(opts: WorldOptions): Promise<{ s: Scenario; first: InProcessRun }> {
  const s = await Scenario.start(opts);
  seedPeople(s.directory);
  const first = await s.sync({ incremental: true });
  if (s.state((st) => st.feedMark().cursor) === null) throw new Error('the first run kept no change-feed cursor');
  return { s, first };
}

export function scenarioPerTest(opts: WorldOptions, prepare: (s: Scenario) => void = (sc) => seedPeople(sc.directory)): Scenario {
  let current: Scenario | null = null;
  beforeEach(async () => {
    current = await Scenario.start(opts);
    prepare(current);
  });
  afterEach(async () => {
    await current?.stop();
    current = null;
  });
  return new Proxy({} as Scenario, {
    get(_target, prop) {
      if (!current) throw new Error('the scenario exists only while a test runs');
      const value = Reflect.get(current, prop, current) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(current) : value;
    },
  });
}
