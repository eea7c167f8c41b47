import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database, Statement } from 'better-sqlite3';
import type { UserAttributes } from '../model/docker.ts';
import type { AppliedState, Link, LinkOrigin } from '../model/link.ts';
import { OPERATION_KINDS, type Operation, type OperationKind } from '../model/plan.ts';
import type { RunResult, RunStatus } from '../model/result.ts';
import type { InterruptedWrite, Recovery } from '../model/recovery.ts';
import { TOOL_VERSION } from '../version.ts';
import { StateError, stateFailure } from './errors.ts';
import { holderGone, PROCESS_STARTED } from './holder.ts';
import { interruptionOf, isUnresolved, type Interruption } from './in-flight.ts';
import { packJson } from './packed-json.ts';
import { SharedValues } from './shared-values.ts';
import { isApplied, isObject, isRunLock, isRunResult, isStringList, parseRow, type RowRef, type RunLockRow } from './rows.ts';

/**
 * Queries over the state file: links, runs and the operation journal. The journal is written as a
 * run goes (a row before each write to Docker and a row after), never only at the end, so a crash
 * at any point leaves a record of what was in flight.
 *
 * Every method turns SQLite's failures (a full disk, an I/O error, a damaged row) into a
 * StateError naming the file and the way out, and every message stored is scrubbed of secrets.
 */

export interface RunRow {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly source: string;
  readonly status: string;
  readonly summary: Record<string, unknown> | null;
  readonly error: string | null;
}

/**
 * What `runs.summary` holds: the counts `status` lists without reading each run's whole result.
 * A run still going (or killed) has only `toolVersion`; rows written by older versions lack
 * `applied` and `toolVersion`.
 */
export interface RunSummary {
  readonly toolVersion?: string;
  /** Operations in the plan, by kind. */
  readonly operations?: Partial<Record<OperationKind, number>>;
  /** Operations that succeeded, by kind. */
  readonly applied?: Partial<Record<OperationKind, number>>;
  readonly succeeded?: number;
  readonly failed?: number;
  readonly blocked?: number;
  readonly findings?: Partial<Record<'error' | 'warning' | 'info', number>>;
  readonly recovered?: number;
  /** How much the run read (Plan.coverage): `incremental` runs followed the IdP's change feed. */
  readonly mode?: 'full' | 'incremental';
}

/** A run with the result it stored: what `report` prints again. */
export interface StoredRun extends RunRow {
  /** null for a run that failed before it had a plan, was interrupted, or was a state rebuild. */
  readonly result: RunResult | null;
}

export interface PruneOptions {
  /** Runs kept whatever their age: the newest this many. */
  readonly retainRuns: number;
  /** Runs kept whatever their number: those started less than this many days ago. */
  readonly retainDays: number;
  /** Defaults to the store's clock. */
  readonly now?: Date;
  /** The run that is calling: never pruned. */
  readonly current?: string;
}

export interface PruneResult {
  readonly runs: number;
  readonly journal: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export interface JournalRow {
  readonly seq: number;
  readonly runId: string;
  readonly opId: string;
  readonly kind: string;
  readonly idpId: string | null;
  readonly userName: string | null;
  readonly dockerId: string | null;
  readonly status: string;
  readonly detail: Record<string, unknown> | null;
  readonly at: string;
}

type Clock = () => Date;

/** How many runs in a row set one field of one user back (JIT detection, reconcile/jit.ts). */
export interface DriftStreak {
  readonly idpId: string;
  readonly field: string;
  readonly runs: number;
}

/** A journal row as SQLite gives it. */
interface JournalRecord {
  seq: number;
  run_id: string;
  op_id: string;
  kind: string;
  idp_id: string | null;
  user_name: string | null;
  docker_id: string | null;
  status: string;
  detail: string | null;
  at: string;
}

interface RunRecord {
  id: string;
  started_at: string;
  finished_at: string | null;
  source: string;
  status: string;
  summary: string | null;
  error: string | null;
}

export interface StoreOptions {
  readonly dryRun: boolean;
  readonly clock?: Clock;
  /** Applied to every text stored (see OpenStateOptions.scrub). */
  readonly scrub?: (text: string) => string;
}

/** Releases a run lock; `token` names the holder, to release it from another connection (state rebuild). */
export type RunLockRelease = (() => void) & { readonly token: string };


/** What `status` lists of a finished run: counted in one pass over its results. */
function runSummary(result: RunResult): RunSummary {
  const applied: Partial<Record<OperationKind, number>> = {};
  const by = { succeeded: 0, failed: 0, blocked: 0 };
  for (const r of result.results) {
    if (r.status === 'succeeded') applied[r.kind] = (applied[r.kind] ?? 0) + 1;
    if (r.status in by) by[r.status as keyof typeof by] += 1;
  }
  return {
    toolVersion: TOOL_VERSION,
    operations: result.plan.counts.operations,
    // Succeeded operations by kind, in the plan's order of kinds.
    applied: Object.fromEntries(OPERATION_KINDS.filter((k) => applied[k]).map((k) => [k, applied[k]])),
    ...by,
    findings: result.plan.counts.findings,
    recovered: result.recovered.length,
    ...(result.plan.coverage ? { mode: result.plan.coverage.mode } : {}),
  };
}

const LINK_COLUMNS = 'SELECT idp_id, docker_id, user_name, origin, applied FROM links';

interface LinkRow {
  idp_id: string;
  docker_id: string;
  user_name: string;
  origin: LinkOrigin;
  applied: string;
}

export interface FeedMark {
  readonly cursor: string | null;
  /** ISO time the last successful full run started. */
  readonly fullAt: string | null;
  /** ISO time Docker was last listed whole by a successful run. */
  readonly verifiedAt: string | null;
  /** IdP users the last run left unfinished: the next incremental run reads them again. */
  readonly retry: readonly string[];
}

export class StateStore {
  readonly db: Database;
  readonly path: string;
  readonly dryRun: boolean;
  private readonly clock: Clock;
  private readonly scrub: (text: string) => string;
  private readonly heartbeats = new Set<NodeJS.Timeout>();

