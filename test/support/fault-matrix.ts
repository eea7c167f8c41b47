import { writeFileSync } from 'node:fs';
import type { DockerScimEmulator } from '../../src/sandbox/docker/emulator.ts';
import { dockerRateLimited } from '../../src/sandbox/docker/faults.ts';
import type { RequestRecord } from '../../src/sandbox/http/emulator.ts';
import type { FaultAction, FaultInjector } from '../../src/sandbox/http/faults.ts';
import type { World, WorldSource } from '../../src/sandbox/world.ts';
import type { InProcessRun, Scenario } from './harness.ts';
import { EXPECTED } from './people.ts';

/**
 * Helpers for the fault-injection matrix (test/e2e/faults.test.ts): what one matrix row records,
 * how many faults a world injected, whether Docker converged to the scenario company, and proof
 * that a retry after a 429 waited as long as the 429 asked.
 */

// ---- the rows docs/reliability.md is filled from ----

export type Block = 'A' | 'B' | 'C';

export interface MatrixRow {
  source: WorldSource;
  /** A: incomplete IdP read, B: transient IdP trouble, C: Docker-side fault. */
  block: Block;
  /** Position of the row in its block, as declared (concurrent rows finish in any order). */
  order: number;
  /** Short name of the fault, as the doc's table shows it. */
  fault: string;
  /** The test's full name (describe > it), for the doc. */
  test: string;
  /** Faults that fired: emulator fault rules, Graph `$batch` item faults, and (where a row says so) refusals the emulator's own rules made (seats, 409, rate-limit window). */
  faultsInjected: number;
  /** Sync runs the row made, the faulted one included. */
  runs: number;
  /**
   * Block B and C: how many runs, the faulted one included, it took until a run planned nothing
   * (null when that did not happen within the faulted run plus two more). Block A: null, because
   * the point there is that the failed run changed nothing.
   */
  convergedAfter: number | null;
  /** What happened, in a few words (exit code, status, error code). */
  outcome: string;
  /** Wall time of the row. */
  ms: number;
}

const rows: MatrixRow[] = [];

export function recordRow(row: MatrixRow): void {
  rows.push(row);
}

/** Writes the collected rows as JSON when RELIABILITY_REPORT names a file; otherwise nothing. */
export function writeReliabilityReport(env: NodeJS.ProcessEnv = process.env): string | null {
  const path = env.RELIABILITY_REPORT;
  if (!path) return null;
  const order: Record<Block, number> = { A: 0, B: 1, C: 2 };
  const sorted = [...rows].sort((a, b) => (a.source !== b.source ? (a.source < b.source ? 1 : -1) : a.block !== b.block ? order[a.block] - order[b.block] : a.order - b.order));
  writeFileSync(path, `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, rows: sorted }, null, 2)}\n`);
  return path;
}

// ---- counting ----

/** Every fault fired so far in this world: IdP and Docker fault rules, and Graph `$batch` item faults. */
export function faultsFired(world: World): number {
  return world.idp.faults.fired.length + world.docker.http.faults.fired.length + (world.graph?.batchFaults.fired.length ?? 0);
}

/** Clears every armed fault of the world (fired counts are kept). */
export function clearFaults(world: World): void {
  world.idp.faults.clear();
  world.docker.http.faults.clear();
  world.graph?.batchFaults.clear();
}

// ---- routes per source ----

/** The IdP's main user listing: who is assigned to the Docker app. */
export function mainListingRoute(source: WorldSource): string {
  return source === 'entra' ? 'appRoleAssignedTo' : 'listAppUsers';
}

/** The member listing of an assigned group (Okta: org:team groups only; Graph: every assigned group). */
export function groupMembersRoute(source: WorldSource): string {
  return source === 'entra' ? 'groupMembers' : 'listGroupUsers';
}

// ---- convergence ----

/** How Docker differs from what seedPeople should produce (EXPECTED); empty when it matches. */
export function dockerMismatches(docker: DockerScimEmulator): string[] {
  const out: string[] = [];
  const users = docker.allUsers();
  const names = users.map((u) => u.userName.toLowerCase());
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length) out.push(`duplicate userNames: ${[...new Set(dupes)].join(', ')}`);
  const expectedNames = Object.keys(EXPECTED.users);
  for (const n of names) if (!expectedNames.includes(n)) out.push(`unexpected account ${n}`);
  for (const [userName, want] of Object.entries(EXPECTED.users)) {
    const u = docker.user(userName);
    if (!u) {
      out.push(`${userName} missing`);
      continue;
    }
    for (const [field, value] of Object.entries(want)) {
      const got = (u as unknown as Record<string, unknown>)[field];
      if (got !== value) out.push(`${userName}.${field} is ${String(got)}, expected ${String(value)}`);
    }
  }
  for (const [team, members] of Object.entries(EXPECTED.teams)) {
    const got = docker.teamMembers(team);
    if (JSON.stringify(got) !== JSON.stringify(members)) out.push(`${team} has [${got.join(', ')}], expected [${members.join(', ')}]`);
  }
  return out;
}

/** Usernames that exist more than once in Docker (compared case-insensitively, as Docker does). */
export function duplicateUserNames(docker: DockerScimEmulator): string[] {
  const names = docker.allUsers().map((u) => u.userName.toLowerCase());
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
}

export interface Convergence {
  /** Runs, the faulted one included, until a run planned nothing; null if none did within `maxExtraRuns` more runs with work. */
  convergedAfter: number | null;
  /** Runs made here (not counting the faulted run). */
  runs: number;
  /** The last run made here: the one that planned nothing when converged. */
  last: InProcessRun;
  /** Every run made here, in order. */
  history: InProcessRun[];
}

