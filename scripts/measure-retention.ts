/**
 * How big the state file grows, with and without retention: 10,000 simulated runs on 1,000 users,
 * written through the real StateStore (the executor's journal calls, the stored RunResult, the
 * run summary), one run every 15 minutes of a fake clock (the default SCHEDULE). The first run
 * creates everyone (a plan built by the real planner); later runs carry small change sets and the
 * few findings a real tenant keeps having. Figures go to stdout as Markdown for docs/retention.md.
 *
 *   node --experimental-strip-types scripts/measure-retention.ts [--runs 10000] [--users 1000] [--every-minutes 15]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DesiredUser } from '../src/model/desired.ts';
import type { Finding } from '../src/model/finding.ts';
import type { Operation, Plan, UpdateOperation } from '../src/model/plan.ts';
import type { OperationResult, RunResult } from '../src/model/result.ts';
import { buildPlan } from '../src/reconcile/plan.ts';
import { openState } from '../src/state/open.ts';
import type { StateStore } from '../src/state/store.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, users: { type: 'string', default: '1000' }, 'every-minutes': { type: 'string', default: '15' } } });
const RUNS = Number(values.runs);
const USERS = Number(values.users);
const EVERY_MS = Number(values['every-minutes']) * 60_000;
const RETAIN = { retainRuns: 1000, retainDays: 90 };
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const TEAMS = ['acme:everyone', 'acme:backend', 'acme:frontend', 'acme:platform', 'acme:data', 'acme:security', 'acmelabs:research', 'acmelabs:infra', 'acme:support', 'acme:sales'];

/** A small deterministic generator: the same runs every time the script runs. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function people(): DesiredUser[] {
  return Array.from({ length: USERS }, (_, i) => {
    const team = TEAMS[i % TEAMS.length] as string;
    const [org, name] = team.split(':') as [string, string];
    return { idpId: `00u${String(i).padStart(6, '0')}abcdefghijk`, userName: `person.number${i}@example.com`, givenName: 'Person', familyName: `Number${i}`, active: true, role: i % 50 === 0 ? 'owner' : 'member', org, team: name, teams: [team] };
  });
}

/** Accounts nobody assigned claims: a real tenant reports a few on every run. */
const UNMANAGED: Finding[] = Array.from({ length: 3 }, (_, i) => ({
  code: 'UNMANAGED_ACCOUNT',
  severity: 'warning',
  subject: `contractor${i}@example.com`,
  dockerId: `d-unmanaged-${i}`,
  message: 'a Docker account no assigned IdP user claims; it is never touched',
  advice: 'assign the person to the Docker app in the IdP, or remove them in Docker by hand',
}));

function firstPlan(everyone: DesiredUser[]): Plan {
  return buildPlan({
    source: 'okta',
    idpUsers: everyone.length,
    desired: { users: everyone, held: [], deprovisioned: [], findings: [] },
    links: [],
    observed: { users: [], groups: [] },
    options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 10, force: false },
    findings: UNMANAGED,
  });
}

/** A later run: 0–5 people changed a name or a role (or nothing changed at all, most runs). */
function laterPlan(first: Plan, everyone: DesiredUser[], rnd: () => number): Plan {
  const changes = rnd() < 0.7 ? 0 : 1 + Math.floor(rnd() * 5);
  const operations: UpdateOperation[] = Array.from({ length: changes }, () => {
    const p = everyone[Math.floor(rnd() * everyone.length)] as DesiredUser;
    const familyName = `${p.familyName}-${Math.floor(rnd() * 1000)}`;
    return {
      id: `update:${p.idpId}`,
      kind: 'update',
      idpId: p.idpId,
      dockerId: `d-${p.idpId}`,
      userName: p.userName,
      reason: 'changed in Okta: familyName',
      changes: [{ field: 'familyName', before: p.familyName, after: familyName }],
      target: { userName: p.userName, givenName: p.givenName, familyName, active: true, role: p.role, org: p.org, team: p.team },
    };
  });
  const counts = { ...first.counts, dockerUsers: USERS + UNMANAGED.length, managed: USERS, operations: { ...zeroKinds(first), update: changes } };
  return { ...first, operations, memberships: [], findings: UNMANAGED, counts, safety: { ...first.safety, managedUsers: USERS } };
}

function zeroKinds(plan: Plan): Plan['counts']['operations'] {
  return Object.fromEntries(Object.keys(plan.counts.operations).map((k) => [k, 0])) as Plan['counts']['operations'];
}

/** What the executor journals for each operation, in the same calls, and the result it returns. */
function apply(state: StateStore, runId: string, plan: Plan): OperationResult[] {
  const teamIds = new Map<string, string>();
  return plan.operations.map((op: Operation): OperationResult => {
    const base = { opId: op.id, kind: op.kind, subject: 'userName' in op ? op.userName : op.group };
    state.recordStart(runId, op);
    if (op.kind === 'group-create') {
      teamIds.set(op.group, `grp-${op.group}`);
      state.recordGroupSuccess(runId, op, `grp-${op.group}`, false);
      return { ...base, status: 'succeeded', dockerId: `grp-${op.group}` };
    }
    if ('members' in op) {
      const groupId = op.groupId ?? teamIds.get(op.group) ?? `grp-${op.group}`;
      state.recordTeamSuccess(runId, op, op.members.map((m) => m.idpId), op.kind === 'team-add', { groupId, members: op.members.length, requests: Math.ceil(op.members.length / 100) });
      return { ...base, status: 'succeeded', dockerId: groupId, members: op.members.length };
    }
    const dockerId = 'dockerId' in op ? op.dockerId : `d-${op.idpId}`;
    state.recordUserSuccess(runId, op, dockerId, op.kind === 'create' ? 'created' : null);
    return { ...base, status: 'succeeded', dockerId };
  });
}

