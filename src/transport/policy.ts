/**
 * The retry decision every client shares: given what one attempt got, whether to ask again and how
 * long to wait first. Pure (clock and random source are arguments); the per-system differences are
 * data (systems.ts), and the loop that acts on the verdict is retry-loop.ts.
 */
import type { ApiSystem } from '../model/telemetry.ts';
import { backoffMs, type BackoffPolicy, type HeaderSource } from './wait-time.ts';

/** What one attempt got, as far as retrying is concerned. */
export type Outcome =
  | { kind: 'answer'; status: number; headers: HeaderSource }
  /** A success status whose body could not be read as promised (truncated, not JSON). */
  | { kind: 'unreadable'; status: number }
  | { kind: 'timeout' }
  | { kind: 'network'; transient: boolean; neverSent: boolean };

export interface SystemPolicy {
  readonly system: ApiSystem;
  /** Answers worth asking again: they may change by themselves. */
  retries(status: number): boolean;
  /** The wait this answer named (ms), or null when it named none and backoff decides. */
  serverWaitMs(status: number, headers: HeaderSource, now: number): number | null;
  /** The longest server-named wait honoured; more is a broken header or a very long outage. */
  readonly maxServerWaitMs: number;
  /** Past the cap: wait the cap and ask again, or give up now and say so. */
  readonly beyondCap: 'clamp' | 'give-up';
  /**
   * Whether a wait counts as rate-limit wait (TransportObserver.waited): a 429's, whatever set its
   * length, and any wait the server named itself. Backoff chosen after a 5xx, timeout or reset
   * is not the server limiting the rate, and counting it would make a flaky network look like one.
   */
  rateLimitWait(status: number | null, serverAsked: boolean): boolean;
}

export interface RetrySettings {
  /** Attempts after the first; 0 sends each request once. */
  maxRetries: number;
  backoff: BackoffPolicy;
}

export interface AttemptContext {
  /** 0 for the first attempt. */
  attempt: number;
  /** A request safe to send twice (GET, PUT, DELETE): only those are resent after an unreadable success. */
  idempotent: boolean;
  now: number;
  random: () => number;
}

export type Verdict =
  | {
      retry: false;
      /** `final`: the outcome is what it is; `budget`: attempts ran out; `too-long`: the server asked for more than the cap. */
      why: 'final' | 'budget' | 'too-long';
      serverWaitMs: number | null;
    }
  | {
      retry: true;
      waitMs: number;
      serverAsked: boolean;
      rateLimit: boolean;
      /** A 429: the quota is spent for every request of this token, not just this one. */
      throttled: boolean;
      /** The attempt may have been acted on (timeout, reset, 5xx): a write retried after it is unconfirmed. */
      ambiguous: boolean;
    };

export function judge(policy: SystemPolicy, settings: RetrySettings, outcome: Outcome, ctx: AttemptContext): Verdict {
  const retryable =
    outcome.kind === 'answer' ? policy.retries(outcome.status) : outcome.kind === 'unreadable' ? ctx.idempotent : outcome.kind === 'timeout' ? true : outcome.transient;
  if (!retryable) return { retry: false, why: 'final', serverWaitMs: null };
  const status = outcome.kind === 'answer' || outcome.kind === 'unreadable' ? outcome.status : null;
  const asked = outcome.kind === 'answer' ? policy.serverWaitMs(outcome.status, outcome.headers, ctx.now) : null;
  if (ctx.attempt >= settings.maxRetries) return { retry: false, why: 'budget', serverWaitMs: asked };
  if (asked !== null && asked > policy.maxServerWaitMs && policy.beyondCap === 'give-up') return { retry: false, why: 'too-long', serverWaitMs: asked };
  const waitMs = asked !== null ? Math.min(asked, policy.maxServerWaitMs) : backoffMs(ctx.attempt, settings.backoff, ctx.random);
  return {
    retry: true,
    waitMs,
    serverAsked: asked !== null,
    rateLimit: policy.rateLimitWait(status, asked !== null),
    throttled: status === 429,
    // A 429 is refused before any work, and a refused connection never reached the server.
    ambiguous: !(status === 429 || (outcome.kind === 'network' && outcome.neverSent)),
  };
}

/**
 * How long a 429 holds every other request of its bucket: the wait it named, within the policy's
 * cap; null when it named none (the retry's own backoff then pauses the bucket) or one this policy
 * gives up on rather than wait.
 */
export function throttlePauseMs(policy: SystemPolicy, headers: HeaderSource, now: number): number | null {
  const asked = policy.serverWaitMs(429, headers, now);
  if (asked === null) return null;
  if (asked > policy.maxServerWaitMs) return policy.beyondCap === 'clamp' ? policy.maxServerWaitMs : null;
  return asked;
}