  constructor(db: Database, path: string, opts: StoreOptions) {
    this.db = db;
    this.path = path;
    this.dryRun = opts.dryRun;
    this.clock = opts.clock ?? (() => new Date());
    this.scrub = opts.scrub ?? ((t) => t);
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /**
   * Closing stops the lock heartbeats but leaves a held run lock in place: only its release
   * removes it. `state rebuild` relies on that to keep a file locked while it swaps it out.
   */
  close(): void {
    for (const beat of this.heartbeats) clearInterval(beat);
    this.heartbeats.clear();
    if (this.db.open) this.db.close();
  }

  /** Runs `fn`, turning any SQLite failure into a StateError that names this file and the way out. */
  private guard<T>(operation: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw stateFailure(err, this.path, operation);
    }
  }

  /** A message as it may be stored: scrubbed of every configured secret. */
  private text(value: string): string;
  private text(value: string | null): string | null;
  private text(value: string | null): string | null {
    return value === null ? null : this.scrub(value);
  }

  private json(text: string, ref: Omit<RowRef, 'path'>): Record<string, unknown> {
    return parseRow(text, { ...ref, path: this.path }, isObject, 'a JSON object');
  }

  // ── transactions (state/group-commit.ts) ───────────────────────────────────────────────────

  inTransaction(work: () => void): void {
    this.guard('write state', () => this.db.transaction(work)());
  }

  savepoint(work: () => void): void {
    // better-sqlite3 turns a transaction function called inside a transaction into a savepoint.
    this.db.transaction(work)();
  }

  transactionOpen(): boolean {
    return this.db.inTransaction;
  }

  private readonly statements = new Map<string, Statement>();

  /** Each SQL text prepared once per store: per-row writes at 100,000 users would otherwise spend seconds preparing. */
  private stmt(sql: string): Statement {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  // ── meta ────────────────────────────────────────────────────────────────────────────────────

  getMeta(key: string): string | null {
    return this.guard('read state', () => {
      const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
      return row?.value ?? null;
    });
  }

  setMeta(key: string, value: string): void {
    this.guard('write state', () => this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value));
  }

  // ── change feed ─────────────────────────────────────────────────────────────────────────────

  /** Where the IdP's change feed stood after the last run that applied everything, and when each side was last read whole. */
  feedMark(): FeedMark {
    const retry = this.getMeta('feed-retry');
    return {
      cursor: this.getMeta('feed-cursor'),
      fullAt: this.getMeta('feed-full-at'),
      verifiedAt: this.getMeta('feed-verified-at'),
      retry: retry === null ? [] : parseRow(retry, { path: this.path, table: 'meta', key: 'key "feed-retry"', column: 'value' }, isStringList, 'a list of IdP user ids'),
    };
  }

  /**
   * Moves the feed on, after a run that applied its plan (all of it, or part: `retry` names the
   * users it left unfinished, for the next incremental run to read again).
   */
  markFeed(mark: { readonly cursor: string | null; readonly fullAt?: string; readonly verifiedAt?: string; readonly retry: readonly string[] }): void {
    this.guard('write state', () =>
      this.db.transaction(() => {
        if (mark.cursor === null) this.stmt("DELETE FROM meta WHERE key = 'feed-cursor'").run();
        else this.setMeta('feed-cursor', mark.cursor);
        if (mark.fullAt) this.setMeta('feed-full-at', mark.fullAt);
        if (mark.verifiedAt) this.setMeta('feed-verified-at', mark.verifiedAt);
        if (mark.retry.length) this.setMeta('feed-retry', JSON.stringify(mark.retry));
        else this.stmt("DELETE FROM meta WHERE key = 'feed-retry'").run();
      })(),
    );
  }

