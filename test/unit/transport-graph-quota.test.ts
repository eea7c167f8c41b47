import { describe, expect, it } from 'vitest';
import { GraphQuota, type GraphUsage } from '../../src/transport/graph-quota.ts';

/**
 * The inference behind Graph's pacing, answer by answer with a fixed clock: cost accounting, the
 * slowdown at the throttle percentage, holding and probing, and what a window teaches.
 */

const below = (cost = 20): GraphUsage => ({ cost, fill: null, rounding: 0 });
const at = (fill: number, cost = 20): GraphUsage => ({ cost, fill, rounding: 0.05 });

describe('GraphQuota', () => {
  it('below 80 % with nothing known, nothing is limited', () => {
    const q = new GraphQuota();
    expect(q.observe(below(), 0, 10)).toMatchObject({ limit: Infinity, remaining: Infinity });
  });

  it('at the throttle percentage it slows down: from units ÷ percentage, what is left is read pessimistically', () => {
    const q = new GraphQuota();
    for (let t = 0; t < 39; t++) q.observe(below(), t, t + 1);
    // 800 units spent, and Graph says 80 %: a limit of 1,000, of which at most 15 % is left.
    const r = q.observe(at(0.8), 39, 40);
    expect(q.inspect().limit).toBe(1_000);
    expect(r?.remaining).toBeCloseTo(150);
  });

  it('once spent, it holds until a probe; a probe that finds it still full waits longer for the next', () => {
    const q = new GraphQuota();
    q.observe(below(800), 0, 100);
    const first = q.observe(at(1.0), 1, 200) as { remaining: number; resetAt: number };
    expect(first.remaining).toBe(0);
    // Probes start at an eighth of the time the window took to fill: 200 ms / 8.
    expect(first.resetAt).toBe(225);
    const second = q.observe(at(1.0), 225, 250) as { resetAt: number };
    expect(second.resetAt - 250).toBeCloseTo(37.5);
  });

  it('a probe that comes back below 80 % starts a window whose count is whole: the limit is learnt from it', () => {
    const q = new GraphQuota();
    // The first window's units ÷ percentage (800) stands in until a whole count says more.
    q.observe(below(400), 0, 10);
    q.observe(at(1.0, 400), 1, 20);
    expect(q.inspect().limit).toBe(800);
    const { resetAt: probe } = q.observe(at(1.0), 50, 60) as { resetAt: number };
    // The probe, sent when asked after the quota was seen full, finds room: a new window, counted from here.
    q.observe(below(), probe, probe + 10);
    expect(q.inspect()).toMatchObject({ clean: true, spent: 20 });
    // Below 80 % after 780 units: more than 975. At "0.8" (80 ± 5 %) after 820: more than 964.
    q.observe(below(760), probe + 11, probe + 20);
    expect(q.inspect().limit).toBe(975);
    const r = q.observe(at(0.8, 40), probe + 21, probe + 30);
    // What is left is counted, not guessed: 975 − 820.
    expect(r?.remaining).toBe(155);
  });

  it('the window\'s length is learnt between two probes\' finds, and the next hold looks there first', () => {
    const q = new GraphQuota();
    const hold = (from: number) => {
      q.observe(at(1.0, 1_000), from + 1, from + 20);
      return q;
    };
    q.observe(below(), 0, 5);
    hold(0);
    // Found at 1,000 (a probe at the time asked), full until then: window 1 starts, cleanly.
    const probe1 = (q.observe(at(1.0), 25, 30) as { resetAt: number }).resetAt;
    expect(q.observe(below(), Math.max(probe1, 1_000), 1_010)).toMatchObject({ limit: expect.any(Number) });
    const w1 = 1_000;
    // Window 1: spent, still full at 1,900, found fresh at 2,040.
    q.observe(at(1.0, 1_000), w1 + 10, w1 + 20);
    let next = (q.observe(at(1.0), 1_900, 1_910) as { resetAt: number }).resetAt;
    while (next < 2_040) next = (q.observe(at(1.0), next, next + 5) as { resetAt: number }).resetAt;
    q.observe(below(), next, next + 5);
    const [lo, hi] = q.inspect().windowMs;
    expect(lo).toBeGreaterThanOrEqual(900);
    expect(hi).toBe(next - w1);
    // The next window: once spent, the first probe goes to the learnt lower bound, not sooner.
    const w2 = next;
    const r = q.observe(at(1.0, 1_000), w2 + 1, w2 + 20) as { resetAt: number };
    expect(r.resetAt).toBe(w2 + (lo as number));
  });

  it('a 429 while room was believed left cuts the limit a tenth; its Retry-After is when to look again', () => {
    const q = new GraphQuota();
    q.observe(below(800), 0, 10);
    q.observe(at(0.8, 1), 1, 20);
    const limit = q.inspect().limit as number;
    const r = q.throttled(3_000, 30, 40);
    expect(q.inspect().limit).toBe(Math.floor(limit * 0.9));
    expect(r).toMatchObject({ remaining: 0, resetAt: 3_040 });
  });

  it('a 429 at the end of a spent window (a probe\'s) leaves the limit alone', () => {
    const q = new GraphQuota();
    q.observe(below(900), 0, 10);
    q.observe(at(1.0, 100), 1, 20);
    const limit = q.inspect().limit;
    q.throttled(1_000, 30, 40);
    expect(q.inspect().limit).toBe(limit);
  });

  it('a quota full again right after a probe found room refills gradually: no window length is learnt from it', () => {
    const q = new GraphQuota();
    q.observe(below(800), 0, 10);
    q.observe(at(1.0, 200), 1, 20);
    const next = (q.observe(at(1.0), 30, 40) as { resetAt: number }).resetAt;
    q.observe(below(), next, next + 5);
    // 40 units into the "new window" and 90 % full: it was never empty.
    q.observe(at(0.9), next + 6, next + 10);
    expect(q.inspect()).toMatchObject({ refilling: true, limit: 1_000 });
  });

  it('after a pause longer than a window, the count starts afresh and is not trusted', () => {
    const q = new GraphQuota();
    q.observe(below(100), 0, 10);
    q.observe(below(100), 20_000, 20_010);
    expect(q.inspect()).toMatchObject({ clean: false, spent: 100 });
  });
});
