/**
 * Group commit for the journal. Every write to Docker is journaled before it is sent and again when
 * it is answered, and each of those records must be on disk (synchronous = FULL) before the run
 * goes on. One transaction per record made that an fsync per record: two per user, 200,000 at
 * 100,000 users, which was most of a first sync's CPU. Here the records that the operations in
 * flight ask for in the same turn of the event loop share one transaction, so with DOCKER_CONCURRENCY
 * writes in flight a commit carries up to that many records, and no record is waited on longer
 * than one turn.
 *
 * Durability is unchanged: `write` resolves only after the transaction holding the record has
 * committed, so a caller that awaits it before sending a request still has its "started" row on
 * disk first. Each record runs in a savepoint of its own, so one that fails (a damaged row) fails
 * alone, as it did in a transaction of its own. If the transaction itself fails (a full disk, an
 * I/O error), every record in it is rejected with that error, including those whose statements
 * ran: none of them is on disk, and the run stops as it did before; what was in flight is
 * recovered from the rows already committed.
 */

export interface Transactor {
  /** Runs `work` in one transaction, committed when it returns; throws (rolled back) when it throws. */
  inTransaction(work: () => void): void;
  /** Inside a transaction: runs `work` in a savepoint, rolled back alone when it throws. */
  savepoint(work: () => void): void;
  /** Whether a transaction is open: SQLite rolls one back by itself on some errors (SQLITE_FULL, SQLITE_IOERR). */
  transactionOpen(): boolean;
}

interface Pending {
  readonly work: () => void;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Transactions committed, and records they carried: for the logs and the benchmark. */
  readonly stats = { commits: 0, records: 0 };

  private readonly store: Transactor;

  constructor(store: Transactor) {
    this.store = store;
  }

  /** Runs `work` (statements against the store) in the next group transaction; resolves once it is committed. */
  write(work: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: answers that arrived in the same I/O poll are all queued
        // by then, which is what makes the group bigger than one.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const failed = new Map<Pending, unknown>();
    try {
      this.store.inTransaction(() => {
        for (const p of batch) {
          try {
            this.store.savepoint(p.work);
          } catch (err) {
            // The transaction is gone with it: the records before it were rolled back too.
            if (!this.store.transactionOpen()) throw err;
            failed.set(p, err);
          }
        }
      });
    } catch (err) {
      for (const p of batch) p.reject(failed.get(p) ?? err);
      return;
    }
    this.stats.commits += 1;
    this.stats.records += batch.length - failed.size;
    for (const p of batch) {
      if (failed.has(p)) p.reject(failed.get(p));
      else p.resolve();
    }
  }
}
