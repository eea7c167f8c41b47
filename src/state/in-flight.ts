import type { JournalRow } from './store.ts';

/**
 * Writes whose fate a run never learned, read from the journal: what recovery looks for, what
 * retention must keep, and what `status` shows of an interrupted run. Pure: the store reads the rows.
 */

/** A write of an interrupted run that was in flight when it stopped, and what became of it. */
export interface InFlightWrite {
  readonly opId: string;
  readonly kind: string;
  readonly userName: string | null;
  readonly idpId: string | null;
  /** When the write was sent. */
  readonly sentAt: string;
  /**
   * recovered: it had reached Docker, and a later run linked the account; abandoned: a later run
   * could not confirm it and planned from what Docker then held; pending: no run has looked at it
   * yet (the next one does).
   */
  readonly outcome: 'recovered' | 'abandoned' | 'pending';
  /** The run that recovered or abandoned it. */
  readonly by: string | null;
  readonly dockerId: string | null;
  readonly note: string | null;
}

/** The journal of a run that stopped with writes in flight (killed, or a write that got no clear answer). */
export interface Interruption {
  readonly runId: string;
  /** Writes the run saw answered: succeeded, or refused. */
  readonly confirmed: number;
  readonly failed: number;
  readonly inFlight: readonly InFlightWrite[];
}

/** Failures after which the write may still have happened: no answer, an unreadable one, or a 5xx. */
export function isAmbiguousFailure(detail: Record<string, unknown> | null): boolean {
  const code = typeof detail?.code === 'string' ? detail.code : '';
  return /^DOCKER_(TIMEOUT|NETWORK|BAD_RESPONSE|HTTP_5\d\d|ABORTED_UNCONFIRMED)$/.test(code);
}

/**
 * Whether an operation's last journal row leaves its fate unknown: sent and never answered, or a
 * create/adopt that failed without a clear refusal. Recovery needs the rows of such a write.
 */
export function isUnresolved(last: { status: string; kind: string }, detail: () => Record<string, unknown> | null): boolean {
  return last.status === 'started' || (last.status === 'failed' && (last.kind === 'create' || last.kind === 'adopt') && isAmbiguousFailure(detail()));
}

/** One run's journal, by operation: what it saw answered, and what was in flight and became of it. */
export function interruptionOf(runId: string, journal: readonly JournalRow[]): Interruption {
  const byOp = new Map<string, JournalRow[]>();
  for (const row of journal) {
    const rows = byOp.get(row.opId);
    if (rows) rows.push(row);
    else byOp.set(row.opId, [row]);
  }
  let confirmed = 0;
  let failed = 0;
  const inFlight: InFlightWrite[] = [];
  for (const rows of byOp.values()) {
    const sent = rows.filter((r) => r.status === 'started').at(-1);
    const answer = rows.filter((r) => r.status === 'succeeded' || r.status === 'failed').at(-1);
    // Recovery writes its verdict into the interrupted run's journal, naming itself in `by`.
    const verdict = rows.filter((r) => r.status === 'recovered' || r.status === 'abandoned').at(-1);
    const last = rows.at(-1) as JournalRow;
    if (verdict || isUnresolved(last, () => last.detail)) {
      inFlight.push({
        opId: last.opId,
        kind: last.kind,
        userName: last.userName,
        idpId: last.idpId,
        sentAt: (sent ?? last).at,
        outcome: verdict ? (verdict.status as 'recovered' | 'abandoned') : 'pending',
        by: typeof verdict?.detail?.by === 'string' ? verdict.detail.by : null,
        dockerId: verdict?.dockerId ?? null,
        note: typeof verdict?.detail?.note === 'string' ? verdict.detail.note : null,
      });
    } else if (answer?.status === 'succeeded') confirmed += 1;
    else if (answer?.status === 'failed') failed += 1;
  }
  return { runId, confirmed, failed, inFlight };
}
