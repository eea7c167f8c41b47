import { describe, expect, it } from 'vitest';
import { backoffMs, resetInMs, retryAfterMs, type HeaderSource } from '../../src/transport/wait-time.ts';

/** Every wait a server can name, in each style the three APIs use, read against a fixed clock. */

const NOW = Date.parse('2026-12-06T12:00:00.000Z');
const headers = (h: Record<string, string>): HeaderSource => ({ get: (n) => h[n] ?? null });

describe('retryAfterMs: the wait a server named', () => {
  it.each([
    ['Retry-After in whole seconds', { 'retry-after': '7' }, 7_000],
    ['Retry-After with a fraction, as in Graph\'s sample', { 'retry-after': '2.128' }, 2_128],
    ['Retry-After 0', { 'retry-after': '0' }, 0],
    ['Retry-After as an HTTP date', { 'retry-after': 'Sun, 06 Dec 2026 12:00:30 GMT' }, 30_000],
    ['Retry-After as a date already past', { 'retry-after': 'Sun, 06 Dec 2026 11:59:00 GMT' }, 0],
    ['Docker\'s X-Retry-After, a unix time', { 'x-retry-after': String(NOW / 1000 + 12) }, 12_000],
    ['Docker\'s X-RateLimit-Reset, a unix time', { 'x-ratelimit-reset': String(NOW / 1000 + 40) }, 40_000],
    ['Okta\'s X-Rate-Limit-Reset, a unix time', { 'x-rate-limit-reset': String(NOW / 1000 + 3) }, 3_000],
    ['a small reset value is a delta in seconds, as some proxies send', { 'x-ratelimit-reset': '5' }, 5_000],
    ['Retry-After wins over a reset header', { 'retry-after': '1', 'x-ratelimit-reset': String(NOW / 1000 + 40) }, 1_000],
  ])('%s', (_name, h, ms) => {
    expect(retryAfterMs(headers(h), NOW)).toBe(ms);
  });

  it.each([
    ['nothing', {}],
    ['an unparseable Retry-After', { 'retry-after': 'soon' }],
    ['a negative Retry-After', { 'retry-after': '-3' }],
    ['a header sent twice and joined with a comma', { 'x-rate-limit-reset': `${NOW / 1000 + 3}, ${NOW / 1000 + 4}` }],
    ['a zero reset', { 'x-ratelimit-reset': '0' }],
  ])('names no wait with %s', (_name, h) => {
    expect(retryAfterMs(headers(h), NOW)).toBeNull();
  });

  it('a reset in the past is no wait, not a negative one', () => {
    expect(resetInMs(String(NOW / 1000 - 10), NOW)).toBe(0);
  });
});

describe('backoffMs: capped exponential backoff with full jitter', () => {
  const policy = { baseMs: 100, capMs: 1_000 };

  it('is uniform below base·2^attempt: the lowest draw waits nothing, the highest just under the ceiling', () => {
    expect([0, 1, 2, 3].map((a) => backoffMs(a, policy, () => 0))).toEqual([0, 0, 0, 0]);
    expect([0, 1, 2, 3].map((a) => backoffMs(a, policy, () => 0.999_999))).toEqual([99, 199, 399, 799]);
  });

  it('never exceeds the cap, however many attempts', () => {
    expect(backoffMs(30, policy, () => 0.999_999)).toBe(999);
    expect(backoffMs(30, policy, () => 0.5)).toBe(500);
  });

  it('draws differ between clients (jitter), within the bounds', () => {
    const draws = Array.from({ length: 200 }, () => backoffMs(3, policy));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(800);
    expect(new Set(draws).size).toBeGreaterThan(10);
  });
});
