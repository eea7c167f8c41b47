import { describe, expect, it } from 'vitest';
import { GraphPacing } from '../../src/transport/graph-pacing.ts';
import { VirtualClock } from './transport-clock.ts';
import { batchAnswer, batchRequest, fixedWindow, simulateRead, tokenBucket, type Quota } from './transport-graph-sim.ts';

/**
 * Pacing on what Graph sends (x-ms-resource-unit, x-ms-throttle-limit-percentage) against a
 * simulated resource-unit quota, on virtual time: a long `$batch` read sits near the floor (units
 * ÷ the quota's rate) with under 1 % of its requests answered 429, where the same read unpaced
 * draws a 429 storm. Nothing here waits in real time.
 */

interface Case {
  name: string;
  quota: () => Quota;
  /** Resource units per ms the quota allows in the long run. */
  rate: number;
  items: number;
  concurrency: number;
  latencyMs: number;
}

const cases: Case[] = [
  { name: 'L tenant, fixed 10 s windows (the emulator), 4 batches at once', quota: () => fixedWindow(8_000, 10_000), rate: 0.8, items: 40_000, concurrency: 4, latencyMs: 20 },
  { name: 'L tenant, fixed windows, 16 batches at once', quota: () => fixedWindow(8_000, 10_000), rate: 0.8, items: 40_000, concurrency: 16, latencyMs: 20 },
  { name: 'S tenant, fixed windows scaled to 1 s (a bench time scale), slow answers', quota: () => fixedWindow(3_500, 1_000), rate: 3.5, items: 40_000, concurrency: 16, latencyMs: 50 },
  { name: 'L tenant, fixed windows scaled to 1 s, 32 batches at once', quota: () => fixedWindow(8_000, 1_000), rate: 8, items: 40_000, concurrency: 32, latencyMs: 20 },
  { name: 'L tenant, a token bucket (entra-graph.md §3)', quota: () => tokenBucket(8_000, 10_000), rate: 0.8, items: 40_000, concurrency: 16, latencyMs: 20 },
  { name: 'S tenant, a token bucket refilled over 1 s', quota: () => tokenBucket(3_500, 1_000), rate: 3.5, items: 40_000, concurrency: 16, latencyMs: 50 },
];

describe('a long $batch read against the resource-unit quota', () => {
  it.each(cases)('$name: near the floor, under 1 % answered 429', async (c) => {
    const paced = await simulateRead({ clock: new VirtualClock(), quota: c.quota(), items: c.items, concurrency: c.concurrency, latencyMs: c.latencyMs, paced: true });
    const floorMs = c.items / c.rate;
    expect(paced.throttled / paced.items).toBeLessThan(0.01);
    expect(paced.wallMs / floorMs).toBeLessThanOrEqual(1.15);
  });

  it('the same read unpaced draws a 429 storm (what the pacing is for)', async () => {
    const c = cases[1] as Case;
    const unpaced = await simulateRead({ clock: new VirtualClock(), quota: c.quota(), items: c.items, concurrency: c.concurrency, latencyMs: c.latencyMs, paced: false });
    expect(unpaced.throttled / unpaced.items).toBeGreaterThan(0.01);
  });
});

describe('GraphPacing reads every answer', () => {
  const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });
  const GET = { method: 'GET', url: 'https://graph.test/v1.0/users/1', body: undefined };

  it('a $batch costs one unit an item up front; anything else one', async () => {
    const clock = new VirtualClock();
    const pacing = new GraphPacing({ now: clock.clock, sleep: clock.sleep });
    expect((await pacing.take(batchRequest(20), undefined))?.cost).toBe(20);
    expect((await pacing.take(GET, undefined))?.cost).toBe(1);
    // A POST elsewhere is not a batch, whatever its body.
    expect((await pacing.take({ ...batchRequest(5), url: 'https://graph.test/v1.0/directoryObjects/getByIds' }, undefined))?.cost).toBe(1);
  });

  it('a $batch answer: its items\' costs and percentages, and an item\'s 429 pauses every request for its Retry-After', async () => {
    const clock = new VirtualClock();
    const pacing = new GraphPacing({ now: clock.clock, sleep: clock.sleep });
    const ticket = await pacing.take(batchRequest(3), undefined);
    const responses = [
      { id: '1', status: 200, headers: { 'x-ms-resource-unit': '1', 'x-ms-throttle-limit-percentage': '0.9' } },
      { id: '2', status: 429, headers: { 'Retry-After': '7', 'x-ms-resource-unit': '1' } },
      { id: '3', status: 200, headers: { 'x-ms-resource-unit': '1' } },
    ];
    pacing.settle(ticket!, batchAnswer(responses, { 'x-ms-resource-unit': '3' }));
    let sentAt = -1;
    const next = pacing.take(GET, undefined).then(() => (sentAt = clock.now));
    await clock.run(() => sentAt >= 0);
    await next;
    expect(sentAt).toBe(7_000);
    // The two answered items are counted; the throttled one is not (whether Graph charges it is
    // not certain, and counting it could only overstate the quota).
    expect(pacing.inspect().spent).toBe(2);
  });

  it('the pause holds even when an answer to a request sent earlier says there is room', async () => {
    const clock = new VirtualClock();
    const pacing = new GraphPacing({ now: clock.clock, sleep: clock.sleep });
    const a = await pacing.take(batchRequest(1), undefined);
    clock.advance(1);
    const b = await pacing.take(GET, undefined);
    clock.advance(1);
    pacing.settle(a!, batchAnswer([{ id: '1', status: 429, headers: { 'Retry-After': '7' } }]));
    clock.advance(1);
    // B was in flight before the 429: its answer below 80 % is newer news, but not about the quota now.
    pacing.settle(b!, { status: 200, headers: headers({ 'x-ms-resource-unit': '1' }), body: null });
    let sentAt = -1;
    const next = pacing.take(GET, undefined).then(() => (sentAt = clock.now));
    await clock.run(() => sentAt >= 0);
    await next;
    expect(sentAt).toBe(7_002);
  });

  it('an answer without x-ms-resource-unit (not Graph\'s own: a proxy\'s) says nothing about the quota', async () => {
    const clock = new VirtualClock();
    const pacing = new GraphPacing({ now: clock.clock, sleep: clock.sleep });
    pacing.settle((await pacing.take(GET, undefined))!, { status: 200, headers: headers({}), body: null });
    expect(pacing.inspect()).toMatchObject({ limit: null, spent: 0, pacer: null });
  });
});
