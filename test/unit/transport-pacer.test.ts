import { describe, expect, it } from 'vitest';
import { Pacer, type PacerOptions, type QuotaReading } from '../../src/transport/pacer.ts';
import { VirtualClock, settle } from './transport-clock.ts';

/** The shared pacer on virtual time: windows that run out wait for their reset, and nothing waits that need not. */

function pacer(clock: VirtualClock, over: Partial<PacerOptions> = {}): Pacer {
  return new Pacer({ reserve: () => 1, afterReset: 'refill', assumedWindowMs: 60_000, learnFirst: false, resetMarginMs: 50, maxWaitMs: 65_000, now: clock.clock, sleep: clock.sleep, ...over });
}

const reading = (clock: VirtualClock, over: Partial<QuotaReading> = {}): QuotaReading => ({ limit: 10, remaining: 9, resetAt: clock.now + 60_000, window: 1, ...over });

describe('a budget that runs out waits for the reset', () => {
  it('sends while more than the reserve is left, then waits until the reset (plus margin), then goes on', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    const first = await p.take('docker', 1);
    // 3 left once this answer was counted: two more may go (the reserve keeps one), the next waits.
    p.settle(first!, reading(clock, { remaining: 3, resetAt: 60_000 }));
    const sentAt: number[] = [];
    const waits: number[] = [];
    const runs = [1, 2, 3].map(async () => {
      const t = await p.take('docker', 1, undefined, (ms) => waits.push(ms));
      sentAt.push(clock.now);
      return t;
    });
    await clock.run(() => sentAt.length === 3);
    await Promise.all(runs);
    expect(sentAt).toEqual([0, 0, 60_050]);
    expect(waits).toEqual([60_050]);
  });

  it('a request that may go now goes, even after shutdown: only a wait is cut short', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    const shutdown = new AbortController();
    shutdown.abort();
    expect(await p.take('docker', 1, shutdown.signal)).not.toBeNull();
  });

  it('shutdown ends a wait for the window at once: the request is not let go', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    const first = await p.take('docker', 1);
    p.settle(first!, reading(clock, { remaining: 1 }));
    const shutdown = new AbortController();
    const held = p.take('docker', 1, shutdown.signal);
    await settle();
    shutdown.abort();
    expect(await held).toBeNull();
    expect(clock.now).toBe(0);
  });

  it('a window that has passed unanswered is assumed full again (refill), for the assumed window length', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    const first = await p.take('docker', 1);
    p.settle(first!, reading(clock, { limit: 5, remaining: 0, resetAt: 1_000 }));
    clock.advance(1_050);
    await p.take('docker', 1);
    expect(p.inspect('docker')).toMatchObject({ limit: 5, remaining: 4, resetAt: 61_050 });
  });
});

describe('readings, in flight and out of order', () => {
  it('what is left is the reading minus the cost of our other requests still in flight', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    const a = await p.take('b', 1);
    await p.take('b', 1);
    await p.take('b', 3);
    p.settle(a!, reading(clock, { remaining: 9 }));
    expect(p.inspect('b')?.remaining).toBe(5);
  });

  it('a later window replaces the estimate; the same window keeps the lower figure; an earlier one is ignored', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    const settleWith = async (r: QuotaReading) => p.settle((await p.take('b', 1))!, r);
    await settleWith(reading(clock, { remaining: 5, window: 10 }));
    await settleWith(reading(clock, { remaining: 7, window: 10 }));
    expect(p.inspect('b')?.remaining).toBe(4);
    await settleWith(reading(clock, { remaining: 8, window: 11 }));
    expect(p.inspect('b')?.remaining).toBe(8);
    await settleWith(reading(clock, { remaining: 1, window: 10 }));
    expect(p.inspect('b')?.remaining).toBe(7);
  });

  it('costs: a request of 20 units needs 20 plus the reserve', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock, { reserve: (limit) => Math.ceil(limit * 0.05) });
    const first = await p.take('graph', 1);
    p.settle(first!, reading(clock, { limit: 100, remaining: 24, resetAt: 5_000 }));
    let sent = false;
    const t = p.take('graph', 20).then(() => (sent = true));
    await settle();
    expect(sent).toBe(false);
    await clock.run(() => sent);
    await t;
    expect(clock.now).toBe(5_050);
  });
});

describe('a 429 pauses the bucket', () => {
  it('every request of the bucket waits until the pause ends; other buckets do not', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    p.pause('apps', 2_000);
    const sent: Record<string, number> = {};
    const apps = p.take('apps', 1).then(() => (sent.apps = clock.now));
    const users = p.take('users', 1).then(() => (sent.users = clock.now));
    await clock.run(() => Object.keys(sent).length === 2);
    await Promise.all([apps, users]);
    expect(sent).toEqual({ apps: 2_000, users: 0 });
  });
});

describe('learning a bucket', () => {
  it('learnFirst: the first request of an unknown bucket goes alone; the rest follow its answer', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock, { learnFirst: true });
    const first = await p.take('groups', 1);
    let second = false;
    const pending = p.take('groups', 1).then(() => (second = true));
    await settle();
    expect(second).toBe(false);
    p.settle(first!, reading(clock));
    await pending;
    expect(second).toBe(true);
  });

  it('without learnFirst an unknown bucket is not paced at all', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock);
    const all = await Promise.all(Array.from({ length: 20 }, () => p.take('docker', 1)));
    expect(all.every((t) => t !== null)).toBe(true);
  });

  it('probe: once the window is believed over, one request finds out while the others wait for its answer', async () => {
    const clock = new VirtualClock();
    const p = pacer(clock, { afterReset: 'probe', resetMarginMs: 0 });
    const first = await p.take('graph', 1);
    p.settle(first!, reading(clock, { remaining: 0, resetAt: 1_000, window: 1 }));
    clock.advance(1_000);
    const probe = await p.take('graph', 1);
    expect(probe?.probe).toBe(true);
    let others = 0;
    const rest = [1, 2, 3].map(() => p.take('graph', 1).then(() => others++));
    await settle();
    expect(others).toBe(0);
    // The probe found a fresh window.
    p.settle(probe!, reading(clock, { remaining: 9, resetAt: 61_000, window: 2 }));
    await Promise.all(rest);
    expect(others).toBe(3);
  });
});
