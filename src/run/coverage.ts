import type { Operation, Plan } from '../model/plan.ts';
import type { OperationResult } from '../model/result.ts';
import type { FeedMark } from '../state/store.ts';
import { formatDuration } from '../config/schema.ts';

/**
 * Whether a run reads everything (full) or follows the IdP's change feed (incremental), decided
 * before anything is read. A pure function of the state file's feed mark and the settings, so the
 * rule is tested on its own: a full run is the source of truth, and an incremental run is allowed
 * only while one has succeeded recently enough (FULL_SYNC_EVERY) and nothing is left to recover.
 */

export type RunMode = 'full' | 'incremental';

export interface CoverageInput {
  /** `sync` runs full unless told `--incremental`; the daemon asks for incremental runs. */
  readonly requested: RunMode;
  readonly hasFeed: boolean;
  readonly mark: FeedMark;
  readonly now: Date;
  readonly fullSyncEveryMs: number;
  readonly verifyEveryMs: number;
  /** Writes a killed or failed run left unconfirmed: recovering them looks at all of Docker. */
  readonly interrupted: boolean;
  /** `apply` of a saved plan: reviewed against a fresh full plan, never a partial one. */
  readonly reviewed: boolean;
}

export type Coverage =
  | { readonly mode: 'full'; /** Set when an incremental run was asked for: why it reads everything. */ readonly reason?: string }
  | { readonly mode: 'incremental'; readonly cursor: string; /** Docker is listed whole this run (VERIFY_EVERY). */ readonly listDocker: boolean };

export function chooseCoverage(input: CoverageInput): Coverage {
  if (input.requested === 'full') return { mode: 'full' };
  const full = (reason: string): Coverage => ({ mode: 'full', reason });
  if (input.reviewed) return full('a saved plan is applied against a fresh full read');
  if (!input.hasFeed) return full('this source has no change feed');
  if (input.fullSyncEveryMs <= 0) return full('FULL_SYNC_EVERY=0 makes every run full');
  const { cursor, fullAt, verifiedAt } = input.mark;
  if (cursor === null || fullAt === null) return full('no full run has succeeded with this state file since incremental runs were turned on');
  const sinceFull = input.now.getTime() - Date.parse(fullAt);
  // A clock that went backwards makes the age negative: treated as due, the safe way round.
  if (!(sinceFull >= 0 && sinceFull < input.fullSyncEveryMs)) {
    return full(`the last full run started ${fullAt}; FULL_SYNC_EVERY=${formatDuration(input.fullSyncEveryMs)}`);
  }
  if (input.interrupted) return full('a previous run left writes unconfirmed, and recovering them needs all of Docker');
  const sinceVerify = verifiedAt === null ? Number.POSITIVE_INFINITY : input.now.getTime() - Date.parse(verifiedAt);
  return { mode: 'incremental', cursor, listDocker: !(sinceVerify >= 0 && sinceVerify < input.verifyEveryMs) };
}

/**
 * How many users an incremental run reads one by one before a full read is the cheaper way: each
 * costs about four requests (its IdP record and groups, its Docker account by id and by
 * userName), and a full run about one request per hundred managed users (pages of 200 on Docker,
 * of 200 to 999 on the IdP). Never fewer than 20, so a small tenant still gets incremental runs.
 */
export function incrementalLimit(managed: number): number {
  return Math.max(20, Math.ceil(managed / 400));
}

/**
 * The IdP users a run leaves unfinished: an operation of theirs that did not succeed (failed,
 * skipped, or blocked by the safety guard or --no-deactivate), a reviewed plan's `apply` that left
 * their new change out, or a finding that puts them off to the next run (an email still held by
 * an account this run renames). The feed's cursor moves past the changes that named them, so the
 * state file keeps their ids and the next incremental run reads them again, whether or not the
 * feed names them. Deactivations held by DEACTIVATE=false are left out: they stay blocked by
 * design, and each full run lists them.
 */
export function unfinishedUsers(plan: Plan, results: readonly OperationResult[], opts: { readonly deactivateConfigured: boolean; readonly unreviewed: readonly Operation[] }): string[] {
  const succeeded = new Set(results.filter((r) => r.status === 'succeeded').map((r) => r.opId));
  const ids = new Set<string>();
  const add = (op: Operation) => {
    if ('idpId' in op) ids.add(op.idpId);
    else if ('members' in op) for (const m of op.members) ids.add(m.idpId);
  };
  for (const op of plan.operations) {
    if (succeeded.has(op.id)) continue;
    if (op.blocked === 'deactivation-disabled' && !opts.deactivateConfigured) continue;
    add(op);
  }
  for (const op of opts.unreviewed) add(op);
  for (const f of plan.findings) if (f.code === 'USERNAME_PENDING' && f.idpId) ids.add(f.idpId);
  return [...ids].sort();
}