  // ── drift streaks (JIT detection) ─────────────────────────────────────────────────────────

  /** Runs in a row that set back each (user, field); only fields with a streak are there. */
  driftStreaks(): DriftStreak[] {
    return this.guard('read state', () => (this.stmt('SELECT idp_id, field, runs FROM drift_streaks').all() as Array<{ idp_id: string; field: string; runs: number }>).map((r) => ({ idpId: r.idp_id, field: r.field, runs: r.runs })));
  }

  /**
   * After a run that applied its plan: each (user, field) it set back extends its streak by one.
   * Every other streak of a user the run looked at ends: `looked` is null when the run saw all of
   * Docker (a full run, or an incremental one that listed it), else the users it read.
   */
  recordDrift(runId: string, setBack: readonly { readonly idpId: string; readonly field: string }[], looked: ReadonlySet<string> | null): void {
    this.guard('write state', () =>
      this.db.transaction(() => {
        const key = (idpId: string, field: string) => `${idpId}\u0000${field}`;
        const kept = new Set(setBack.map((d) => key(d.idpId, d.field)));
        const existing = this.stmt('SELECT idp_id, field FROM drift_streaks').all() as Array<{ idp_id: string; field: string }>;
        for (const r of existing) {
          if (kept.has(key(r.idp_id, r.field))) continue;
          if (looked === null || looked.has(r.idp_id)) this.stmt('DELETE FROM drift_streaks WHERE idp_id = ? AND field = ?').run(r.idp_id, r.field);
        }
        const bump = this.stmt('INSERT INTO drift_streaks (idp_id, field, runs, last_run) VALUES (?, ?, 1, ?) ON CONFLICT (idp_id, field) DO UPDATE SET runs = runs + 1, last_run = excluded.last_run');
        for (const d of setBack) bump.run(d.idpId, d.field, runId);
      })(),
    );
  }

  // ── team sources (renamed IdP groups) ─────────────────────────────────────────────────────

  /** IdP group id → the team (org:team) it made, as the last full run recorded. */
  teamSources(): Map<string, string> {
    return this.guard('read state', () => new Map((this.stmt('SELECT idp_group_id, team FROM team_sources').all() as Array<{ idp_group_id: string; team: string }>).map((r) => [r.idp_group_id, r.team])));
  }

  /** After a full run that applied its plan: the team each org:team group makes (team-renames.ts sourcesToRecord). */
  recordTeamSources(sources: ReadonlyMap<string, string>): void {
    this.guard('write state', () =>
      this.db.transaction(() => {
        this.stmt('DELETE FROM team_sources').run();
        const put = this.stmt('INSERT INTO team_sources (idp_group_id, team) VALUES (?, ?)');
        for (const [groupId, team] of sources) put.run(groupId, team);
      })(),
    );
  }

  // ── run lock ──────────────────────────────────────────────────────────────────────────────

  private runLock(): RunLockRow | null {
    const raw = this.getMeta('run-lock');
    return raw === null ? null : parseRow(raw, { path: this.path, table: 'meta', key: 'key "run-lock"', column: 'value' }, isRunLock, 'a run lock (pid, host, heartbeat)');
  }

  /**
   * One run at a time per state file, across processes and hosts sharing a volume. The lock is a
   * row with a heartbeat: a holder that died (kill -9, a lost node) is recognised by a dead pid on
   * this host, or by a heartbeat older than `staleAfterMs` anywhere, and its lock is taken over.
   */
  acquireRunLock(runLabel: string, staleAfterMs = 5 * 60_000): RunLockRelease {
    const me = { pid: process.pid, host: hostname(), started: PROCESS_STARTED, run: runLabel, since: this.now(), heartbeat: this.now(), token: randomBytes(8).toString('hex') } satisfies RunLockRow;
    this.guard('lock state', () =>
      this.db
        .transaction(() => {
          const held = this.runLock();
          if (held) {
            const age = this.clock().getTime() - Date.parse(held.heartbeat);
            const dead = holderGone(held);
            if (!dead && age < staleAfterMs) {
              throw new StateError(
                `another docker-idp-sync run holds the state file ${this.path}: pid ${held.pid} on ${held.host} (${held.run}), started ${held.since}, last seen ${held.heartbeat}`,
                `wait for it to finish; if that process is gone, its lock expires ${Math.round(staleAfterMs / 60_000)} minutes after its last heartbeat`,
                undefined,
                'held',
                'lock state',
              );
            }
          }
          this.setMeta('run-lock', JSON.stringify(me));
        })
        .immediate(),
    );
    const beat = setInterval(() => {
      try {
        if (this.runLock()?.token === me.token) this.setMeta('run-lock', JSON.stringify({ ...me, heartbeat: this.now() }));
      } catch {
        // A busy database skips one beat; the next one catches up long before the lock goes stale.
      }
    }, Math.max(1_000, Math.floor(staleAfterMs / 10)));
    beat.unref();
    this.heartbeats.add(beat);
    const release = () => {
      clearInterval(beat);
      this.heartbeats.delete(beat);
      if (this.db.open) this.releaseRunLock(me.token);
    };
    return Object.assign(release, { token: me.token });
  }

