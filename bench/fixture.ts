import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World, type WorldSource } from '../src/sandbox/world.ts';
import { emulatorLimits, type Pace } from './limits.ts';
import { populate, type Population } from './population.ts';

/**
 * One sandbox world with the benchmark's population, the product's state file beside it, and a
 * switch for latency and rate limits: a setup run goes without them (it is not measured), the
 * measured run with them, on the same world.
 */
export interface Fixture {
  readonly source: WorldSource;
  readonly users: number;
  readonly world: World;
  readonly population: Population;
  /** Scratch folder: the state file, the emulator CA for Graph, the child's working directory. */
  readonly dir: string;
  /** Environment of the product's child process. */
  readonly env: Record<string, string>;
  /** True when the state file holds a completed sync of the directory as it is now. */
  synced: boolean;
  stop(): Promise<void>;
}

export async function startFixture(source: WorldSource, users: number): Promise<Fixture> {
  const world = await startWorld({ source });
  const population = populate(world.directory, { users });
  // 100,000 create bodies are nothing the benchmark needs to keep.
  world.docker.http.recordBodies = false;
  world.idp.recordBodies = false;
  const dir = mkdtempSync(join(tmpdir(), `idp-sync-bench-${source}-`));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, ...world.env, STATE_DB: join(dir, 'state.db'), LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
  if (world.caPem) {
    // Graph is TLS-only; a child process trusts the emulator's CA the way an admin's proxy CA is trusted.
    env.NODE_EXTRA_CA_CERTS = join(dir, 'emulator-ca.pem');
    writeFileSync(env.NODE_EXTRA_CA_CERTS, world.caPem);
  }
  return {
    source,
    users,
    world,
    population,
    dir,
    env,
    synced: false,
    async stop() {
      await world.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Turns latency and rate limits on (a pace) or off (null), with fresh windows and empty logs. */
export function setPace(f: Fixture, pace: Pace | null): void {
  const w = f.world;
  const limits = pace ? emulatorLimits(pace) : null;
  w.docker.latencyMs = pace?.latencyMs ?? 0;
  w.idp.latencyMs = pace?.latencyMs ?? 0;
  w.docker.setRateLimit(limits?.docker ?? false);
  w.okta?.setRateLimit(limits?.okta ?? false);
  w.graph?.setThrottle(limits?.graph ?? false);
  clearLogs(f);
}

export function clearLogs(f: Fixture): void {
  f.world.docker.http.resetLog();
  f.world.idp.resetLog();
  if (f.world.graph) f.world.graph.log.length = 0;
}
