import { setTimeout as sleep } from 'node:timers/promises';
import { scheduleIntervalMs } from '../src/daemon/schedule.ts';
import type { RequestRecord } from '../src/sandbox/http/emulator.ts';
import { loadOf, type LoadOptions } from './counts.ts';
import { countsOf, productEnv, setPace, type Fixture } from './fixture.ts';
import { windowShare } from './floor.ts';
import { landed } from './landed.ts';
import { exitText, startProduct, type ChildRun } from './measure.ts';
import { makeChange, planFewChanges, summarizeFew, type FewChange } from './population.ts';
import { RunTracker, runAt, type TrackedRun } from './product-log.ts';
import type { DaemonRun, FreshnessChange, StepResult } from './result.ts';
import type { Prepared, RunnerOptions } from './runner.ts';
import type { Step, Workload } from './workloads.ts';

/**
 * The freshness workload, end to end: the product's `daemon` in a child process on a synced world,
 * with latency and limits; once its first run has ended, one change of each kind is made in the
 * IdP, spread over one schedule gap so they meet the schedule at different points; each is timed
 * from the moment it is made to the Docker write that makes it visible in the emulator's store
 * (seen as the write is answered, not by polling). The daemon's log says where each run ends, so
 * every request and every change is put down to the run that made it. Then SIGTERM, and the
 * daemon must exit 0.
 */

export interface FreshnessOptions extends RunnerOptions {
  readonly daemon: NonNullable<Step['daemon']>;
}

/** How long a change may take to show in Docker before the step fails: three ticks and two minutes. */
export function landingDeadlineMs(gapMs: number): number {
  return 3 * gapMs + 120_000;
}

/** When each of `n` changes is made, in ms after the daemon's first run ended: spread over one gap. */
export function changeOffsetsMs(n: number, gapMs: number): number[] {
  return Array.from({ length: n }, (_, k) => Math.round((k * gapMs) / n));
}

