import type { WorldSource } from '../src/sandbox/world.ts';
import { loadOf } from './counts.ts';
import { startFixture, setPace, clearLogs, countsOf, inThePast, productEnv, type Fixture } from './fixture.ts';
import { floorRatio, runFloor, type SystemName } from './floor.ts';
import { runFreshness } from './freshness.ts';
import { landed, unlandedText } from './landed.ts';
import type { Pace } from './limits.ts';
import { exitText, runProduct, type ChildRun } from './measure.ts';
import { makeChange, planFewChanges, summarizeFew } from './population.ts';
import { parseRunMode, type RunModeSeen } from './product-log.ts';
import type { StepResult, WorkloadResult } from './result.ts';
import type { Sizes, Step, Workload } from './workloads.ts';

/**
 * Runs the workloads for each source: sets up each step's world (reusing the last one where the
 * step allows), runs the product once unmeasured if the step needs a synced state (and once more,
 * incrementally, if it needs a feed cursor), changes the IdP if the step says so, then runs the
 * product once more with latency and limits as the step says, and turns the emulators' logs and
 * the product's log lines into a StepResult. A daemon step is bench/freshness.ts's.
 */

export interface RunnerOptions {
  readonly sources: readonly WorldSource[];
  readonly workloads: readonly Workload[];
  readonly sizes: Sizes;
  readonly pace: Pace;
  /** Requests in flight allowed per system; Docker's is passed to the product as DOCKER_CONCURRENCY. */
  readonly concurrency: Readonly<Record<SystemName, number>>;
  /** Bound on one product run: a hang ends the step, it is not a measurement. */
  readonly timeoutMs: number;
  readonly progress: (line: string) => void;
}

export async function runWorkloads(o: RunnerOptions): Promise<WorkloadResult[]> {
  const results = o.workloads.map((w) => ({ id: w.id, title: w.title, ...(w.pending !== undefined ? { pending: w.pending } : {}), steps: [] as StepResult[] }));
  for (const source of o.sources) {
    let current: Fixture | null = null;
    for (const [i, w] of o.workloads.entries()) {
      for (const step of w.steps?.(o.sizes) ?? []) {
        const label = `${source} ${w.id} ${step.users.toLocaleString('en-US')} users`;
        try {
          if (step.start === 'fresh' || !current || current.users !== step.users || !current.synced) {
            await current?.stop();
            current = null;
            o.progress(`${label}: building the world`);
            current = await startFixture(source, step.users);
          }
          const result = await runStep(o, w, step, current, label);
          (results[i] as { steps: StepResult[] }).steps.push(result);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          o.progress(`${label}: failed: ${message}`);
          (results[i] as { steps: StepResult[] }).steps.push(failedStep(w.id, source, step, message));
          await current?.stop();
          current = null;
        }
      }
    }
    await current?.stop();
  }
  return results;
}

/** What getting a step's world ready cost and found, for its result. */
export interface Prepared {
  readonly setupWallS?: number;
  readonly fullReference?: NonNullable<StepResult['fullReference']>;
}

const INCREMENTAL_ARGS = ['sync', '--incremental'] as const;

