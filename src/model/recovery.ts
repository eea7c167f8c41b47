import type { UserAttributes } from './docker.ts';
import type { LinkRecord } from './plan.ts';

/**
 * A write whose fate is unknown: started by a run that never confirmed it (killed), or a create
 * that failed in a way that may still have reached Docker (timeout, reset, unreadable answer, 5xx).
 */
export interface InterruptedWrite {
  readonly runId: string;
  readonly opId: string;
  readonly kind: string;
  readonly idpId: string | null;
  readonly userName: string | null;
  /** What the write was sending, from the journal: it becomes the recovered link's applied state. */
  readonly target: UserAttributes | null;
}

export interface RecoveredLink extends LinkRecord {
  readonly userName: string;
  readonly opId: string;
  readonly runId: string;
  readonly target: UserAttributes | null;
}

export interface Recovery {
  readonly links: readonly RecoveredLink[];
  /** Interrupted writes with nothing to recover: the next plan simply recomputes them. */
  readonly abandoned: readonly InterruptedWrite[];
}
