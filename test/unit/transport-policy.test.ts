import { describe, expect, it } from 'vitest';
import { judge, type Outcome, type SystemPolicy } from '../../src/transport/policy.ts';
import { DOCKER, GRAPH, OKTA, OKTA_RESET_MARGIN_MS } from '../../src/transport/systems.ts';
import type { HeaderSource } from '../../src/transport/wait-time.ts';

/** The retry decision, per system, with a fixed clock and random source: no real waiting. */

const NOW = Date.parse('2026-12-06T12:00:00.000Z');
const settings = { maxRetries: 3, backoff: { baseMs: 100, capMs: 1_000 } };
const ctx = (over: Partial<{ attempt: number; idempotent: boolean; random: () => number }> = {}) => ({ attempt: 0, idempotent: true, now: NOW, random: () => 0.5, ...over });
const headers = (h: Record<string, string> = {}): HeaderSource => ({ get: (n) => h[n] ?? null });
const answer = (status: number, h: Record<string, string> = {}): Outcome => ({ kind: 'answer', status, headers: headers(h) });

describe('which answers are asked again, per system', () => {
  const statuses = [200, 204, 301, 400, 401, 403, 404, 409, 429, 500, 501, 502, 503, 504, 505];
  it.each<[string, SystemPolicy, number[]]>([
    ['docker', DOCKER, [429, 500, 502, 503, 504]],
    // Okta: any 5xx, as the SDK's own executor does.
    ['okta', OKTA, [429, 500, 501, 502, 503, 504, 505]],
    // Graph: 500 and 502 too, which the SDK's RetryHandler skips.
    ['graph', GRAPH, [429, 500, 502, 503, 504]],
  ])('%s', (_name, policy, retried) => {
    expect(statuses.filter((s) => judge(policy, settings, answer(s), ctx()).retry)).toEqual(retried);
  });

  it('timeouts and transient network failures are retried; other network failures are not', () => {
    for (const policy of [DOCKER, OKTA, GRAPH]) {
      expect(judge(policy, settings, { kind: 'timeout' }, ctx()).retry).toBe(true);
      expect(judge(policy, settings, { kind: 'network', transient: true, neverSent: false }, ctx()).retry).toBe(true);
      expect(judge(policy, settings, { kind: 'network', transient: false, neverSent: false }, ctx())).toMatchObject({ retry: false, why: 'final' });
    }
  });

  it('an unreadable success is sent again only when sending twice is safe', () => {
    expect(judge(DOCKER, settings, { kind: 'unreadable', status: 200 }, ctx({ idempotent: true })).retry).toBe(true);
    expect(judge(DOCKER, settings, { kind: 'unreadable', status: 201 }, ctx({ idempotent: false }))).toMatchObject({ retry: false, why: 'final' });
  });
});

