/**
 * The loop every client runs around one request: send, judge (policy.ts), wait, send again, until
 * the verdict is final, the attempts run out, or shutdown ends it. Adapters bring the sending and
 * what to log; the loop brings the order, which is the part that used to drift between copies:
 * shutdown is checked before a retry is announced, a wait ends at once when the signal fires, and
 * a write whose earlier attempt may have landed is reported as such.
 */
import { judge, type Outcome, type RetrySettings, type SystemPolicy } from './policy.ts';
import { sleep as realSleep, type Sleep } from './sleep.ts';

export interface Attempt<T> {
  outcome: Outcome;
  /** Whatever the adapter needs to finish with this attempt (the response, its body, the error). */
  value: T;
}

export interface RetryNotice<T> extends Attempt<T> {
  /** 1 for the first attempt. */
  attempts: number;
  waitMs: number;
  serverAsked: boolean;
  throttled: boolean;
}

export interface LoopOptions<T> {
  policy: SystemPolicy;
  settings: RetrySettings;
  idempotent: boolean;
  signal?: AbortSignal | undefined;
  /**
   * One attempt (0-based). Returns what it got, or null when it was never sent because shutdown
   * came while it waited to be (a pacing gate).
   */
  send(attempt: number): Promise<Attempt<T> | null>;
  /** Told before each wait for a retry: log it, count it, hold other requests on a 429. */
  onRetry?(notice: RetryNotice<T>): void;
  /** How long a rate-limit wait really took (policy.rateLimitWait decides which waits are). */
  onRateLimitWait?(ms: number): void;
  now?: () => number;
  random?: () => number;
  sleep?: Sleep;
}

export type LoopEnd<T> =
  | {
      kind: 'final';
      /** `final`: nothing to retry; `budget`: retries ran out; `too-long`: the server asked for more than the policy waits. */
      why: 'final' | 'budget' | 'too-long';
      last: Attempt<T>;
      attempts: number;
      serverWaitMs: number | null;
      /** Earlier attempts the server may have acted on. */
      ambiguousAttempts: number;
    }
  | {
      kind: 'aborted';
      /** The last attempt sent, null when shutdown came before the first. */
      last: Attempt<T> | null;
      attempts: number;
      ambiguousAttempts: number;
    };

export async function withRetries<T>(opts: LoopOptions<T>): Promise<LoopEnd<T>> {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const wait = opts.sleep ?? realSleep;
  let ambiguousAttempts = 0;
  let last: Attempt<T> | null = null;
  for (let attempt = 0; ; attempt++) {
    const got = await opts.send(attempt);
    if (got === null) return { kind: 'aborted', last, attempts: attempt, ambiguousAttempts };
    last = got;
    const attempts = attempt + 1;
    const verdict = judge(opts.policy, opts.settings, got.outcome, { attempt, idempotent: opts.idempotent, now: now(), random });
    if (!verdict.retry) return { kind: 'final', why: verdict.why, last: got, attempts, serverWaitMs: verdict.serverWaitMs, ambiguousAttempts };
    if (verdict.ambiguous) ambiguousAttempts++;
    // Checked before the retry is announced: a retry that will never be sent is not counted.
    if (opts.signal?.aborted) return { kind: 'aborted', last: got, attempts, ambiguousAttempts };
    opts.onRetry?.({ ...got, attempts, waitMs: verdict.waitMs, serverAsked: verdict.serverAsked, throttled: verdict.throttled });
    const t0 = now();
    const waited = await wait(verdict.waitMs, opts.signal);
    // A wait that ran its course lasted its length: timers keep coarser time than Date.now(), and
    // may fire a millisecond early by it. One cut short by shutdown lasted what the clock says.
    if (verdict.rateLimit) opts.onRateLimitWait?.(waited ? Math.max(verdict.waitMs, now() - t0) : Math.max(0, now() - t0));
    if (!waited) return { kind: 'aborted', last: got, attempts, ambiguousAttempts };
  }
}