/**
 * After a faulted run and with the faults cleared: runs the sync until a run plans nothing, with
 * at most `maxExtraRuns` runs that still had work. "Converged after n" counts the faulted run: 1
 * means the faulted run already did everything (the very next run planned nothing).
 */
export async function runUntilQuiet(s: Scenario, env: Record<string, string>, maxExtraRuns = 2): Promise<Convergence> {
  const history: InProcessRun[] = [];
  for (let i = 0; i <= maxExtraRuns; i++) {
    const last = await s.sync({ env });
    history.push(last);
    if (last.plan.operations.length === 0) return { convergedAfter: 1 + i, runs: i + 1, last, history };
  }
  return { convergedAfter: null, runs: maxExtraRuns + 1, last: history[history.length - 1] as InProcessRun, history };
}

// ---- 429s: what they advertised, and whether the client waited that long ----

export interface Advertised {
  /** The route the 429 answered. */
  route: string;
  /** When the emulator built the 429 (ms). */
  firedAt: number;
  /** The earliest moment the 429's headers allowed a retry (ms); firedAt when it named no wait. */
  resumeAt: number;
  /** The wait headers it carried, for failure messages. */
  headers: Record<string, string>;
}

/**
 * Wraps a 429 fault so that each time it fires, the resume time its headers advertise is recorded
 * (from `Retry-After` seconds or date, `X-Retry-After` unix time, `X-RateLimit-Reset` or
 * `X-Rate-Limit-Reset` unix time). The headers are taken once per firing, when the fault fires, so
 * time-based headers (reset timestamps) are what the client really received.
 */
export function advertising(action: FaultAction, injector: FaultInjector, sink: Advertised[]): FaultAction {
  if (action.type !== 'status') throw new Error('advertising() wraps a status fault');
  let firing = -1;
  let headers: Record<string, string> = {};
  const source = action;
  return {
    type: 'status',
    status: source.status,
    ...(source.body !== undefined ? { body: source.body } : {}),
    // The emulator reads `headers` right after the rule fires, in the same tick: one firing, one record.
    get headers(): Record<string, string> {
      if (injector.fired.length !== firing) {
        firing = injector.fired.length;
        const now = Date.now();
        headers = { ...(source.headers ?? {}) };
        sink.push({ route: injector.fired.at(-1)?.route ?? '?', firedAt: now, resumeAt: resumeAt(headers, now), headers });
      }
      return headers;
    },
  };
}

function header(headers: Record<string, string>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function resumeAt(headers: Record<string, string>, now: number): number {
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const s = Number(retryAfter);
    return Number.isFinite(s) ? now + s * 1000 : Date.parse(retryAfter);
  }
  for (const name of ['x-retry-after', 'x-ratelimit-reset', 'x-rate-limit-reset']) {
    const v = header(headers, name);
    if (v !== undefined) return Number(v) * 1000;
  }
  return now;
}

export interface EarlyRetry {
  route: string;
  /** How much sooner than advertised the next request arrived (ms). */
  earlyByMs: number;
  headers: Record<string, string>;
}

/**
 * For each advertised 429 (paired in order with the emulator's 429 records on those routes), the
 * next request after it, on the same route (`sameRoute`) or on any route (a client sending one
 * request at a time), must not come before the advertised resume time. Returns the violations.
 * A request's log time is when it was answered; the emulator answers these at once, so a
 * tolerance of `toleranceMs` covers timer and clock granularity only.
 */
export function earlyRetries(requests: readonly RequestRecord[], advertised: readonly Advertised[], opts: { sameRoute: boolean; toleranceMs?: number }): EarlyRetry[] {
  const tolerance = opts.toleranceMs ?? 25;
  const routes = new Set(advertised.map((a) => a.route));
  const throttled = requests.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 429 && routes.has(r.route));
  const out: EarlyRetry[] = [];
  advertised.forEach((a, k) => {
    const rec = throttled[k];
    if (!rec) return;
    const next = requests.slice(rec.i + 1).find((r) => !opts.sameRoute || r.route === a.route);
    if (next && next.at < a.resumeAt - tolerance) out.push({ route: a.route, earlyByMs: a.resumeAt - next.at, headers: a.headers });
  });
  return out;
}

/** True when every advertised 429 has its record and a later request (the retry) was seen. */
export function everyThrottleRetried(requests: readonly RequestRecord[], advertised: readonly Advertised[]): boolean {
  const routes = new Set(advertised.map((a) => a.route));
  const throttled = requests.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 429 && routes.has(r.route));
  return advertised.every((a, k) => {
    const rec = throttled[k];
    return rec !== undefined && requests.slice(rec.i + 1).some((r) => r.route === a.route);
  });
}

/**
 * Docker's 429 with only the rate-limit headers (`X-RateLimit-Limit`, `-Remaining: 0`, `-Reset` as
 * a unix time `seconds` after the current second): no `Retry-After`, no `X-Retry-After`.
 */
export function dockerRateLimitHeadersOnly(seconds: number): FaultAction {
  const base = dockerRateLimited({ style: 'Retry-After', seconds });
  return {
    type: 'status',
    status: 429,
    ...(base.type === 'status' && base.body !== undefined ? { body: base.body } : {}),
    get headers(): Record<string, string> {
      return { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + seconds) };
    },
  };
}

// ---- small things ----

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A run's operation results as "kind subject status[ code]" lines, for failure messages. */
export function resultLines(run: InProcessRun): string[] {
  return run.outcome.result.results.map((r) => `${r.kind} ${r.subject} ${r.status}${r.error ? ` ${r.error.code}` : ''}`);
}