async function runStep(o: RunnerOptions, w: Workload, step: Step, f: Fixture, label: string): Promise<StepResult> {
  const prepared = await prepare(o, step, f, label);
  if (step.daemon) return runFreshness({ ...o, daemon: step.daemon }, w, step, f, label, prepared);
  const dir = f.world.directory;
  const docker = f.world.docker;
  const planned = step.few ? planFewChanges(dir, f.population, step.few.mix, step.few.seed) : null;
  if (planned) {
    // A change already in Docker would "land" whatever the run did.
    const already = planned.filter((c) => landed(c, docker));
    if (already.length > 0) throw new Error(`${already.length} of the planned changes are already in Docker before the run; the change set is wrong`);
    for (const c of planned) makeChange(dir, c);
  }
  // A bulk change set is history by the time anything follows the feed (fixture.ts inThePast).
  const bulk = step.change;
  const change = planned ? summarizeFew(planned) : bulk ? inThePast(dir, () => bulk(dir, f.population)) : undefined;
  setPace(f, step.paced ? o.pace : null);
  o.progress(`${label}${step.variant ? ` (${step.variant})` : ''}: measured run${step.paced ? ` (latency ${o.pace.latencyMs} ms, limits at time scale ${o.pace.timeScale})` : ' (no latency or limits)'}`);
  const args = step.args ?? ['sync'];
  const asked = args.includes('--incremental');
  let mode: RunModeSeen | null = null;
  const cpu0 = process.cpuUsage();
  const run = await product(o, f, step, args, (line) => {
    const seen = asked ? parseRunMode(line) : null;
    if (seen) mode = seen;
  });
  const cpu = process.cpuUsage(cpu0);
  const missing = planned && run.exitCode === 0 ? unlandedText(planned, docker) : null;
  f.synced = run.exitCode === 0 && missing === null;
  if (asked && run.exitCode === 0) f.primed = true;
  const systems = countsOf(f);
  clearLogs(f);
  const pace = step.paced ? o.pace : null;
  const floor = pace ? runFloor(systems.map((c) => loadOf(c, { pace, concurrency: o.concurrency }))) : null;
  const wallS = run.wallMs / 1000;
  const error = run.exitCode !== 0 ? exitText(run) : missing;
  const seen = mode as RunModeSeen | null;
  const result: StepResult = {
    workload: w.id,
    source: f.source,
    users: step.users,
    paced: step.paced,
    exitCode: run.exitCode,
    ...(error !== null ? { error } : {}),
    wallS,
    cost: run.cost,
    peakFrom: run.peakFrom,
    emulatorCpuS: (cpu.user + cpu.system) / 1e6,
    systems,
    floor,
    ratio: floor ? floorRatio(wallS, floor) : null,
    ...(change ? { change } : {}),
    ...(prepared.setupWallS !== undefined ? { setupWallS: prepared.setupWallS } : {}),
    ...(step.variant !== undefined ? { variant: step.variant } : {}),
    ...(asked ? { mode: seen } : {}),
    ...(prepared.fullReference ? { fullReference: prepared.fullReference } : {}),
    ...(planned ? { changes: planned.map((c) => ({ kind: c.kind, userName: c.userName, landed: landed(c, docker) })) } : {}),
  };
  const how = !asked ? '' : seen === null ? ', said neither "incremental read" nor "reading everything"' : seen.mode === 'incremental' ? `, incremental (${seen.users} users)` : `, read everything: ${seen.reason}`;
  o.progress(`${label}: ${error === null ? 'done' : `failed (${error})`} in ${wallS.toFixed(1)} s${floor ? `, floor ${floor.floorS.toFixed(1)} s` : ''}${how}`);
  return result;
}

/**
 * A synced state when the step needs one (a plain `sync`, unmeasured, no latency or limits), and a
 * feed cursor when it needs one (`sync --incremental`, likewise: with no cursor it reads everything
 * and keeps one). That second run is a full read of a synced world, so its requests are what a
 * full run with nothing to do asks: the incremental run's yardstick when no `rerun` was measured.
 */
async function prepare(o: RunnerOptions, step: Step, f: Fixture, label: string): Promise<Prepared> {
  let setupWallS: number | undefined;
  if (step.start === 'synced' && !f.synced) {
    o.progress(`${label}: setup run (not measured, no latency or limits)`);
    setPace(f, null);
    const setup = await product(o, f, step, ['sync']);
    if (setup.exitCode !== 0) throw new Error(`the setup run failed: ${exitText(setup)}`);
    f.synced = true;
    setupWallS = setup.wallMs / 1000;
  }
  if (!step.cursor || f.primed) return setupWallS !== undefined ? { setupWallS } : {};
  o.progress(`${label}: priming the feed cursor with sync --incremental (not measured, no latency or limits)`);
  setPace(f, null);
  const prime = await product(o, f, step, INCREMENTAL_ARGS);
  if (prime.exitCode !== 0) throw new Error(`the run that primes the feed cursor failed: ${exitText(prime)}`);
  f.primed = true;
  // The emulated System Log turns the directory's changes into events when it is first read: done
  // now, so the measured run does not pay the emulator's catch-up on the whole population.
  void f.world.okta?.systemLog.size;
  const counts = countsOf(f);
  clearLogs(f);
  const fullReference = {
    calls: counts.reduce((n, c) => n + c.calls, 0),
    writes: counts.reduce((n, c) => n + c.writes, 0),
    from: 'the unmeasured sync --incremental that primed the feed cursor (a full read, no latency or limits)',
  };
  return { ...(setupWallS !== undefined ? { setupWallS } : {}), fullReference };
}

/** One run of the product with the step's environment; `onLine` sees every line it writes. */
function product(o: RunnerOptions, f: Fixture, step: Step, args: readonly string[], onLine?: (line: string) => void): Promise<ChildRun> {
  return runProduct({
    cwd: f.dir,
    env: productEnv(o.concurrency.docker, f, step),
    args,
    timeoutMs: o.timeoutMs,
    ...(onLine ? { onLine } : {}),
  });
}

function failedStep(workload: string, source: WorldSource, step: Step, error: string): StepResult {
  return { workload, source, users: step.users, paced: step.paced, exitCode: null, error, wallS: 0, cost: null, emulatorCpuS: 0, systems: [], floor: null, ratio: null };
}
