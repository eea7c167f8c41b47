import type { UserAttributes } from './docker.ts';
import type { LinkRecord } from './plan.ts';

/** A write the journal shows as started by a run that never confirmed it. */
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