export async function runFreshness(o: FreshnessOptions, w: Workload, step: Step, f: Fixture, label: string, prepared: Prepared): Promise<StepResult> {
  const { schedule } = o.daemon;
  const gapMs = scheduleIntervalMs(schedule);
  const docker = f.world.docker;
  const dir = f.world.directory;
  setPace(f, step.paced ? o.pace : null);
  o.progress(`${label}: daemon on SCHEDULE="${schedule}"${step.paced ? ` (latency ${o.pace.latencyMs} ms, limits at time scale ${o.pace.timeScale})` : ''}; waiting for its first run`);
  const tracker = new RunTracker();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const daemon = startProduct({
    cwd: f.dir,
    env: { ...productEnv(o.concurrency.docker, f, step), SCHEDULE: schedule, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', START_DELAY_MAX: '0s' },
    args: ['daemon'],
    timeoutMs: o.timeoutMs,
    onLine: (line, at) => tracker.line(line, at),
  });
  // Until it is stopped on purpose, the daemon exiting is a failure of the step.
  const died = daemon.exited.then((run) => Promise.reject(new Error(`the daemon exited before the step ended: ${exitText(run)}`)));
  died.catch(() => {});

  const seen = new Map<FewChange, number>();
  const made = new Map<FewChange, number>();
  let planned: FewChange[] = [];
  let failure: string | null = null;
  let stopped: ChildRun | null = null;
  let firstEnd = 0;
  const timers = new AbortController();
  try {
    const first = await Promise.race([nextRunEnd(tracker), died]);
    if (first.status !== 'succeeded') throw new Error(`the daemon's first run ended ${first.status ?? 'without a status'}`);
    firstEnd = first.endAt as number;
    planned = planFewChanges(dir, f.population, o.daemon.mix, o.daemon.seed);
    if (planned.some((c) => landed(c, docker))) throw new Error('a planned change is already in Docker before it is made; the change set is wrong');
    const allSeen = watchDocker(f, planned, made, seen);
    o.progress(`${label}: first run done; making ${planned.length} changes over one ${gapMs / 1000} s schedule gap`);
    const offsets = changeOffsetsMs(planned.length, gapMs);
    for (const [k, c] of planned.entries()) {
      const wait = firstEnd + (offsets[k] as number) - Date.now();
      if (wait > 0) await Promise.race([sleep(wait, undefined, { signal: timers.signal }), died]);
      made.set(c, Date.now());
      makeChange(dir, c);
    }
    const lastMade = Math.max(...made.values());
    await Promise.race([allSeen, died, deadline(lastMade + landingDeadlineMs(gapMs), () => `${planned.length - seen.size} of ${planned.length} changes did not reach Docker within ${Math.round(landingDeadlineMs(gapMs) / 1000)} s`, timers.signal)]);
    // The run that made the last one visible is let finish, so its cost line and requests are whole.
    const lastSeen = Math.max(...seen.values());
    if (runAt(tracker.runs, lastSeen) === null) await Promise.race([untilRunEndsAfter(tracker, lastSeen), died]);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  } finally {
    timers.abort();
    docker.http.onRequest = null;
    o.progress(`${label}: stopping the daemon with SIGTERM`);
    stopped = await daemon.stop();
  }
  const cpu = process.cpuUsage(cpu0);
  const wallS = (performance.now() - t0) / 1000;
  if (failure === null && stopped.exitCode !== 0) failure = `the daemon exited ${stopped.exitCode ?? stopped.signal} after SIGTERM, not 0: ${exitText(stopped)}`;

  const ended = tracker.runs.filter((r) => r.endAt !== null);
  const runs = daemonRuns(f, ended, step.paced ? { pace: o.pace, concurrency: o.concurrency } : null);
  const changes: FreshnessChange[] = planned.map((c) => {
    const madeAt = made.get(c);
    const seenAt = seen.get(c);
    return {
      kind: c.kind,
      userName: c.userName,
      madeAtS: madeAt === undefined ? null : (madeAt - firstEnd) / 1000,
      seconds: madeAt !== undefined && seenAt !== undefined ? (seenAt - madeAt) / 1000 : null,
      run: seenAt === undefined ? null : runAt(ended, seenAt),
    };
  });
  const last = ended.filter((r) => r.cost).at(-1)?.cost ?? null;
  const cost = last ? { ...last, maxRssMb: Math.max(...runs.map((r) => r.maxRssMb ?? 0)) } : null;
  const worst = Math.max(0, ...changes.map((c) => c.seconds ?? 0));
  o.progress(`${label}: ${failure === null ? 'done' : `failed (${failure})`}; ${runs.length} daemon runs; worst change to Docker ${worst.toFixed(1)} s; daemon exit ${stopped.exitCode ?? stopped.signal}`);
  return {
    workload: w.id,
    source: f.source,
    users: step.users,
    paced: step.paced,
    exitCode: stopped.exitCode,
    ...(failure !== null ? { error: failure } : {}),
    wallS,
    cost,
    peakFrom: 'run',
    emulatorCpuS: (cpu.user + cpu.system) / 1e6,
    systems: countsOf(f),
    // The daemon waits on its schedule by design: no floor to hold its wall time to.
    floor: null,
    ratio: null,
    ...(planned.length > 0 ? { change: summarizeFew(planned) } : {}),
    ...(prepared.setupWallS !== undefined ? { setupWallS: prepared.setupWallS } : {}),
    ...(prepared.fullReference ? { fullReference: prepared.fullReference } : {}),
    freshness: { schedule, gapS: gapMs / 1000, changes, runs, exitCode: stopped.exitCode },
  };
}

/**
 * Records when each change first shows in Docker: checked as each write is answered (the store has
 * changed by then), so the time is the write's, not a poll's. Resolves once every change is seen.
 */
function watchDocker(f: Fixture, planned: readonly FewChange[], made: ReadonlyMap<FewChange, number>, seen: Map<FewChange, number>): Promise<void> {
  const docker = f.world.docker;
  return new Promise((resolve) => {
    docker.http.onRequest = (rec: RequestRecord) => {
      if (rec.method === 'GET' || rec.method === 'HEAD') return;
      for (const c of planned) if (made.has(c) && !seen.has(c) && landed(c, docker)) seen.set(c, rec.at);
      if (seen.size === planned.length) resolve();
    };
  });
}

/** The next run to end (the first, when called before any has). */
function nextRunEnd(tracker: RunTracker): Promise<TrackedRun> {
  return new Promise((resolve) => tracker.onRunEnd(resolve));
}

function untilRunEndsAfter(tracker: RunTracker, at: number): Promise<void> {
  return new Promise((resolve) => tracker.onRunEnd((r) => (r.endAt as number) >= at && resolve()));
}

/** Rejects at `at` unless aborted first (an abort rejects too, but nothing waits for it any more). */
function deadline(at: number, why: () => string, signal: AbortSignal): Promise<never> {
  const p = sleep(Math.max(0, at - Date.now()), undefined, { signal }).then(() => Promise.reject(new Error(why())));
  p.catch(() => {});
  return p;
}

/** Each run with the requests it made: those answered after the previous run ended and before it did. */
function daemonRuns(f: Fixture, runs: readonly TrackedRun[], limits: LoadOptions | null): DaemonRun[] {
  return runs.map((r, i) => {
    const from = i === 0 ? Number.NEGATIVE_INFINITY : (runs[i - 1]?.endAt as number);
    const to = r.endAt as number;
    const systems = countsOf(f, (at) => at > from && at <= to);
    const c = r.cost;
    return {
      runId: r.runId,
      status: r.status,
      mode: r.mode,
      wallS: c ? (c.wallMs.read + c.wallMs.plan + c.wallMs.apply) / 1000 : null,
      cpuS: c ? (c.cpuMs.read + c.cpuMs.plan + c.cpuMs.apply) / 1000 : null,
      maxRssMb: c ? c.maxRssMb : null,
      calls: systems.reduce((n, s) => n + s.calls, 0),
      systems,
      windowShare: limits ? windowShare(systems.map((s) => loadOf(s, limits))) : null,
    };
  });
}