describe('how long to wait', () => {
  it('the server\'s wait when it named one, else backoff from the injected random source', () => {
    expect(judge(GRAPH, settings, answer(429, { 'retry-after': '2.5' }), ctx())).toMatchObject({ retry: true, waitMs: 2_500, serverAsked: true });
    expect(judge(GRAPH, settings, answer(503), ctx({ attempt: 2, random: () => 0.5 }))).toMatchObject({ retry: true, waitMs: 200, serverAsked: false });
  });

  it('Docker: a 429 may point at any of its headers; a 5xx only at an explicit retry header', () => {
    const reset = { 'x-ratelimit-reset': String(NOW / 1000 + 30) };
    expect(judge(DOCKER, settings, answer(429, reset), ctx())).toMatchObject({ waitMs: 30_000, serverAsked: true });
    // Every Docker answer carries X-RateLimit-Reset; it says nothing about a 503.
    expect(judge(DOCKER, settings, answer(503, reset), ctx())).toMatchObject({ waitMs: 50, serverAsked: false });
    expect(judge(DOCKER, settings, answer(503, { ...reset, 'retry-after': '3' }), ctx())).toMatchObject({ waitMs: 3_000, serverAsked: true });
  });

  it('Okta: a 429 waits for X-Rate-Limit-Reset plus a margin; a 5xx names no wait', () => {
    const reset = { 'x-rate-limit-reset': String(NOW / 1000 + 4) };
    expect(judge(OKTA, settings, answer(429, reset), ctx())).toMatchObject({ waitMs: 4_000 + OKTA_RESET_MARGIN_MS, serverAsked: true });
    expect(judge(OKTA, settings, answer(503, { 'retry-after': '9' }), ctx())).toMatchObject({ waitMs: 50, serverAsked: false });
  });

  it('Okta: the reset is read by the server\'s clock when ours is skewed, by ours when they agree', () => {
    const reset = String(NOW / 1000 + 4);
    // The server's clock is 10 minutes behind ours: its reset is 4 s from its now, not 10 min ago.
    const skewed = { 'x-rate-limit-reset': String(Number(reset) - 600), date: new Date(NOW - 600_000).toUTCString() };
    expect(judge(OKTA, settings, answer(429, skewed), ctx())).toMatchObject({ waitMs: 4_000 + OKTA_RESET_MARGIN_MS });
    // Date is whole seconds: 0.9 s behind is agreement, and our finer clock is used.
    const agreeing = { 'x-rate-limit-reset': reset, date: new Date(NOW - 900).toUTCString() };
    expect(judge(OKTA, settings, answer(429, agreeing), ctx())).toMatchObject({ waitMs: 4_000 + OKTA_RESET_MARGIN_MS });
  });

  it('an absurd server wait: Docker gives up and says so, Okta and Graph wait their cap', () => {
    const hour = { 'retry-after': '3600' };
    expect(judge(DOCKER, settings, answer(429, hour), ctx())).toMatchObject({ retry: false, why: 'too-long', serverWaitMs: 3_600_000 });
    expect(judge(GRAPH, settings, answer(429, hour), ctx())).toMatchObject({ retry: true, waitMs: 180_000 });
    expect(judge(OKTA, settings, answer(429, { 'x-rate-limit-reset': String(NOW / 1000 + 3600) }), ctx())).toMatchObject({ retry: true, waitMs: 120_000 });
  });
});

describe('the attempt budget', () => {
  it('maxRetries retries, then the outcome is final with why = budget', () => {
    expect(judge(DOCKER, settings, answer(503), ctx({ attempt: 2 })).retry).toBe(true);
    expect(judge(DOCKER, settings, answer(503), ctx({ attempt: 3 }))).toMatchObject({ retry: false, why: 'budget' });
    expect(judge(DOCKER, { ...settings, maxRetries: 0 }, answer(503), ctx())).toMatchObject({ retry: false, why: 'budget' });
  });
});

describe('what a retry means', () => {
  it('a 429 throttles the token and was refused before any work: not ambiguous', () => {
    expect(judge(DOCKER, settings, answer(429), ctx())).toMatchObject({ throttled: true, ambiguous: false });
  });

  it('a 5xx, a timeout or a reset may have been acted on; a refused connection was not', () => {
    expect(judge(DOCKER, settings, answer(502), ctx())).toMatchObject({ throttled: false, ambiguous: true });
    expect(judge(DOCKER, settings, { kind: 'timeout' }, ctx())).toMatchObject({ ambiguous: true });
    expect(judge(DOCKER, settings, { kind: 'network', transient: true, neverSent: false }, ctx())).toMatchObject({ ambiguous: true });
    expect(judge(DOCKER, settings, { kind: 'network', transient: true, neverSent: true }, ctx())).toMatchObject({ ambiguous: false });
  });

  it('rate-limit wait: a 429\'s, and any wait the server named; not backoff after a 5xx or a reset', () => {
    expect(judge(DOCKER, settings, answer(429), ctx())).toMatchObject({ rateLimit: true, serverAsked: false });
    expect(judge(GRAPH, settings, answer(503, { 'retry-after': '2' }), ctx())).toMatchObject({ rateLimit: true });
    expect(judge(GRAPH, settings, answer(503), ctx())).toMatchObject({ rateLimit: false });
    expect(judge(OKTA, settings, { kind: 'timeout' }, ctx())).toMatchObject({ rateLimit: false });
  });
});
