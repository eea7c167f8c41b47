import type { Config } from '../config/types.ts';
import { executePlan, type DockerWriter } from '../apply/executor.ts';
import { resultFindings } from '../apply/result-findings.ts';
import type { Logger } from '../logging/logger.ts';
import type { Finding } from '../model/finding.ts';
import type { Source } from '../model/idp.ts';
import { subjectOf, type Plan } from '../model/plan.ts';
import type { OperationError, OperationResult, RunResult, RunStatus } from '../model/result.ts';
import { reviewPlan, type Review } from '../reconcile/review.ts';
import { unfinishedUsers, type RunMode } from './coverage.ts';
import { observeAndPlan, type DockerReader, type FeedAdvance, type ReadTimes, type RunMemory } from './observe.ts';
import { refuseWhileInterrupted, resolveTargets, type Targets } from './targeted.ts';
import { StateError } from '../state/errors.ts';
import type { StateStore } from '../state/store.ts';

/**
 * One sync run: observe both sides, recover what a crash left in flight, plan, then either report
 * (dry run) or apply. The IdP read and the Docker read both finish before anything is planned; if
 * either fails, the run stops there and nothing is written to Docker.
 */

export interface DockerSide extends DockerWriter, DockerReader {}

export interface SyncDeps {
  readonly config: Config;
  readonly source: Source;
  readonly docker: DockerSide;
  readonly state: StateStore;
  readonly logger: Logger;
  /** Identifies the IdP tenant/app this state file belongs to. */
  readonly sourceIdentity: string;
  readonly clock?: () => Date;
}

export interface SyncOptions {
  readonly dryRun: boolean;
  readonly force?: boolean;
  /** Let the plan remove the last owner of an org (reconcile/owners.ts); --force does not. */
  readonly forceLastOwner?: boolean;
  /** --no-deactivate: plan deactivations but apply none (overrides DEACTIVATE for this run). */
  readonly noDeactivate?: boolean;
  readonly signal?: AbortSignal;
  /**
   * `apply`: a plan saved by `plan --out` and reviewed. The run re-reads both sides and re-plans as
   * usual, then applies exactly this plan if the fresh one still contains every operation of it
   * unchanged, and nothing otherwise (reconcile/review.ts).
   */
  readonly reviewed?: Plan;
  /** After each operation of the apply settles. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * incremental: follow the IdP's change feed when it may (see run/coverage.ts), else read
   * everything. Default full: `sync` and `plan` read everything unless told otherwise.
   */
  readonly mode?: RunMode;
  /**
   * `sync --user`: only the people with these emails, now (run/targeted.ts), with the same guards,
   * lock, journal and report; the change feed's cursor stays where it was. `mode` is then ignored.
   */
  readonly users?: readonly string[];
}

export type { ReadTimes } from './observe.ts';

/**
 * What the run cost this process, by phase: reading both sides, mapping and planning, applying.
 * CPU is the process's (user + system), so it also holds the emulators' share when a test runs
 * them in the same process; `npm run bench` runs the product alone in a child process. Logged at
 * the end of every run ("run cost"), which is where the benchmark reads it.
 */
export interface RunCost {
  readonly wallMs: { read: number; plan: number; apply: number };
  readonly cpuMs: { read: number; plan: number; apply: number };
  /** CPU of the whole process since it started (module loading included). */
  readonly processCpuMs: number;
  /** The most resident memory the process has held so far. */
  readonly maxRssMb: number;
}

type Phase = keyof RunCost['wallMs'];

/** Splits a run's wall and CPU time into phases as it goes. */
class CostMeter {
  private readonly wall = { read: 0, plan: 0, apply: 0 };
  private readonly cpu = { read: 0, plan: 0, apply: 0 };
  private wall0 = performance.now();
  private cpu0 = process.cpuUsage();

  /** Charges the time since the last mark to `phase`. */
  mark(phase: Phase): void {
    const now = performance.now();
    const used = process.cpuUsage(this.cpu0);
    this.wall[phase] += now - this.wall0;
    this.cpu[phase] += (used.user + used.system) / 1000;
    this.wall0 = now;
    this.cpu0 = process.cpuUsage();
  }

