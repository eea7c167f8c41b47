import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/transport/policy.ts';
import { withRetries, type LoopOptions } from '../../src/transport/retry-loop.ts';
import type { Sleep } from '../../src/transport/sleep.ts';
import { DOCKER } from '../../src/transport/systems.ts';

/** The loop around one request, with a recorded sleep and a fixed random source: nothing really waits but the abort test. */

const settings = { maxRetries: 3, backoff: { baseMs: 100, capMs: 1_000 } };
const answer = (status: number, h: Record<string, string> = {}): Outcome => ({ kind: 'answer', status, headers: { get: (n) => h[n] ?? null } });

function scripted(outcomes: Outcome[], over: Partial<LoopOptions<number>> = {}) {
  const slept: number[] = [];
  const sleep: Sleep = async (ms, signal) => {
    slept.push(ms);
    return !signal?.aborted;
  };
  const retries: number[] = [];
  const rateWaits: number[] = [];
  let sent = 0;
  const run = withRetries<number>({
    policy: DOCKER,
    settings,
    idempotent: false,
    send: async (attempt) => {
      sent++;
      return { outcome: outcomes[Math.min(attempt, outcomes.length - 1)] as Outcome, value: attempt };
    },
    onRetry: (n) => retries.push(n.waitMs),
    onRateLimitWait: (ms) => rateWaits.push(ms),
    random: () => 0.5,
    sleep,
    ...over,
  });
  return { run, slept, retries, rateWaits, sent: () => sent };
}

describe('withRetries', () => {
  it('asks again after each retryable answer, waiting what the policy says, until one is final', async () => {
    const s = scripted([answer(503), answer(429, { 'retry-after': '2' }), answer(201)]);
    expect(await s.run).toMatchObject({ kind: 'final', why: 'final', attempts: 3, last: { value: 2 }, ambiguousAttempts: 1 });
    expect(s.slept).toEqual([50, 2_000]);
    expect(s.retries).toEqual([50, 2_000]);
    // Only the 429's wait is rate-limit wait; the backoff after the 503 is not.
    expect(s.rateWaits).toHaveLength(1);
  });

  it('stops after maxRetries retries: the last answer is returned with why = budget', async () => {
    const s = scripted([answer(503)]);
    expect(await s.run).toMatchObject({ kind: 'final', why: 'budget', attempts: 4, ambiguousAttempts: 3 });
    expect(s.sent()).toBe(4);
  });

  it('a request never sent because shutdown came while it waited to be is aborted, with what came before', async () => {
    let attempt = 0;
    const end = await withRetries<number>({
      policy: DOCKER,
      settings,
      idempotent: false,
      send: async () => (attempt++ === 0 ? { outcome: answer(502), value: 0 } : null),
      sleep: async () => true,
      random: () => 0,
    });
    expect(end).toMatchObject({ kind: 'aborted', attempts: 1, last: { value: 0 }, ambiguousAttempts: 1 });
  });

  it('shutdown before a retry: the retry is neither announced nor sent', async () => {
    const shutdown = new AbortController();
    shutdown.abort();
    const s = scripted([answer(429, { 'retry-after': '1' }), answer(200)], { signal: shutdown.signal });
    expect(await s.run).toMatchObject({ kind: 'aborted', attempts: 1, ambiguousAttempts: 0 });
    expect(s.retries).toEqual([]);
    expect(s.sent()).toBe(1);
  });

  it('shutdown during a wait ends it at once (a real two-minute Retry-After), and nothing is sent again', async () => {
    const shutdown = new AbortController();
    let sent = 0;
    const t0 = Date.now();
    const run = withRetries<null>({
      policy: DOCKER,
      settings,
      idempotent: false,
      signal: shutdown.signal,
      send: async () => {
        sent++;
        return { outcome: answer(503, { 'retry-after': '120' }), value: null };
      },
      onRetry: () => setTimeout(() => shutdown.abort(), 5),
    });
    // The 503 may have been acted on: a write stopped now is unconfirmed.
    expect(await run).toMatchObject({ kind: 'aborted', attempts: 1, ambiguousAttempts: 1 });
    expect(sent).toBe(1);
    // Bounded far below the 120 s asked for; a generous bound for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('a server wait past the policy\'s cap ends the loop with why = too-long (Docker)', async () => {
    const s = scripted([answer(429, { 'retry-after': '3600' })]);
    expect(await s.run).toMatchObject({ kind: 'final', why: 'too-long', serverWaitMs: 3_600_000, attempts: 1 });
    expect(s.slept).toEqual([]);
  });
});
