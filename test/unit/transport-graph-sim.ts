import { GraphPacing, type GraphAnswer, type GraphRequest } from '../../src/transport/graph-pacing.ts';
import type { VirtualClock } from './transport-clock.ts';

/**
 * A read of many Graph objects through `$batch` against a simulated resource-unit quota, on
 * virtual time: what the Graph client and the batch reader do with the pacer (take, send, settle,
 * retry throttled items after the longest Retry-After), without HTTP. The quota is either a fixed
 * window (as the Graph emulator keeps it) or a token bucket (as entra-graph.md §3 describes Graph).
 */

export interface Quota {
  /** Charges one item at `now`: its status and headers as Graph would write them inside the batch. */
  charge(now: number): { status: number; headers: Record<string, string> };
}

/** `limit` resource units per `windowMs`, reset by the first request after the window ends (the emulator's ResourceUnitBucket). */
export function fixedWindow(limit: number, windowMs: number): Quota {
  let start = 0;
  let used = 0;
  return {
    charge(now) {
      if (now - start >= windowMs) {
        start = now;
        used = 0;
      }
      if (used + 1 > limit) return throttled(Math.max(1, Math.ceil((start + windowMs - now) / 1000)));
      used += 1;
      return answered(used / limit);
    },
  };
}

/** A bucket of `limit` units refilled evenly over `windowMs`. */
export function tokenBucket(limit: number, windowMs: number): Quota {
  let level = 0;
  let at = 0;
  return {
    charge(now) {
      level = Math.max(0, level - ((now - at) * limit) / windowMs);
      at = now;
      if (level + 1 > limit) return throttled(Math.max(1, Math.ceil(((level + 1 - limit) * windowMs) / limit / 1000)));
      level += 1;
      return answered(level / limit);
    },
  };
}

/** An item's 429, with Retry-After in whole seconds as the emulator sends it. */
function throttled(seconds: number): { status: number; headers: Record<string, string> } {
  return { status: 429, headers: { 'Retry-After': String(seconds), 'x-ms-resource-unit': '1' } };
}

/** An item's 200, with the percentage once the quota is 80 % used, rounded to a tenth as the emulator sends it. */
function answered(fill: number): { status: number; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'x-ms-resource-unit': '1' };
  if (fill >= 0.8) headers['x-ms-throttle-limit-percentage'] = fill.toFixed(1);
  return { status: 200, headers };
}

/** A `$batch` POST of `items` GETs, as the Graph client hands it to the pacer. */
export function batchRequest(items: number): GraphRequest {
  const requests = Array.from({ length: items }, (_, i) => ({ id: String(i + 1), method: 'GET', url: `/users/${i}` }));
  return { method: 'POST', url: 'https://graph.test/v1.0/$batch', body: JSON.stringify({ requests }) };
}

/** A `$batch` answer (HTTP 200) holding `responses`. */
export function batchAnswer(responses: unknown[], outer: Record<string, string> = {}): GraphAnswer {
  return { status: 200, headers: { get: (n) => outer[n] ?? null }, body: new TextEncoder().encode(JSON.stringify({ responses })).buffer as ArrayBuffer };
}

export interface SimResult {
  /** Virtual ms from the first request to the last answer. */
  wallMs: number;
  items: number;
  /** Items answered 429 (each is a request Graph counted as throttled). */
  throttled: number;
  batches: number;
}

export async function simulateRead(opts: { clock: VirtualClock; quota: Quota; items: number; concurrency: number; latencyMs: number; paced: boolean }): Promise<SimResult> {
  const { clock, quota } = opts;
  const pacing = new GraphPacing({ now: clock.clock, sleep: clock.sleep });
  const chunks: number[] = [];
  for (let left = opts.items; left > 0; left -= 20) chunks.push(Math.min(20, left));
  const result: SimResult = { wallMs: 0, items: 0, throttled: 0, batches: 0 };
  let done = 0;
  const worker = async () => {
    for (let size = chunks.shift(); size !== undefined; size = chunks.shift()) {
      for (let pending = size; pending > 0; ) {
        const ticket = opts.paced ? await pacing.take(batchRequest(pending), undefined) : null;
        await clock.sleep(opts.latencyMs / 2);
        const responses = Array.from({ length: pending }, (_, i) => ({ id: String(i + 1), ...quota.charge(clock.now) }));
        await clock.sleep(opts.latencyMs / 2);
        result.batches++;
        result.items += pending;
        if (ticket) pacing.settle(ticket, batchAnswer(responses));
        const limited = responses.filter((r) => r.status === 429);
        result.throttled += limited.length;
        pending = limited.length;
        if (pending > 0) await clock.sleep(Math.max(...limited.map((r) => Number(r.headers['Retry-After']))) * 1000);
      }
    }
    done++;
  };
  const workers = Array.from({ length: opts.concurrency }, worker);
  await clock.run(() => done === opts.concurrency);
  await Promise.all(workers);
  result.wallMs = clock.now;
  return result;
}
