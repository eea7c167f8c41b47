import type { GraphRequestLog } from '../src/sandbox/entra/emulator.ts';
import type { RequestRecord } from '../src/sandbox/http/emulator.ts';
import { OKTA_ROUTE_BUCKETS } from '../src/sandbox/okta/emulator.ts';
import type { BucketUse, SystemLoad, SystemName } from './floor.ts';
import { windowsOf, type Pace } from './limits.ts';

/**
 * What one run asked of each system, from the emulators' own request logs: requests on the wire
 * by kind, reads and writes, 429s, and what each rate budget was drawn. Pure: logs in, figures out.
 */

export interface SystemCounts {
  readonly system: SystemName;
  /** HTTP requests on the wire, 429s included. */
  readonly requests: number;
  /** Docker: GET; an IdP is only ever read. */
  readonly reads: number;
  readonly writes: number;
  /** What the system rate-limits one by one: wire requests, and for Graph every `$batch` item too. */
  readonly calls: number;
  /** Calls answered 429. */
  readonly throttled: number;
  /** Wire requests answered with anything but 429: each paid the latency once and did work. */
  readonly answered: number;
  /** Requests by kind: "METHOD route" for Docker, the route for an IdP ("route in $batch" for Graph items). */
  readonly byKind: Readonly<Record<string, number>>;
  /** What each rate budget was drawn, 429s excluded: requests per bucket, resource units for Graph. */
  readonly used: Readonly<Record<string, number>>;
}

function bump(o: Record<string, number>, key: string, n = 1): void {
  o[key] = (o[key] ?? 0) + n;
}

export function dockerCounts(requests: readonly RequestRecord[]): SystemCounts {
  const byKind: Record<string, number> = {};
  let reads = 0;
  let throttled = 0;
  for (const r of requests) {
    bump(byKind, `${r.method} ${r.route}`);
    if (r.method === 'GET' || r.method === 'HEAD') reads++;
    if (r.status === 429) throttled++;
  }
  const answered = requests.length - throttled;
  return { system: 'docker', requests: requests.length, reads, writes: requests.length - reads, calls: requests.length, throttled, answered, byKind, used: { requests: answered } };
}

export function oktaCounts(requests: readonly RequestRecord[]): SystemCounts {
  const byKind: Record<string, number> = {};
  const used: Record<string, number> = {};
  let throttled = 0;
  for (const r of requests) {
    bump(byKind, r.route);
    if (r.status === 429) throttled++;
    else bump(used, (OKTA_ROUTE_BUCKETS as Record<string, string>)[r.route] ?? 'other');
  }
  return { system: 'okta', requests: requests.length, reads: requests.length, writes: 0, calls: requests.length, throttled, answered: requests.length - throttled, byKind, used };
}

/** `wire`: the Graph emulator's HTTP log (sign-in and `$batch` included); `log`: its Graph calls, batch items included. */
export function graphCounts(wire: readonly RequestRecord[], log: readonly GraphRequestLog[]): SystemCounts {
  const byKind: Record<string, number> = {};
  let wireThrottled = 0;
  let batches = 0;
  for (const r of wire) {
    bump(byKind, r.route);
    if (r.status === 429) wireThrottled++;
    if (r.route === 'batch') batches++;
  }
  let items = 0;
  let throttled = 0;
  let ru = 0;
  for (const r of log) {
    if (r.inBatch) {
      items++;
      bump(byKind, `${r.route} in $batch`);
    }
    if (r.status === 429) throttled++;
    ru += r.ru;
  }
  return {
    system: 'graph',
    requests: wire.length,
    reads: wire.length,
    writes: 0,
    calls: wire.length - batches + items,
    throttled,
    answered: wire.length - wireThrottled,
    byKind,
    used: { 'resource units': ru },
  };
}

export interface LoadOptions {
  /** Latency and limits of the run; null for a run without either (no floor). */
  readonly pace: Pace | null;
  /** Requests in flight allowed per system (Docker: DOCKER_CONCURRENCY). */
  readonly concurrency: Readonly<Record<SystemName, number>>;
}

/** The floor's inputs for one system, from its counts and the pace the run was held to. */
export function loadOf(c: SystemCounts, opts: LoadOptions): SystemLoad {
  const pace = opts.pace;
  const base = { system: c.system, requests: c.answered, latencyMs: pace?.latencyMs ?? 0, concurrency: opts.concurrency[c.system] };
  if (!pace) return { ...base, buckets: [] };
  const w = windowsOf(pace.timeScale);
  const l = pace.limits;
  let buckets: BucketUse[];
  if (c.system === 'docker') buckets = [{ name: 'requests', used: c.used.requests ?? 0, perWindow: l.dockerPerMinute, windowMs: w.minuteMs }];
  else if (c.system === 'graph') buckets = [{ name: 'resource units', used: c.used['resource units'] ?? 0, perWindow: l.graphRuPer10s, windowMs: w.graphMs }];
  else {
    const perMinute = l.oktaPerMinute as Record<string, number>;
    buckets = Object.entries(c.used).map(([name, used]) => ({ name, used, perWindow: perMinute[name] ?? l.oktaPerMinute.oauth, windowMs: w.minuteMs }));
  }
  return { ...base, buckets };
}