  /** Removes the run lock if the holder with this token still has it (a lock taken over stays). */
  releaseRunLock(token: string): void {
    this.guard('unlock state', () =>
      this.db
        .transaction(() => {
          if (this.runLock()?.token === token) this.stmt("DELETE FROM meta WHERE key = 'run-lock'").run();
        })
        .immediate(),
    );
  }

  // ── links ───────────────────────────────────────────────────────────────────────────────────

  links(): Link[] {
    return this.guard('read state', () => {
      // Row by row: the rows of 100,000 links (their JSON text included) are never all held at once.
      const shared = new SharedValues();
      const links: Link[] = [];
      for (const r of this.stmt(`${LINK_COLUMNS} ORDER BY idp_id`).iterate() as IterableIterator<LinkRow>) links.push(this.linkOf(r, shared));
      return links;
    });
  }

  /**
   * The links an incremental run needs, not all 100,000: those of the IdP users it re-read, and
   * those of the Docker accounts it looked up (an account another user's link holds must be seen
   * as held). Looked up in chunks under SQLite's limit on bound parameters.
   */
  linksFor(idpIds: readonly string[], dockerIds: readonly string[]): Link[] {
    return this.guard('read state', () => {
      const found = new Map<string, Link>();
      const shared = new SharedValues();
      const query = (column: 'idp_id' | 'docker_id', ids: readonly string[]) => {
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          const rows = this.db.prepare(`${LINK_COLUMNS} WHERE ${column} IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as LinkRow[];
          for (const r of rows) found.set(r.idp_id, this.linkOf(r, shared));
        }
      };
      query('idp_id', idpIds);
      query('docker_id', dockerIds);
      return [...found.values()].sort((a, b) => (a.idpId < b.idpId ? -1 : a.idpId > b.idpId ? 1 : 0));
    });
  }

  /**
   * The links whose userName is one of these, compared as Docker compares userNames (without regard
   * to case): where `sync --user` and `explain` find a person the IdP may no longer name by that
   * email. One query over the table, not a load of every link.
   */
  linksByUserName(userNames: readonly string[]): Link[] {
    return this.guard('read state', () => {
      const found = new Map<string, Link>();
      const shared = new SharedValues();
      for (let i = 0; i < userNames.length; i += 500) {
        const chunk = userNames.slice(i, i + 500);
        const rows = this.db.prepare(`${LINK_COLUMNS} WHERE user_name COLLATE NOCASE IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as LinkRow[];
        for (const r of rows) found.set(r.idp_id, this.linkOf(r, shared));
      }
      return [...found.values()].sort((a, b) => (a.idpId < b.idpId ? -1 : a.idpId > b.idpId ? 1 : 0));
    });
  }

  /** Whether this IdP user has a link: the change feeds drop tenant-wide events about anyone else. */
  hasLink(idpId: string): boolean {
    return this.guard('read state', () => this.stmt('SELECT 1 FROM links WHERE idp_id = ?').get(idpId) !== undefined);
  }

  /**
   * Links whose last applied state is active: an incremental run's base for the deactivation share,
   * since it does not list Docker (a full run counts the accounts Docker shows active instead).
   */
  activeLinkCount(): number {
    return this.guard('read state', () => (this.stmt("SELECT count(*) AS n FROM links WHERE json_extract(applied, '$.active') = 1").get() as { n: number }).n);
  }

  private linkOf(r: LinkRow, shared: SharedValues): Link {
    const a = this.applied(r.applied, r.idp_id);
    // The column and the JSON hold the same userName: one string for both.
    const userName = a.userName === r.user_name ? r.user_name : a.userName;
    const applied: AppliedState = {
      userName,
      givenName: a.givenName,
      familyName: a.familyName,
      active: a.active,
      role: shared.string(a.role),
      org: shared.string(a.org),
      team: shared.string(a.team),
      ...(a.email !== undefined ? { email: a.email } : {}),
      teams: shared.list(a.teams),
    };
    return { idpId: r.idp_id, dockerId: r.docker_id, userName: r.user_name, origin: shared.string(r.origin), applied };
  }

  private applied(text: string, idpId: string): AppliedState {
    return parseRow(text, { path: this.path, table: 'links', key: `idp_id ${JSON.stringify(idpId)}`, column: 'applied' }, isApplied, 'the last applied attributes (userName, names, active, role, org, team, teams)');
  }

  linkCount(): number {
    return this.guard('read state', () => (this.stmt('SELECT count(*) AS n FROM links').get() as { n: number }).n);
  }

  /**
   * What proves that this tool owns a Docker account: a link (with how it came under management),
   * or a journaled creation, even when the link was lost since. Reads no JSON column, so a file
   * with damaged rows still yields its proof to `state rebuild`.
   */
  ownership(): Map<string, LinkOrigin> {
    return this.guard('read state', () => {
      const owned = new Map<string, LinkOrigin>();
      for (const r of this.stmt('SELECT docker_id, origin FROM links').all() as Array<{ docker_id: string; origin: LinkOrigin }>) owned.set(r.docker_id, r.origin);
      const created = this.stmt("SELECT DISTINCT docker_id FROM journal WHERE kind = 'create' AND status IN ('succeeded', 'recovered') AND docker_id IS NOT NULL").all() as Array<{ docker_id: string }>;
      // A creation is the stronger fact: an account the tool created and later re-adopted is still its own.
      for (const r of created) owned.set(r.docker_id, 'created');
      return owned;
    });
  }

  /** Inserts or replaces the link of an IdP user; a link another IdP user held on the same account moves. */
  private putLink(idpId: string, dockerId: string, origin: LinkOrigin, applied: AppliedState): void {
    const now = this.now();
    this.stmt('DELETE FROM links WHERE docker_id = ? AND idp_id <> ?').run(dockerId, idpId);
    this.stmt(
      `INSERT INTO links (idp_id, docker_id, user_name, origin, applied, created_at, updated_at)
       VALUES (@idpId, @dockerId, @userName, @origin, @applied, @now, @now)
       ON CONFLICT (idp_id) DO UPDATE SET docker_id = excluded.docker_id, user_name = excluded.user_name,
         origin = excluded.origin, applied = excluded.applied, updated_at = excluded.updated_at`,
    ).run({ idpId, dockerId, userName: applied.userName, origin, applied: JSON.stringify(applied), now });
  }

  private updateApplied(idpId: string, change: (a: AppliedState) => AppliedState): void {
    const row = this.stmt('SELECT applied FROM links WHERE idp_id = ?').get(idpId) as { applied: string } | undefined;
    if (!row) return;
    const next = change(this.applied(row.applied, idpId));
    this.stmt('UPDATE links SET applied = ?, user_name = ?, updated_at = ? WHERE idp_id = ?').run(JSON.stringify(next), next.userName, this.now(), idpId);
  }

  // ── runs ────────────────────────────────────────────────────────────────────────────────────

  startRun(source: string, forced: boolean): string {
    return this.guard('write state', () => {
      const started = this.now();
      const id = `${started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
      // The version from the start: a run killed mid-way still says which release it was.
      this.stmt('INSERT INTO runs (id, started_at, source, status, forced, summary) VALUES (?, ?, ?, ?, ?, ?)').run(id, started, source, 'running', forced ? 1 : 0, JSON.stringify({ toolVersion: TOOL_VERSION }));
      return id;
    });
  }

  finishRun(runId: string, status: RunStatus, result: RunResult | null, error?: string): void {
    const summary = JSON.stringify(result ? runSummary(result) : ({ toolVersion: TOOL_VERSION } satisfies RunSummary));
    // The result is what `report --run` prints again: compressed, and made in pieces (packed-json.ts).
    const packed = result ? packJson(result, { scrub: (t) => this.text(t) }) : null;
    this.guard('write state', () =>
      this.stmt('UPDATE runs SET finished_at = ?, status = ?, summary = ?, result = ?, error = ? WHERE id = ?').run(
        this.now(),
        status,
        this.text(summary),
        packed,
        this.text(error ?? null),
        runId,
      ),
    );
  }

  private static readonly RUN_COLUMNS = 'id, started_at, finished_at, source, status, summary, error';

  private runRow(r: RunRecord): RunRow {
    return {
      id: r.id,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      source: r.source,
      status: r.status,
      summary: r.summary ? this.json(r.summary, { table: 'runs', key: `id ${JSON.stringify(r.id)}`, column: 'summary' }) : null,
      error: r.error,
    };
  }

  recentRuns(limit = 10): RunRow[] {
    return this.guard('read state', () => {
      const rows = this.stmt(`SELECT ${StateStore.RUN_COLUMNS} FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(limit) as RunRecord[];
      return rows.map((r) => this.runRow(r));
    });
  }

  /** One run with its stored result, or null for an id the file does not hold. */
  storedRun(id: string): StoredRun | null {
    return this.guard('read state', () => {
      const row = this.stmt(`SELECT ${StateStore.RUN_COLUMNS}, result FROM runs WHERE id = ?`).get(id) as (RunRecord & { result: string | Uint8Array | null }) | undefined;
      return row ? this.stored(row) : null;
    });
  }

  /**
   * The newest run that finished (succeeded, partial, held or failed); not one still going or
   * killed. Dry runs are never stored, so every run here applied its plan, or tried to.
   */
  lastFinishedRun(): StoredRun | null {
    return this.guard('read state', () => {
      const row = this.stmt(
        `SELECT ${StateStore.RUN_COLUMNS}, result FROM runs WHERE status IN ('succeeded', 'partial', 'held', 'failed') ORDER BY started_at DESC, rowid DESC LIMIT 1`,
      ).get() as (RunRecord & { result: string | Uint8Array | null }) | undefined;
      return row ? this.stored(row) : null;
    });
  }

  private stored(row: RunRecord & { result: string | Uint8Array | null }): StoredRun {
    const result = row.result === null ? null : parseRow(row.result, { path: this.path, table: 'runs', key: `id ${JSON.stringify(row.id)}`, column: 'result' }, isRunResult, 'a run result (plan and results)');
    return { ...this.runRow(row), result };
  }

  /**
   * The journals of those of `runIds` that stopped with writes in flight: killed (interrupted, or
   * still marked running), or left a write without a clear answer. For each such write, what a
   * later run did about it. What `status` shows, as the INTERRUPTED_RUN finding promises.
   */
  interruptions(runIds: readonly string[]): Interruption[] {
    if (runIds.length === 0) return [];
    return this.guard('read state', () => {
      const unfinished = new Set(
        (this.stmt(`SELECT id FROM runs WHERE id IN (SELECT value FROM json_each(?)) AND status IN ('interrupted', 'running')`).all(JSON.stringify(runIds)) as Array<{ id: string }>).map((r) => r.id),
      );
      const candidates = new Set(unfinished);
      // Runs that finished may still have left a write unanswered (a timeout on a create): those
      // have a recovered/abandoned row, or an operation whose last row is 'started' or 'failed'.
      const marked = this.stmt(
        `SELECT DISTINCT j.run_id FROM journal j
         WHERE j.run_id IN (SELECT value FROM json_each(?))
           AND (j.status IN ('recovered', 'abandoned')
                OR (j.status IN ('started', 'failed') AND j.seq = (SELECT max(k.seq) FROM journal k WHERE k.run_id = j.run_id AND k.op_id = j.op_id)))`,
      ).all(JSON.stringify(runIds)) as Array<{ run_id: string }>;
      for (const m of marked) candidates.add(m.run_id);
      const out: Interruption[] = [];
      for (const runId of runIds) {
        if (!candidates.has(runId)) continue;
        // A finished run whose last 'failed' rows were clear refusals had nothing in flight.
        const interruption = interruptionOf(runId, this.journalOf(runId));
        if (interruption.inFlight.length > 0 || unfinished.has(runId)) out.push(interruption);
      }
      return out;
    });
  }

  // ── retention ──────────────────────────────────────────────────────────────────────────────

  /**
   * Deletes the runs (with their journal rows) that are both older than `retainDays` and beyond
   * the newest `retainRuns`, in one transaction. Never deleted: the links (another table), the
   * last successful run, a run still marked running (it may be going on now), the calling run,
   * and any run whose journal still has a write of unknown fate, which the next run's recovery
   * reads. Freed pages stay in the file for the next runs to reuse (docs/retention.md).
   */
  prune(opts: PruneOptions): PruneResult {
    if (this.dryRun) return { runs: 0, journal: 0 };
    const cutoff = new Date((opts.now ?? this.clock()).getTime() - opts.retainDays * DAY_MS).toISOString();
    return this.guard('prune state', () =>
      this.db
        .transaction((): PruneResult => {
          // Both lookups walk the runs_started index from the newest run. Left to itself, SQLite
          // finds the last success by scanning every row, stored results included: tens of
          // milliseconds a run at 10,000 runs (docs/retention.md).
          const candidates = this.stmt(
            `SELECT id FROM runs
             WHERE started_at < @cutoff
               AND status <> 'running'
               AND id <> @current
               AND rowid NOT IN (SELECT rowid FROM runs ORDER BY started_at DESC, rowid DESC LIMIT @keep)
               AND id IS NOT (SELECT id FROM runs INDEXED BY runs_started WHERE status = 'succeeded' ORDER BY started_at DESC, rowid DESC LIMIT 1)`,
          ).all({ cutoff, current: opts.current ?? '', keep: opts.retainRuns }) as Array<{ id: string }>;
          let runs = 0;
          let journal = 0;
          for (const { id } of candidates) {
            if (this.hasUnresolvedWrites(id)) continue;
            journal += this.stmt('DELETE FROM journal WHERE run_id = ?').run(id).changes;
            runs += this.stmt('DELETE FROM runs WHERE id = ?').run(id).changes;
          }
          return { runs, journal };
        })
        .immediate(),
    );
  }

  private hasUnresolvedWrites(runId: string): boolean {
    const lasts = this.stmt(
      `SELECT j.seq, j.kind, j.status, j.detail FROM journal j
       WHERE j.run_id = ? AND j.status IN ('started', 'failed')
         AND j.seq = (SELECT max(k.seq) FROM journal k WHERE k.run_id = j.run_id AND k.op_id = j.op_id)`,
    ).all(runId) as Array<{ seq: number; kind: string; status: string; detail: string | null }>;
    return lasts.some((r) => isUnresolved(r, () => (r.detail === null ? null : this.json(r.detail, { table: 'journal', key: `seq ${r.seq}`, column: 'detail' }))));
  }

  // ── journal ─────────────────────────────────────────────────────────────────────────────────

  private journal(runId: string, op: Pick<Operation, 'id' | 'kind'> & Partial<Record<'idpId' | 'userName' | 'dockerId', string | null>>, status: string, detail: unknown, dockerId?: string | null): void {
    this.stmt('INSERT INTO journal (run_id, op_id, kind, idp_id, user_name, docker_id, status, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      runId,
      op.id,
      op.kind,
      op.idpId ?? null,
      op.userName ?? null,
      dockerId ?? op.dockerId ?? null,
      status,
      detail === undefined ? null : this.text(JSON.stringify(detail)),
      this.now(),
    );
  }

  /** Before a write: what is about to be sent. */
  recordStart(runId: string, op: Operation, detail?: Record<string, unknown>): void {
    const base: Record<string, unknown> = 'target' in op ? { target: op.target } : 'members' in op ? { group: op.group, members: op.members.length } : { group: op.group };
    this.guard('write state', () => this.journal(runId, op, 'started', { ...base, ...(detail ?? {}) }));
  }

  recordFailure(runId: string, op: Operation, error: { code: string; message: string; status?: number }): void {
    this.guard('write state', () => this.journal(runId, op, 'failed', error));
  }

  /** A create, adopt, update, reactivation or deactivation landed: journal and link in one transaction. */
  recordUserSuccess(runId: string, op: Operation & { idpId: string; target: UserAttributes }, dockerId: string, origin: LinkOrigin | null, note?: string): void {
    this.guard('write state', () =>
      this.db.transaction(() => {
        if (origin) {
          const previous = this.stmt('SELECT applied FROM links WHERE idp_id = ?').get(op.idpId) as { applied: string } | undefined;
          const teams = previous ? this.applied(previous.applied, op.idpId).teams : [];
          this.putLink(op.idpId, dockerId, origin, { ...op.target, teams });
        } else {
          this.updateApplied(op.idpId, (a) => ({ ...op.target, teams: a.teams }));
        }
        this.journal(runId, op, 'succeeded', note ? { note } : undefined, dockerId);
      })(),
    );
  }

  recordTeamSuccess(runId: string, op: Operation & { group: string }, idpIds: readonly string[], add: boolean, detail: Record<string, unknown>): void {
    const key = op.group.toLowerCase();
    this.guard('write state', () =>
      this.db.transaction(() => {
        for (const idpId of idpIds) {
          this.updateApplied(idpId, (a) => {
            const teams = a.teams.filter((t) => t.toLowerCase() !== key);
            return { ...a, teams: add ? [...teams, op.group].sort() : teams };
          });
        }
        this.journal(runId, op, 'succeeded', detail);
      })(),
    );
  }

  /** Adds teams to what each user is recorded as being in (see Plan.memberships). */
  rememberTeams(records: readonly { idpId: string; teams: readonly string[] }[]): void {
    this.guard('write state', () =>
      this.db.transaction(() => {
        for (const r of records) {
          this.updateApplied(r.idpId, (a) => {
            const have = new Set(a.teams.map((t) => t.toLowerCase()));
            const add = r.teams.filter((t) => !have.has(t.toLowerCase()));
            return add.length ? { ...a, teams: [...a.teams, ...add].sort() } : a;
          });
        }
      })(),
    );
  }

  /**
   * A rebuild: replaces every link with those re-made from Docker, as one recorded run. Each keeps
   * the origin its proof gave it (see reconcile/rebuild.ts): an account the tool created stays
   * 'created'.
   */
  replaceLinks(runId: string, links: readonly { idpId: string; dockerId: string; origin: LinkOrigin; applied: AppliedState }[]): void {
    const proven = links.filter((l) => l.origin === 'created').length;
    this.guard('write state', () =>
      this.db.transaction(() => {
        this.stmt('DELETE FROM links').run();
        for (const l of links) this.putLink(l.idpId, l.dockerId, l.origin, l.applied);
        this.journal(runId, { id: 'rebuild', kind: 'adopt' }, 'succeeded', { links: links.length, created: proven, adopted: links.length - proven, note: 're-linked from Docker by userName' });
      })(),
    );
  }

  recordGroupSuccess(runId: string, op: Operation, groupId: string, existed: boolean): void {
    this.guard('write state', () => this.journal(runId, op, 'succeeded', { groupId, existed }, groupId));
  }

  /**
   * Writes whose fate is unknown: the last journal row of the operation is 'started' (the run was
   * killed before the answer), or it is a create/adopt that 'failed' without a clear refusal
   * (timeout, reset, unreadable answer, 5xx): Docker may have acted on it all the same.
   *
   * Runs that ended 'succeeded' or 'held' are skipped: each write they started was answered and
   * journaled (any other ending makes a run 'partial' or 'failed'), and at 100,000 users looking
   * through their 'started' rows was a fifth of a run's planning time.
   */
  interruptedWrites(): InterruptedWrite[] {
    return this.guard('read state', () => {
      const rows = this.stmt(
        `SELECT j.seq, j.run_id, j.op_id, j.kind, j.idp_id, j.user_name, j.status, j.detail,
                (SELECT s.seq FROM journal s WHERE s.run_id = j.run_id AND s.op_id = j.op_id AND s.status = 'started' ORDER BY s.seq DESC LIMIT 1) AS started_seq,
                (SELECT s.detail FROM journal s WHERE s.run_id = j.run_id AND s.op_id = j.op_id AND s.status = 'started' ORDER BY s.seq DESC LIMIT 1) AS started
         FROM journal j
         WHERE j.status IN ('started', 'failed')
           AND j.run_id NOT IN (SELECT id FROM runs WHERE status IN ('succeeded', 'held'))
           AND j.seq = (SELECT max(k.seq) FROM journal k WHERE k.run_id = j.run_id AND k.op_id = j.op_id)
         ORDER BY j.seq`,
      ).all() as Array<{ seq: number; run_id: string; op_id: string; kind: string; idp_id: string | null; user_name: string | null; status: string; detail: string | null; started_seq: number | null; started: string | null }>;
      const detailOf = (text: string | null, seq: number | null) => (text === null ? null : this.json(text, { table: 'journal', key: `seq ${seq}`, column: 'detail' }));
      return rows
        .filter((r) => isUnresolved(r, () => detailOf(r.detail, r.seq)))
        .map((r) => {
          const target = detailOf(r.started, r.started_seq)?.target;
          return { runId: r.run_id, opId: r.op_id, kind: r.kind, idpId: r.idp_id, userName: r.user_name, target: isObject(target) ? (target as unknown as UserAttributes) : null };
        });
    });
  }

  /** Runs still marked running when a new run starts were killed; say so. */
  markInterruptedRuns(): string[] {
    return this.guard('write state', () => {
      const ids = (this.stmt("SELECT id FROM runs WHERE status = 'running'").all() as Array<{ id: string }>).map((r) => r.id);
      if (ids.length) this.stmt("UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) WHERE status = 'running'").run(this.now());
      return ids;
    });
  }

  /** Saves recovered links and closes out every interrupted write in the journal, naming the run that did it. */
  recordRecovery(recovery: Recovery, byRunId: string): void {
    this.guard('write state', () =>
      this.db.transaction(() => {
        for (const l of recovery.links) {
          const applied: AppliedState = l.target ? { ...l.target, teams: [] } : ({ userName: l.userName, givenName: null, familyName: null, active: true, role: 'member', org: '', team: null, teams: [] } as AppliedState);
          this.putLink(l.idpId, l.dockerId, l.origin, applied);
          this.journal(l.runId, { id: l.opId, kind: l.origin === 'created' ? 'create' : 'adopt', idpId: l.idpId, userName: l.userName }, 'recovered', {
            by: byRunId,
            note: `the write reached Docker before the crash; linked ${l.dockerId} by userName`,
          }, l.dockerId);
        }
        for (const w of recovery.abandoned) {
          this.journal(w.runId, { id: w.opId, kind: w.kind as Operation['kind'], idpId: w.idpId, userName: w.userName }, 'abandoned', {
            by: byRunId,
            note: 'interrupted before it was confirmed; the new plan recomputes it from what Docker holds now',
          });
        }
      })(),
    );
  }

  journalOf(runId: string): JournalRow[] {
    return this.guard('read state', () => (this.stmt('SELECT * FROM journal WHERE run_id = ? ORDER BY seq').all(runId) as JournalRecord[]).map((r) => this.journalRow(r)));
  }

  /** One person's journal rows, newest first: their user operations, by IdP id (index journal_idp). */
  journalForUser(idpId: string, limit = 20): JournalRow[] {
    return this.guard('read state', () => (this.stmt('SELECT * FROM journal WHERE idp_id = ? ORDER BY seq DESC LIMIT ?').all(idpId, limit) as JournalRecord[]).map((r) => this.journalRow(r)));
  }

  private journalRow(r: JournalRecord): JournalRow {
    return {
      seq: r.seq,
      runId: r.run_id,
      opId: r.op_id,
      kind: r.kind,
      idpId: r.idp_id,
      userName: r.user_name,
      dockerId: r.docker_id,
      status: r.status,
      detail: r.detail ? this.json(r.detail, { table: 'journal', key: `seq ${r.seq}`, column: 'detail' }) : null,
      at: r.at,
    };
  }

}
