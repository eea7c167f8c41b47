import { describe, expect, it } from 'vitest';
import { dockerCounts, graphCounts, loadOf, oktaCounts } from '../../bench/counts.ts';
import { floorRatio, runFloor, systemFloor, type SystemLoad } from '../../bench/floor.ts';
import { checkTimeScale, emulatorLimits, REFERENCE_LIMITS, windowsOf, type Pace } from '../../bench/limits.ts';
import type { GraphRequestLog } from '../../src/sandbox/entra/emulator.ts';
import type { RequestRecord } from '../../src/sandbox/http/emulator.ts';

const pace: Pace = { latencyMs: 20, timeScale: 10, limits: REFERENCE_LIMITS };
const concurrency = { docker: 4, okta: 4, graph: 4 } as const;

function rec(method: string, route: string, status = 200): RequestRecord {
  return { method, route, path: '/', query: '', status, at: 0 };
}

function times<T>(n: number, make: () => T): T[] {
  return Array.from({ length: n }, make);
}

describe('the floor of a run', () => {
  it('is requests ÷ rate when the rate limit binds: 10,200 Docker requests at 600 a 6 s minute take 102 s', () => {
    const f = systemFloor({ system: 'docker', requests: 10_200, latencyMs: 20, concurrency: 4, buckets: [{ name: 'requests', used: 10_200, perWindow: 600, windowMs: 6_000 }] });
    expect(f.rateS).toBeCloseTo(102, 6);
    expect(f.latencyS).toBeCloseTo(51, 6);
    expect(f).toMatchObject({ floorS: f.rateS, bound: 'rate', bucket: 'requests' });
  });

  it('is latency × requests ÷ concurrency when latency binds', () => {
    const f = systemFloor({ system: 'docker', requests: 1_000, latencyMs: 20, concurrency: 2, buckets: [{ name: 'requests', used: 1_000, perWindow: 10_000, windowMs: 6_000 }] });
    expect(f.latencyS).toBeCloseTo(10, 6);
    expect(f).toMatchObject({ floorS: f.latencyS, bound: 'latency' });
  });

  it("is bound by a system's fullest bucket, not by the sum of its buckets (Okta's buckets are independent)", () => {
    const f = systemFloor({
      system: 'okta',
      requests: 251,
      latencyMs: 0,
      concurrency: 4,
      buckets: [
        { name: 'apps', used: 200, perWindow: 50, windowMs: 6_000 },
        { name: 'groups', used: 51, perWindow: 300, windowMs: 6_000 },
      ],
    });
    expect(f.rateS).toBeCloseTo(24, 6);
    expect(f.bucket).toBe('apps');
  });

  it('of several systems is the largest of theirs, and names it', () => {
    const docker: SystemLoad = { system: 'docker', requests: 600, latencyMs: 20, concurrency: 4, buckets: [{ name: 'requests', used: 600, perWindow: 600, windowMs: 6_000 }] };
    const okta: SystemLoad = { system: 'okta', requests: 200, latencyMs: 20, concurrency: 4, buckets: [{ name: 'apps', used: 200, perWindow: 50, windowMs: 6_000 }] };
    const floor = runFloor([docker, okta]);
    expect(floor.floorS).toBeCloseTo(24, 6);
    expect(floor.binding).toBe('okta');
    expect(floorRatio(30, floor)).toBeCloseTo(1.25, 6);
  });

  it('is 0 with neither latency nor limits, and then there is no ratio', () => {
    const floor = runFloor([{ system: 'docker', requests: 10_000, latencyMs: 0, concurrency: 4, buckets: [] }]);
    expect(floor).toMatchObject({ floorS: 0, binding: null });
    expect(floorRatio(12, floor)).toBeNull();
  });

  it('refuses a limit of zero rather than dividing by it', () => {
    expect(() => systemFloor({ system: 'docker', requests: 1, latencyMs: 0, concurrency: 1, buckets: [{ name: 'requests', used: 1, perWindow: 0, windowMs: 1_000 }] })).toThrow(/at least one request/);
  });
});