interface Figures {
  label: string;
  bytes: number;
  walBytes: number;
  pages: number;
  freePages: number;
  runs: number;
  journal: number;
  prunes: number[];
  /** Of those, the prunes that deleted something. */
  deleting: number[];
  pruned: { runs: number; journal: number };
  /** The file's pages halfway through: with pruning, the size has stopped growing by then. */
  halfwayPages: number;
  /** A first prune of the whole history at the end (retention switched on for an old file). */
  catchUp: { ms: number; runs: number; journal: number } | null;
  seconds: number;
}

function simulate(label: string, prune: boolean): Figures {
  const dir = mkdtempSync(join(tmpdir(), 'measure-retention-'));
  const path = join(dir, 'state.db');
  let now = T0;
  const state = openState({ path, clock: () => new Date(now) });
  const everyone = people();
  const rnd = random(42);
  const first = firstPlan(everyone);
  const prunes: number[] = [];
  const deleting: number[] = [];
  const pruned = { runs: 0, journal: 0 };
  const started = performance.now();
  let halfwayPages = 0;
  try {
    state.setMeta('source', 'okta https://acme.okta.com app 0oadocker');
    for (let i = 0; i < RUNS; i++) {
      now = T0 + i * EVERY_MS;
      const runId = state.startRun('okta', false);
      const plan = i === 0 ? first : laterPlan(first, everyone, rnd);
      const results = apply(state, runId, plan);
      now += 20_000;
      const result: RunResult = { runId, dryRun: false, status: 'succeeded', startedAt: new Date(T0 + i * EVERY_MS).toISOString(), finishedAt: new Date(now).toISOString(), plan, results, recovered: [] };
      state.finishRun(runId, 'succeeded', result);
      if (i === Math.floor(RUNS / 2)) halfwayPages = state.db.pragma('page_count', { simple: true }) as number;
      if (prune) {
        const t = performance.now();
        const r = state.prune({ ...RETAIN, current: runId });
        prunes.push(performance.now() - t);
        if (r.runs > 0) deleting.push(performance.now() - t);
        pruned.runs += r.runs;
        pruned.journal += r.journal;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const count = (table: string) => (state.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const walBytes = sizeOf(`${path}-wal`);
    // The WAL's pages go back into the file at a checkpoint; measure the file as it then stands.
    state.db.pragma('wal_checkpoint(TRUNCATE)');
    const measured = { bytes: sizeOf(path), pages: state.db.pragma('page_count', { simple: true }) as number, freePages: state.db.pragma('freelist_count', { simple: true }) as number, runs: count('runs'), journal: count('journal') };
    let catchUp: Figures['catchUp'] = null;
    if (!prune) {
      const t = performance.now();
      const r = state.prune(RETAIN);
      catchUp = { ms: performance.now() - t, ...r };
    }
    return {
      ...measured,
      halfwayPages,
      catchUp,
      label,
      walBytes,
      prunes,
      deleting,
      pruned,
      seconds,
    };
  } finally {
    state.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const ms = (n: number) => `${n.toFixed(2)} ms`;
const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

const days = ((RUNS - 1) * EVERY_MS) / 86_400_000;
console.log(`${RUNS} runs on ${USERS} users, one every ${EVERY_MS / 60_000} minutes (${days.toFixed(1)} days); retention RETAIN_RUNS=${RETAIN.retainRuns}, RETAIN_DAYS=${RETAIN.retainDays}; Node ${process.version}\n`);
const rows = [simulate('pruned after each run (defaults)', true), simulate('never pruned', false)];
const spread = (xs: number[]) => (xs.length ? `${ms(quantile(xs, 0.5))} · ${ms(quantile(xs, 0.99))} · ${ms(Math.max(...xs))}` : '–');
console.log('| | file (after checkpoint) | WAL before checkpoint | 4 KiB pages: halfway → end (free) | runs kept | journal rows kept | runs / journal rows pruned | every prune: median · p99 · max | prunes that deleted (n): median · p99 · max | wall time |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const f of rows) {
  console.log(`| ${f.label} | ${mb(f.bytes)} | ${mb(f.walBytes)} | ${f.halfwayPages} → ${f.pages} (${f.freePages}) | ${f.runs} | ${f.journal} | ${f.prunes.length ? `${f.pruned.runs} / ${f.pruned.journal}` : '–'} | ${spread(f.prunes)} | ${f.prunes.length ? `(${f.deleting.length}) ${spread(f.deleting)}` : '–'} | ${f.seconds.toFixed(0)} s |`);
}
for (const f of rows) {
  if (f.catchUp) console.log(`\nThen one prune of the never-pruned file (retention switched on late): ${f.catchUp.runs} runs and ${f.catchUp.journal} journal rows in one transaction, ${ms(f.catchUp.ms)}.`);
}
