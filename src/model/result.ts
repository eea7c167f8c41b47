import type { Finding } from './finding.ts';
import type { OperationKind, Plan } from './plan.ts';

export type OperationStatus = 'succeeded' | 'failed' | 'skipped' | 'blocked';

export interface OperationError {
  /** A stable code, e.g. DOCKER_SEATS, DOCKER_HTTP_409, NETWORK. */
  readonly code: string;
  readonly message: string;
  readonly status?: number;
  readonly detail?: string;
}

export interface OperationResult {
  readonly opId: string;
  readonly kind: OperationKind;
  readonly subject: string;
  readonly status: OperationStatus;
  readonly dockerId?: string;
  /** For team operations: members actually sent. */
  readonly members?: number;
  readonly error?: OperationError;
  readonly note?: string;
}

export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'held';

export interface RunResult {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly plan: Plan;
  readonly results: readonly OperationResult[];
  /** Links recovered from an interrupted earlier run before planning. */
  readonly recovered: readonly string[];
  /**
   * What the results say as a whole (seats run out in an org, PATCH /Groups refused), known only
   * after the apply; absent when there is nothing, and in runs stored before it existed.
   */
  readonly findings?: readonly Finding[];
}
