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
