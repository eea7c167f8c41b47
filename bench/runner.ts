import type { WorldSource } from '../src/sandbox/world.ts';
import { dockerCounts, graphCounts, loadOf, oktaCounts, type SystemCounts } from './counts.ts';
import { startFixture, setPace, clearLogs, type Fixture } from './fixture.ts';
import { floorRatio, runFloor, type SystemName } from './floor.ts';
import type { Pace } from './limits.ts';
import { runProduct, type ChildRun } from './measure.ts';
import type { StepResult, WorkloadResult } from './result.ts';
import type { Sizes, Step, Workload } from './workloads.ts';

/**
 * Runs the workloads for each source: sets up each step's world (reusing the last one where the
 * step allows), runs the product once unmeasured if the step needs a synced state, changes the IdP
 * if the step says so, then runs the product once more with latency and limits as the step says,
 * and turns the emulators' logs and the product's cost line into a StepResult.
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

async function runStep(o: RunnerOptions, w: Workload, step: Step, f: Fixture, label: string): Promise<StepResult> {
  let setupWallS: number | undefined;
  if (step.start === 'synced' && !f.synced) {
    o.progress(`${label}: setup run (not measured, no latency or limits)`);
    setPace(f, null);
    const setup = await product(o, f, step, false);
    if (setup.exitCode !== 0) throw new Error(`the setup run failed: ${exitText(setup)}`);
    f.synced = true;
    setupWallS = setup.wallMs / 1000;
  }
  const change = step.change?.(f.world.directory, f.population);
  setPace(f, step.paced ? o.pace : null);
  o.progress(`${label}: measured run${step.paced ? ` (latency ${o.pace.latencyMs} ms, limits at time scale ${o.pace.timeScale})` : ' (no latency or limits)'}`);
  const cpu0 = process.cpuUsage();
  const run = await product(o, f, step, true);
  const cpu = process.cpuUsage(cpu0);
  f.synced = run.exitCode === 0;
  const systems = countsOf(f);
  clearLogs(f);
  const pace = step.paced ? o.pace : null;
  const floor = pace ? runFloor(systems.map((c) => loadOf(c, { pace, concurrency: o.concurrency }))) : null;
  const wallS = run.wallMs / 1000;
  const result: StepResult = {
    workload: w.id,
    source: f.source,
    users: step.users,
    paced: step.paced,
    exitCode: run.exitCode,
    ...(run.exitCode !== 0 ? { error: exitText(run) } : {}),
    wallS,
    cost: run.cost,
    peakFrom: run.peakFrom,
    emulatorCpuS: (cpu.user + cpu.system) / 1e6,
    systems,
    floor,
    ratio: floor ? floorRatio(wallS, floor) : null,
    ...(change ? { change } : {}),
    ...(setupWallS !== undefined ? { setupWallS } : {}),
  };
  o.progress(`${label}: ${run.exitCode === 0 ? 'done' : 'failed'} in ${wallS.toFixed(1)} s${floor ? `, floor ${floor.floorS.toFixed(1)} s` : ''}`);
  return result;
}

/** A setup run is a plain full sync; the measured run is what the step says. */
function product(o: RunnerOptions, f: Fixture, step: Step, measured: boolean): Promise<ChildRun> {
  return runProduct({
    cwd: f.dir,
    env: { ...f.env, DOCKER_CONCURRENCY: String(o.concurrency.docker), ...(step.env ?? {}) },
    args: measured ? (step.args ?? ['sync']) : ['sync'],
    timeoutMs: o.timeoutMs,
  });
}

function countsOf(f: Fixture): SystemCounts[] {
  const w = f.world;
  const idp = w.graph ? graphCounts(w.idp.requests, w.graph.log) : oktaCounts(w.idp.requests);
  return [dockerCounts(w.docker.http.requests), idp];
}

function exitText(run: ChildRun): string {
  const how = run.signal ? `killed by ${run.signal}` : `exit ${run.exitCode}`;
  const last = run.tail.at(-1);
  return last ? `${how}: ${last}` : how;
}

function failedStep(workload: string, source: WorldSource, step: Step, error: string): StepResult {
  return { workload, source, users: step.users, paced: step.paced, exitCode: null, error, wallS: 0, cost: null, emulatorCpuS: 0, systems: [], floor: null, ratio: null };
}
