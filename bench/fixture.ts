import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Directory } from '../src/sandbox/directory.ts';
import { startWorld, type World, type WorldSource } from '../src/sandbox/world.ts';
import { dockerCounts, graphCounts, oktaCounts, type SystemCounts } from './counts.ts';
import { emulatorLimits, type Pace } from './limits.ts';
import { populate, type Population } from './population.ts';
import type { Step } from './workloads.ts';

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
  /** True once a run asked to be incremental has succeeded: the state file keeps a feed cursor from then on (if the source has a feed). */
  primed: boolean;
  stop(): Promise<void>;
}

export async function startFixture(source: WorldSource, users: number): Promise<Fixture> {
  const world = await startWorld({ source });
  const population = inThePast(world.directory, () => populate(world.directory, { users }));
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
    primed: false,
    async stop() {
      await world.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * How far back the world's history is stamped in the Directory's change log, which the emulators'
 * change feeds serve (Okta's System Log dates its events by it). The population and the 1 % change
 * set happened long ago in a real tenant; built seconds before a run, they would fall inside the
 * window the Okta feed reads again before a full read (START_OVERLAP_MS, 30 s) and swamp the first
 * incremental run with users nobody changed since. The changes a workload times are stamped now.
 */
export const HISTORY_AGE_MS = 60 * 60_000;

export function inThePast<T>(dir: Directory, work: () => T): T {
  const now = dir.now;
  dir.now = () => Date.now() - HISTORY_AGE_MS;
  try {
    return work();
  } finally {
    dir.now = now;
  }
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

/**
 * What the product asked of each system since the logs were last cleared, from the emulators' own
 * logs; with `within`, only the requests answered at those moments (one daemon run's).
 */
export function countsOf(f: Fixture, within: (at: number) => boolean = () => true): SystemCounts[] {
  const w = f.world;
  const keep = <T extends { readonly at: number }>(xs: readonly T[]) => xs.filter((x) => within(x.at));
  const idp = w.graph ? graphCounts(keep(w.idp.requests), keep(w.graph.log)) : oktaCounts(keep(w.idp.requests));
  return [dockerCounts(keep(w.docker.http.requests)), idp];
}

/** The product's environment for a step: the world's, the bench's Docker concurrency, the step's own. */
export function productEnv(dockerConcurrency: number, f: Fixture, step: Step): Record<string, string> {
  return { ...f.env, DOCKER_CONCURRENCY: String(dockerConcurrency), ...(step.env ?? {}) };
}