  cost(): RunCost {
    const total = process.cpuUsage();
    const round = (o: Record<Phase, number>) => ({ read: Math.round(o.read), plan: Math.round(o.plan), apply: Math.round(o.apply) });
    return { wallMs: round(this.wall), cpuMs: round(this.cpu), processCpuMs: Math.round((total.user + total.system) / 1000), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
  }
}

export interface SyncOutcome {
  readonly plan: Plan;
  readonly result: RunResult;
  readonly exitCode: ExitCode;
  readonly reads?: ReadTimes;
  /** What the run cost, by phase (absent on a run that failed). */
  readonly cost?: RunCost;
  /** With `reviewed`: the verdict, and what the fresh plan holds that was not reviewed. */
  readonly review?: Review;
}

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, error: 1, changesPending: 2, held: 3, findings: 4, stale: 5 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const SEVERITY_RANK = { error: 2, warning: 1, info: 0 } as const;

/**
 * FAIL_ON: a run that did everything it could still exits 4 when it reported findings of that
 * severity or worse (users held for bad IdP data, name conflicts), so a scheduler notices what
 * only the report would otherwise say. A failed run (1) or a safety hold (3) says more and wins;
 * a dry run with changes to make keeps its 2, since that is what a reviewer asked it.
 */
export function findingsExit(findings: readonly Finding[], failOn: 'error' | 'warning' | 'never'): boolean {
  if (failOn === 'never') return false;
  const floor = SEVERITY_RANK[failOn];
  return findings.some((f) => SEVERITY_RANK[f.severity] >= floor);
}

/**
 * What a run that failed after its plan was made had got to (the plan, and each operation's
 * result as far as it is known), keyed by the error it failed with. The command still prints that
 * report before the error: an admin whose disk filled up mid-apply needs to know what was sent.
 */
const partial = new WeakMap<object, SyncOutcome>();

export function outcomeOf(err: unknown): SyncOutcome | undefined {
  return typeof err === 'object' && err !== null ? partial.get(err) : undefined;
}

export async function runSync(deps: SyncDeps, opts: SyncOptions): Promise<SyncOutcome> {
  const { config, state, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const startedAt = clock().toISOString();
  checkSourceBinding(state, deps.sourceIdentity, opts.dryRun);
  // Before the lock and the run's record: an email that names nobody, or a journal that needs a
  // full run first, stops it with nothing written anywhere.
  let targets: Targets | undefined;
  if (opts.users) {
    refuseWhileInterrupted(state);
    targets = await resolveTargets(deps, opts.users, opts.signal);
    logger.info({ emails: targets.emails, idpIds: targets.ids }, `sync --user: ${targets.emails.join(', ')} (${targets.ids.length} IdP user${targets.ids.length === 1 ? '' : 's'})`);
  }

  let runId = 'dry-run';
  // A dry run reads a private copy of the state and needs no lock.
  const release = opts.dryRun ? () => {} : state.acquireRunLock(`${config.source} sync`);
  if (!opts.dryRun) {
    try {
      const interrupted = state.markInterruptedRuns();
      if (interrupted.length) logger.warn({ runs: interrupted }, `previous run${interrupted.length === 1 ? '' : 's'} ${interrupted.join(', ')} ended without finishing (killed?); recovering from the journal`);
      runId = state.startRun(config.source, opts.force === true);
    } catch (err) {
      release();
      throw err;
    }
  }
  const log = logger.child({ runId });
  const meter = new CostMeter();
  const finished = (): RunCost => {
    const cost = meter.cost();
    log.info({ cost }, 'run cost');
    return cost;
  };

  let plan: Plan | undefined;
  const reads: ReadTimes = { idpMs: 0, dockerMs: 0 };
  let recovered: string[] = [];
  let outcome: SyncOutcome | undefined;
  try {
    // The reads, the mapping and the stored links are needed only to make the plan: made in a
    // function of their own, they are garbage once it returns, not held through the apply (about
    // 100 MB of live heap at 100,000 users).
    let feed: FeedAdvance | undefined;
    let memory: RunMemory;
    ({ plan, recovered, feed, memory } = await observeAndPlan(
      deps,
      { mode: opts.mode ?? 'full', ...(targets ? { targets } : {}), reviewed: opts.reviewed !== undefined, noDeactivate: opts.noDeactivate === true, force: opts.force === true, forceLastOwner: opts.forceLastOwner === true, signal: opts.signal, now: new Date(startedAt) },
      { runId, log, reads, readDone: () => meter.mark('read') },
    ));
    meter.mark('plan');
    let review: Review | undefined;
    const fresh = plan;
    if (opts.reviewed) {
      review = reviewPlan(opts.reviewed, plan, { force: opts.force === true });
      if (review.verdict !== 'apply') {
        // Refused before the first write: Docker gets nothing, and the state file only the record
        // of this run, so `status` shows that an apply was tried and why it stopped.
        const message = refusalMessage(review);
        log.warn({ verdict: review.verdict }, message);
        const result: RunResult = { runId, dryRun: opts.dryRun, status: 'failed', startedAt, finishedAt: clock().toISOString(), plan, results: [], recovered };
        // The fresh plan is stored with the refusal, so `report --run` shows what was found instead.
        if (!opts.dryRun) state.finishRun(runId, 'failed', result, message);
        return { plan, result, exitCode: review.verdict === 'stale' ? EXIT.stale : EXIT.held, review, reads, cost: finished() };
      }
      plan = review.plan;
      const left = review.unreviewed.length;
      log.info({ operations: plan.operations.length, unreviewed: left }, `the reviewed plan still holds${left ? `; ${left} change${left === 1 ? '' : 's'} planned now ${left === 1 ? 'is' : 'are'} not in it and ${left === 1 ? 'is' : 'are'} not applied` : ''}`);
    }
    if (opts.dryRun) {
      const result: RunResult = { runId, dryRun: true, status: 'succeeded', startedAt, finishedAt: clock().toISOString(), plan, results: [], recovered };
      const exitCode = plan.operations.length > 0 ? EXIT.changesPending : findingsExit(plan.findings, config.sync.failOn) ? EXIT.findings : EXIT.ok;
      meter.mark('plan');
      return { plan, result, exitCode, reads, cost: finished(), ...(review ? { review } : {}) };
    }

    const results = await executePlan({
      runId,
      plan,
      docker: deps.docker,
      state,
      logger: log,
      concurrency: config.docker.concurrency,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    const status = runStatus(results);
    const after = resultFindings(plan, results);
    const result: RunResult = { runId, dryRun: false, status, startedAt, finishedAt: clock().toISOString(), plan, results, recovered, ...(after.length ? { findings: after } : {}) };
    outcome = { plan, result, exitCode: EXIT.error, reads };
    state.finishRun(runId, status, result);
    remember(state, runId, plan, results, memory);
    // The feed moves on after any run that applied its plan; whom it left unfinished (a failed
    // write, a held deactivation, a change the reviewed plan did not have) the next incremental run
    // reads again. Holding the cursor back instead would make the window to re-read grow with
    // every run a persistent failure repeats, until every run is a full one.
    if (feed) {
      const left = new Set(review?.verdict === 'apply' ? review.unreviewed.map((d) => d.opId) : []);
      const unreviewed = left.size ? fresh.operations.filter((op) => left.has(op.id)) : [];
      state.markFeed({ ...feed, retry: unfinishedUsers(plan, results, { deactivateConfigured: config.sync.deactivate, unreviewed }) });
    } else if (targets) {
      // A targeted run leaves the cursor where it was; whom it left unfinished joins those the next
      // incremental run reads again, as after any run that applied part of its plan.
      const mark = state.feedMark();
      const left = unfinishedUsers(plan, results, { deactivateConfigured: config.sync.deactivate, unreviewed: [] });
      if (mark.cursor !== null && left.some((id) => !mark.retry.includes(id))) state.markFeed({ cursor: mark.cursor, retry: [...new Set([...mark.retry, ...left])].sort() });
    }
    meter.mark('apply');
    const failed = results.filter((r) => r.status === 'failed').length;
    for (const f of after) log.warn({ code: f.code, subject: f.subject }, f.message);
    log.info({ status, operations: results.length, failed }, `run ${status}`);
    const exitCode = status === 'held' ? EXIT.held : status !== 'succeeded' ? EXIT.error : findingsExit(plan.findings, config.sync.failOn) ? EXIT.findings : EXIT.ok;
    return { plan, result, exitCode, reads, cost: finished(), ...(review ? { review } : {}) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (plan && typeof err === 'object' && err !== null) {
      // With an outcome, the apply finished and only recording its end failed: Docker got what its
      // results say. Without one, the apply stopped part-way and the journal tells how far it got.
      const finishedAt = clock().toISOString();
      partial.set(err, outcome ?? { plan, result: { runId, dryRun: opts.dryRun, status: 'failed', startedAt, finishedAt, plan, results: resultsSoFar(state, runId, plan), recovered }, exitCode: EXIT.error, reads });
    }
    if (!opts.dryRun) {
      try {
        // What it had got to, when it had a plan: `report --run` can then show it.
        state.finishRun(runId, 'failed', outcomeOf(err)?.result ?? null, message);
      } catch (recordErr) {
        // The same disk or file trouble, most likely: the error that stopped the run is the one to tell.
        log.error({ err: (recordErr as Error).message }, 'could not record the failed run in the state file');
      }
    }
    throw err;
  } finally {
    try {
      release();
    } catch (err) {
      // The lock row stays; the next run takes it over, since this process will be gone.
      log.warn({ err: (err as Error).message }, 'could not release the run lock');
    }
  }
}

/**
 * Each operation's result after an apply that stopped on an error, from the journal rows this run
 * managed to write. A write whose answer could not be recorded is reported as such: the next run
 * finds it in the journal and checks Docker (reconcile/recover.ts).
 */
function resultsSoFar(state: StateStore, runId: string, plan: Plan): OperationResult[] {
  const last = new Map<string, { status: string; dockerId: string | null; detail: Record<string, unknown> | null }>();
  let readable = true;
  try {
    for (const row of state.journalOf(runId)) last.set(row.opId, row);
  } catch {
    readable = false;
  }
  return plan.operations.map((op): OperationResult => {
    const base = { opId: op.id, kind: op.kind, subject: subjectOf(op) };
    if (op.blocked) return { ...base, status: 'blocked', note: op.blocked };
    const row = last.get(op.id);
    if (row?.status === 'succeeded') return { ...base, status: 'succeeded', ...(row.dockerId ? { dockerId: row.dockerId } : {}) };
    if (row?.status === 'failed') return { ...base, status: 'failed', error: operationError(row.detail) };
    if (row?.status === 'started' || !readable) {
      return { ...base, status: 'failed', error: { code: 'STATE_UNRECORDED', message: 'the outcome of this write could not be recorded in the state file; the next run checks Docker for it' } };
    }
    return { ...base, status: 'skipped', note: 'not started: the run stopped when the state file could not be written' };
  });
}

function operationError(detail: Record<string, unknown> | null): OperationError {
  const code = typeof detail?.code === 'string' ? detail.code : 'FAILED';
  const message = typeof detail?.message === 'string' ? detail.message : 'failed (no detail recorded)';
  return { code, message, ...(typeof detail?.status === 'number' ? { status: detail.status } : {}), ...(typeof detail?.detail === 'string' ? { detail: detail.detail } : {}) };
}

function runStatus(results: readonly OperationResult[]): RunStatus {
  if (results.some((r) => r.status === 'failed' || r.status === 'skipped')) return 'partial';
  if (results.some((r) => r.status === 'blocked' && r.note === 'safety-threshold')) return 'held';
  return 'succeeded';
}

/** One line for the log and the run record; the command prints the details. */
function refusalMessage(review: Exclude<Review, { verdict: 'apply' }>): string {
  if (review.verdict === 'held') {
    return `the ${review.reviewedPlanTripped ? 'reviewed' : 'fresh'} plan trips the safety guard (${review.message}); nothing was applied: if the deactivations are right, apply the plan with --force`;
  }
  const n = review.differences.filter((d) => d.change !== 'new').length;
  return `the reviewed plan is stale: ${n} of its operations no longer ${n === 1 ? 'holds' : 'hold'} as reviewed; nothing was applied: run \`plan\` again and review the new plan`;
}

/**
 * What the next runs need of this one: the fields it set back (JIT detection, reconcile/jit.ts),
 * and which IdP group made each team (renames, reconcile/team-renames.ts).
 */
function remember(state: StateStore, runId: string, plan: Plan, results: readonly OperationResult[], memory: RunMemory): void {
  const done = new Set(results.filter((r) => r.status === 'succeeded').map((r) => r.opId));
  const setBack: { idpId: string; field: string }[] = [];
  for (const op of plan.operations) {
    if ((op.kind !== 'update' && op.kind !== 'reactivate') || !done.has(op.id)) continue;
    for (const c of op.changes) if (c.drift) setBack.push({ idpId: op.idpId, field: c.field });
  }
  state.recordDrift(runId, setBack, memory.looked);
  if (memory.teamSources) state.recordTeamSources(memory.teamSources);
}

/** The state file belongs to this IdP tenant and app (bound by the first real run), or the run stops. */
export function checkSourceBinding(state: StateStore, identity: string, dryRun: boolean): void {
  const bound = state.getMeta('source');
  if (bound === null) {
    if (!dryRun) state.setMeta('source', identity);
    return;
  }
  if (bound !== identity) {
    throw new StateError(
      `the state file ${state.path} belongs to "${bound}", but this configuration reads "${identity}"`,
      'links are keyed by the IdP\'s user ids, so another tenant or app would make every managed user look unassigned. Use a new STATE_DB for the new source, or fix the configuration',
    );
  }
}
