import { describe, expect, it } from 'vitest';
import { combineUsage, graphUsage } from '../../src/transport/graph-quota.ts';
import { dockerQuota, oktaQuota } from '../../src/transport/quota.ts';
import { OKTA_RESET_MARGIN_MS } from '../../src/transport/systems.ts';
import type { HeaderSource } from '../../src/transport/wait-time.ts';

/** Each header family the pacer reads, against a fixed clock. */

const NOW = Date.parse('2026-12-06T12:00:00.000Z');
const headers = (h: Record<string, string>): HeaderSource => ({ get: (n) => h[n] ?? null });

describe('Docker: X-RateLimit-Limit / -Remaining / -Reset', () => {
  it('a reading of the window: what is left, and when it resets by our clock', () => {
    const reset = NOW / 1000 + 42;
    expect(dockerQuota(headers({ 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '17', 'x-ratelimit-reset': String(reset) }), NOW)).toEqual({ limit: 600, remaining: 17, resetAt: NOW + 42_000, window: reset });
  });

  it('a small reset is a delta, as some proxies send', () => {
    expect(dockerQuota(headers({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '5' }), NOW)).toMatchObject({ remaining: 3, resetAt: NOW + 5_000 });
  });

  it('no reading without what is left and when it resets', () => {
    expect(dockerQuota(headers({ 'x-ratelimit-limit': '600', 'x-ratelimit-reset': String(NOW / 1000 + 1) }), NOW)).toBeNull();
    expect(dockerQuota(headers({ 'x-ratelimit-remaining': '3' }), NOW)).toBeNull();
  });
});

describe('Okta: X-Rate-Limit-Limit / -Remaining / -Reset per bucket', () => {
  it('reads the window, the reset with Okta\'s margin', () => {
    const reset = NOW / 1000 + 30;
    expect(oktaQuota(headers({ 'x-rate-limit-limit': '50', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset), date: new Date(NOW).toUTCString() }), NOW)).toEqual({
      limit: 50,
      remaining: 0,
      resetAt: NOW + 30_000 + OKTA_RESET_MARGIN_MS,
      window: reset,
    });
  });

  it('a skewed clock: the reset is read against the answer\'s Date', () => {
    // The server is an hour ahead of us; its reset is 30 s from its now.
    const serverNow = NOW + 3_600_000;
    const reading = oktaQuota(headers({ 'x-rate-limit-limit': '50', 'x-rate-limit-remaining': '5', 'x-rate-limit-reset': String(serverNow / 1000 + 30), date: new Date(serverNow).toUTCString() }), NOW);
    expect(reading?.resetAt).toBe(NOW + 30_000 + OKTA_RESET_MARGIN_MS);
  });

  it('no reading when a header is missing or came twice', () => {
    expect(oktaQuota(headers({ 'x-rate-limit-remaining': '5', 'x-rate-limit-reset': String(NOW / 1000 + 30) }), NOW)).toBeNull();
    expect(oktaQuota(headers({ 'x-rate-limit-limit': '50', 'x-rate-limit-remaining': '5, 4', 'x-rate-limit-reset': String(NOW / 1000 + 30) }), NOW)).toBeNull();
  });
});

describe('Graph: x-ms-resource-unit and x-ms-throttle-limit-percentage', () => {
  it('the cost of every answer; the percentage only above 80 %, with its rounding', () => {
    expect(graphUsage(headers({ 'x-ms-resource-unit': '2' }))).toEqual({ cost: 2, fill: null, rounding: 0 });
    expect(graphUsage(headers({ 'x-ms-resource-unit': '1', 'x-ms-throttle-limit-percentage': '0.9' }))).toEqual({ cost: 1, fill: 0.9, rounding: 0.05 });
    expect(graphUsage(headers({ 'x-ms-resource-unit': '1', 'x-ms-throttle-limit-percentage': '1.25' }))?.rounding).toBeCloseTo(0.005);
  });

  it('an answer without a cost is not Graph\'s own (a proxy\'s page): nothing', () => {
    expect(graphUsage(headers({ 'x-ms-throttle-limit-percentage': '0.9' }))).toBeNull();
  });

  it('a $batch answer costs what its items cost, and is as full as its fullest item', () => {
    expect(combineUsage([{ cost: 1, fill: null, rounding: 0 }, { cost: 1, fill: 0.9, rounding: 0.05 }, { cost: 2, fill: 0.8, rounding: 0.05 }])).toEqual({ cost: 4, fill: 0.9, rounding: 0.05 });
  });
});