describe('the time scale', () => {
  it('shortens every window by the same factor: a minute lasts 6 s and Graph’s 10 s one at scale 10', () => {
    expect(windowsOf(10)).toEqual({ minuteMs: 6_000, graphMs: 1_000 });
    const l = emulatorLimits(pace);
    expect(l.docker).toMatchObject({ perMinute: 600, windowMs: 6_000, align: true });
    expect(l.okta.buckets).toMatchObject({ apps: 50, groups: 300 });
    expect(l.graph).toMatchObject({ ruPerWindow: 8_000, windowMs: 1_000, align: true, fractionalRetryAfter: true });
  });

  it('must divide 60, so a scaled minute is whole seconds (the reset headers are whole seconds)', () => {
    expect(checkTimeScale(10)).toBeNull();
    expect(checkTimeScale(60)).toBeNull();
    expect(checkTimeScale(7)).toMatch(/divisor of 60/);
    expect(checkTimeScale(0)).toMatch(/divisor of 60/);
  });
});

describe('requests counted from the emulators’ logs', () => {
  it('Docker: GETs are reads, the rest writes; 429s count as calls but not as work done', () => {
    const c = dockerCounts([...times(3, () => rec('GET', 'listUsers')), ...times(5, () => rec('POST', 'createUser')), rec('PATCH', 'patchGroup'), rec('POST', 'createUser', 429)]);
    expect(c).toMatchObject({ reads: 3, writes: 7, calls: 10, throttled: 1, answered: 9, used: { requests: 9 } });
    expect(c.byKind).toMatchObject({ 'GET listUsers': 3, 'POST createUser': 6 });
    const load = loadOf(c, { pace, concurrency });
    expect(load.buckets).toEqual([{ name: 'requests', used: 9, perWindow: 600, windowMs: 6_000 }]);
    expect(load).toMatchObject({ requests: 9, latencyMs: 20, concurrency: 4 });
  });

  it("Okta: each route is drawn from its own bucket at that bucket's limit", () => {
    const c = oktaCounts([...times(4, () => rec('GET', 'listAppUsers')), rec('GET', 'listAppGroups'), ...times(3, () => rec('GET', 'listGroupUsers')), rec('GET', 'listAppUsers', 429)]);
    expect(c.used).toEqual({ apps: 5, groups: 3 });
    expect(c.throttled).toBe(1);
    const buckets = loadOf(c, { pace, concurrency }).buckets;
    expect(buckets).toContainEqual({ name: 'apps', used: 5, perWindow: 50, windowMs: 6_000 });
    expect(buckets).toContainEqual({ name: 'groups', used: 3, perWindow: 300, windowMs: 6_000 });
  });

  it('Graph: batch items are calls and draw resource units; the batch itself pays the latency once', () => {
    const wire = [rec('POST', 'token'), rec('GET', 'appRoleAssignedTo'), rec('POST', 'batch'), rec('POST', 'batch')];
    const item = (status: number, ru: number): GraphRequestLog => ({ method: 'GET', route: 'user', path: '/users/x', query: '', bearer: 'valid', inBatch: true, status, ru, at: 0 });
    const log: GraphRequestLog[] = [
      { method: 'GET', route: 'appRoleAssignedTo', path: '/x', query: '', bearer: 'valid', inBatch: false, status: 200, ru: 1, at: 0 },
      { method: 'POST', route: 'batch', path: '/$batch', query: '', bearer: 'valid', inBatch: false, status: 200, ru: 0, at: 0 },
      { method: 'POST', route: 'batch', path: '/$batch', query: '', bearer: 'valid', inBatch: false, status: 200, ru: 0, at: 0 },
      ...times(39, () => item(200, 1)),
      item(429, 0),
    ];
    const c = graphCounts(wire, log);
    expect(c).toMatchObject({ requests: 4, calls: 2 + 40, throttled: 1, answered: 4, used: { 'resource units': 40 } });
    expect(c.byKind['user in $batch']).toBe(40);
    const load = loadOf(c, { pace, concurrency });
    expect(load.buckets).toEqual([{ name: 'resource units', used: 40, perWindow: 8_000, windowMs: 1_000 }]);
    expect(load.requests).toBe(4);
  });

  it('without a pace a run has no buckets and no latency', () => {
    const load = loadOf(dockerCounts([rec('GET', 'listUsers')]), { pace: null, concurrency });
    expect(load).toMatchObject({ buckets: [], latencyMs: 0 });
  });
});
