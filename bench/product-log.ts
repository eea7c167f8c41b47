import { parseCost, type ProductCost } from './measure.ts';

/**
 * What the product's JSON log says about its runs, beyond the "run cost" line: whether a run
 * followed the change feed or read everything (src/run/observe.ts logs one or the other), and,
 * for the daemon, where each of its runs ends. Pure: lines in, figures out; the caller says when
 * it received each line.
 */

/** How a run read the IdP, from its own log line; a full read says why when one was asked to be incremental. */
export type RunModeSeen =
  | {
      readonly mode: 'incremental';
      /** Users reconciled: named by the feed, plus any that drifted in Docker. */
      readonly users: number;
      readonly feedEntries: number;
      readonly named: number;
      readonly idpRequests: number;
      readonly dockerUsers: number;
    }
  | { readonly mode: 'full'; readonly reason: string };

export function parseRunMode(line: string): RunModeSeen | null {
  const o = json(line);
  if (!o || typeof o.msg !== 'string') return null;
  const incremental = /^incremental read: (\d+) users? to reconcile$/.exec(o.msg);
  if (incremental) {
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    return { mode: 'incremental', users: Number(incremental[1]), feedEntries: n(o.feedEntries), named: n(o.named), idpRequests: n(o.idpRequests), dockerUsers: n(o.dockerUsers) };
  }
  if (o.msg.startsWith('reading everything: ')) return { mode: 'full', reason: typeof o.reason === 'string' ? o.reason : o.msg.slice('reading everything: '.length) };
  return null;
}

/** One daemon run as its log tells it. */
export interface TrackedRun {
  readonly runId: string | null;
  /** Null while it has said neither (or never does: a plain full `sync`). */
  mode: RunModeSeen | null;
  /** Absent for a run that failed: only a finished run logs its cost. */
  cost: ProductCost | null;
  /** "succeeded", "partial", "held", "failed". */
  status: string | null;
  /** When the caller received its last line ("run cost", or the daemon's "run failed"); null while it runs. */
  endAt: number | null;
}

/**
 * Follows a daemon's runs through its log. A run is known by the `runId` on its lines; it ends
 * with its "run cost" line, or with the daemon's "run failed" line (which carries no runId).
 * Runs never overlap (the daemon starts one at a time), so the run in progress is the last one.
 */
export class RunTracker {
  readonly runs: TrackedRun[] = [];
  private readonly ended: Array<(run: TrackedRun) => void> = [];

  /** Called with each run as it ends. */
  onRunEnd(listener: (run: TrackedRun) => void): void {
    this.ended.push(listener);
  }

  line(line: string, at: number): void {
    const o = json(line);
    if (!o || typeof o.msg !== 'string') return;
    const runId = typeof o.runId === 'string' ? o.runId : null;
    if (runId !== null) {
      let run = this.runs.at(-1);
      if (run?.runId !== runId) {
        run = { runId, mode: null, cost: null, status: null, endAt: null };
        this.runs.push(run);
      }
      if (run.endAt !== null) return;
      if (o.msg === 'run cost') {
        run.cost = parseCost(line);
        this.end(run, at);
        return;
      }
      const mode = parseRunMode(line);
      if (mode) run.mode = mode;
      const status = /^run (succeeded|partial|held|failed)$/.exec(o.msg);
      if (status) run.status = status[1] as string;
      return;
    }
    if (/^run failed \(/.test(o.msg)) {
      // The worker's line for a run that threw: it carries no runId, and no cost line came.
      let run = this.current();
      if (!run) {
        run = { runId: null, mode: null, cost: null, status: null, endAt: null };
        this.runs.push(run);
      }
      run.status = 'failed';
      this.end(run, at);
    }
  }

  /** The run that has started and not ended, if any. */
  current(): TrackedRun | undefined {
    const last = this.runs.at(-1);
    return last && last.endAt === null ? last : undefined;
  }

  private end(run: TrackedRun, at: number): void {
    run.endAt = at;
    for (const l of this.ended) l(run);
  }
}

/**
 * The run that a moment falls in: the first that ended at or after it. Runs do not overlap, and
 * whatever a run sent (a request, a write that made a change visible) happened before its last
 * line reached the caller; so a moment between two runs' ends belongs to the later run.
 */
export function runAt(runs: readonly TrackedRun[], at: number): number | null {
  const i = runs.findIndex((r) => r.endAt !== null && r.endAt >= at);
  return i < 0 ? null : i;
}

function json(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const o: unknown = JSON.parse(line);
    return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
