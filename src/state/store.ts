import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database, Statement } from 'better-sqlite3';
import type { UserAttributes } from '../model/docker.ts';
import type { AppliedState, Link, LinkOrigin } from '../model/link.ts';
import type { Operation } from '../model/plan.ts';
import type { RunResult, RunStatus } from '../model/result.ts';
import type { InterruptedWrite, Recovery } from '../model/recovery.ts';
import { StateError } from './errors.ts';

/**
 * Queries over the state file: links, runs and the operation journal. The journal is written as a
 * run goes (a row before each write to Docker and a row after), never only at the end, so a crash
 * at any point leaves a record of what was in flight.
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

interface RunLock {
  pid: number;
  host: string;
  run: string;
  since: string;
  heartbeat: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Failures after which the write may still have happened: no answer, an unreadable one, or a 5xx. */
function isAmbiguousFailure(detail: string | null): boolean {
  if (!detail) return false;
  const code = (JSON.parse(detail) as { code?: string }).code ?? '';
  return /^DOCKER_(TIMEOUT|NETWORK|BAD_RESPONSE|HTTP_5\d\d)$/.test(code);
}

export class StateStore {
  readonly db: Database;
  readonly path: string;
  readonly dryRun: boolean;
  private readonly clock: Clock;

  constructor(db: Database, path: string, dryRun: boolean, clock: Clock = () => new Date()) {
    this.db = db;
    this.path = path;
    this.dryRun = dryRun;
    this.clock = clock;
  }

  private now(): string {
    return this.clock().toISOString();
  }

  close(): void {
    if (this.db.open) this.db.close();
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
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ── run lock ──────────────────────────────────────────────────────────────────────────────

  /**
   * One run at a time per state file, across processes and hosts sharing a volume. The lock is a
   * row with a heartbeat: a holder that died (kill -9, a lost node) is recognised by a dead pid on
   * this host, or by a heartbeat older than `staleAfterMs` anywhere, and its lock is taken over.
   */
  acquireRunLock(runLabel: string, staleAfterMs = 5 * 60_000): () => void {
    const me: RunLock = { pid: process.pid, host: hostname(), run: runLabel, since: this.now(), heartbeat: this.now() };
    this.db
      .transaction(() => {
        const raw = this.getMeta('run-lock');
        if (raw) {
          const held = JSON.parse(raw) as RunLock;
          const age = this.clock().getTime() - Date.parse(held.heartbeat);
          const dead = held.host === me.host && !pidAlive(held.pid);
          if (!dead && age < staleAfterMs) {
            throw new StateError(
              `another docker-idp-sync run holds the state file ${this.path}: pid ${held.pid} on ${held.host}, started ${held.since}, last seen ${held.heartbeat}`,
              `wait for it to finish; if that process is gone, its lock expires ${Math.round(staleAfterMs / 60_000)} minutes after its last heartbeat`,
            );
          }
        }
        this.setMeta('run-lock', JSON.stringify(me));
      })
      .immediate();
    const beat = setInterval(() => {
      try {
        const raw = this.getMeta('run-lock');
        if (raw && (JSON.parse(raw) as RunLock).pid === me.pid) this.setMeta('run-lock', JSON.stringify({ ...me, heartbeat: this.now() }));
      } catch {
        // A busy database skips one beat; the next one catches up long before the lock goes stale.
      }
    }, Math.max(1_000, Math.floor(staleAfterMs / 10)));
    beat.unref();
    return () => {
      clearInterval(beat);
      if (!this.db.open) return;
      this.db
        .transaction(() => {
          const raw = this.getMeta('run-lock');
          if (raw && (JSON.parse(raw) as RunLock).pid === me.pid && (JSON.parse(raw) as RunLock).host === me.host) this.stmt("DELETE FROM meta WHERE key = 'run-lock'").run();
        })
        .immediate();
    };
  }

  // ── links ───────────────────────────────────────────────────────────────────────────────────

  links(): Link[] {
    const rows = this.stmt('SELECT idp_id, docker_id, user_name, origin, applied FROM links ORDER BY idp_id').all() as Array<{
      idp_id: string;
      docker_id: string;
      user_name: string;
      origin: LinkOrigin;
      applied: string;
    }>;
    return rows.map((r) => ({
      idpId: r.idp_id,
      dockerId: r.docker_id,
      userName: r.user_name,
      origin: r.origin,
      applied: JSON.parse(r.applied) as AppliedState,
    }));
  }

  linkCount(): number {
    return (this.stmt('SELECT count(*) AS n FROM links').get() as { n: number }).n;
  }

  /** Inserts or replaces the link of an IdP user; a link another IdP user held on the same account moves. */
  private putLink(idpId: string, dockerId: string, origin: LinkOrigin, applied: AppliedState): void {
    const now = this.now();
    this.stmt('DELETE FROM links WHERE docker_id = ? AND idp_id <> ?').run(dockerId, idpId);
    this.db
      .prepare(
        `INSERT INTO links (idp_id, docker_id, user_name, origin, applied, created_at, updated_at)
         VALUES (@idpId, @dockerId, @userName, @origin, @applied, @now, @now)
         ON CONFLICT (idp_id) DO UPDATE SET docker_id = excluded.docker_id, user_name = excluded.user_name,
           origin = excluded.origin, applied = excluded.applied, updated_at = excluded.updated_at`,
      )
      .run({ idpId, dockerId, userName: applied.userName, origin, applied: JSON.stringify(applied), now });
  }

  private updateApplied(idpId: string, change: (a: AppliedState) => AppliedState): void {
    const row = this.stmt('SELECT applied FROM links WHERE idp_id = ?').get(idpId) as { applied: string } | undefined;
    if (!row) return;
    const next = change(JSON.parse(row.applied) as AppliedState);
    this.db
      .prepare('UPDATE links SET applied = ?, user_name = ?, updated_at = ? WHERE idp_id = ?')
      .run(JSON.stringify(next), next.userName, this.now(), idpId);
  }

  // ── runs ────────────────────────────────────────────────────────────────────────────────────

  startRun(source: string, forced: boolean): string {
    const started = this.now();
    const id = `${started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    this.stmt('INSERT INTO runs (id, started_at, source, status, forced) VALUES (?, ?, ?, ?, ?)').run(id, started, source, 'running', forced ? 1 : 0);
    return id;
  }

  finishRun(runId: string, status: RunStatus, result: RunResult | null, error?: string): void {
    const summary = result
      ? JSON.stringify({
          operations: result.plan.counts.operations,
          succeeded: result.results.filter((r) => r.status === 'succeeded').length,
          failed: result.results.filter((r) => r.status === 'failed').length,
          blocked: result.results.filter((r) => r.status === 'blocked').length,
          findings: result.plan.counts.findings,
          recovered: result.recovered.length,
        })
      : null;
    this.db
      .prepare('UPDATE runs SET finished_at = ?, status = ?, summary = ?, result = ?, error = ? WHERE id = ?')
      .run(this.now(), status, summary, result ? JSON.stringify(result) : null, error ?? null, runId);
  }

  recentRuns(limit = 10): RunRow[] {
    const rows = this.db
      .prepare('SELECT id, started_at, finished_at, source, status, summary, error FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?')
      .all(limit) as Array<{ id: string; started_at: string; finished_at: string | null; source: string; status: string; summary: string | null; error: string | null }>;
    return rows.map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      source: r.source,
      status: r.status,
      summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null,
      error: r.error,
    }));
  }

  // ── journal ─────────────────────────────────────────────────────────────────────────────────

  private journal(runId: string, op: Pick<Operation, 'id' | 'kind'> & Partial<Record<'idpId' | 'userName' | 'dockerId', string | null>>, status: string, detail: unknown, dockerId?: string | null): void {
    this.db
      .prepare('INSERT INTO journal (run_id, op_id, kind, idp_id, user_name, docker_id, status, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        runId,
        op.id,
        op.kind,
        op.idpId ?? null,
        op.userName ?? null,
        dockerId ?? op.dockerId ?? null,
        status,
        detail === undefined ? null : JSON.stringify(detail),
        this.now(),
      );
  }

  /** Before a write: what is about to be sent. */
  recordStart(runId: string, op: Operation, detail?: Record<string, unknown>): void {
    const base: Record<string, unknown> = 'target' in op ? { target: op.target } : 'members' in op ? { group: op.group, members: op.members.length } : { group: op.group };
    this.journal(runId, op, 'started', { ...base, ...(detail ?? {}) });
  }

  recordFailure(runId: string, op: Operation, error: { code: string; message: string; status?: number }): void {
    this.journal(runId, op, 'failed', error);
  }

  /** A create, adopt, update, reactivation or deactivation landed: journal and link in one transaction. */
  recordUserSuccess(runId: string, op: Operation & { idpId: string; target: UserAttributes }, dockerId: string, origin: LinkOrigin | null, note?: string): void {
    this.db.transaction(() => {
      if (origin) {
        const previous = this.stmt('SELECT applied FROM links WHERE idp_id = ?').get(op.idpId) as { applied: string } | undefined;
        const teams = previous ? (JSON.parse(previous.applied) as AppliedState).teams : [];
        this.putLink(op.idpId, dockerId, origin, { ...op.target, teams });
      } else {
        this.updateApplied(op.idpId, (a) => ({ ...op.target, teams: a.teams }));
      }
      this.journal(runId, op, 'succeeded', note ? { note } : undefined, dockerId);
    })();
  }

  recordTeamSuccess(runId: string, op: Operation & { group: string }, idpIds: readonly string[], add: boolean, detail: Record<string, unknown>): void {
    const key = op.group.toLowerCase();
    this.db.transaction(() => {
      for (const idpId of idpIds) {
        this.updateApplied(idpId, (a) => {
          const teams = a.teams.filter((t) => t.toLowerCase() !== key);
          return { ...a, teams: add ? [...teams, op.group].sort() : teams };
        });
      }
      this.journal(runId, op, 'succeeded', detail);
    })();
  }

  /** Adds teams to what each user is recorded as being in (see Plan.memberships). */
  rememberTeams(records: readonly { idpId: string; teams: readonly string[] }[]): void {
    this.db.transaction(() => {
      for (const r of records) {
        this.updateApplied(r.idpId, (a) => {
          const have = new Set(a.teams.map((t) => t.toLowerCase()));
          const add = r.teams.filter((t) => !have.has(t.toLowerCase()));
          return add.length ? { ...a, teams: [...a.teams, ...add].sort() } : a;
        });
      }
    })();
  }

  /** A rebuild: replaces every link with those re-made from Docker, as one recorded run. */
  replaceLinks(runId: string, links: readonly { idpId: string; dockerId: string; applied: AppliedState }[]): void {
    this.db.transaction(() => {
      this.stmt('DELETE FROM links').run();
      for (const l of links) this.putLink(l.idpId, l.dockerId, 'adopted', l.applied);
      this.journal(runId, { id: 'rebuild', kind: 'adopt' }, 'succeeded', { links: links.length, note: 're-linked from Docker by userName' });
    })();
  }

  recordGroupSuccess(runId: string, op: Operation, groupId: string, existed: boolean): void {
    this.journal(runId, op, 'succeeded', { groupId, existed }, groupId);
  }

  /**
   * Writes whose fate is unknown: the last journal row of the operation is 'started' (the run was
   * killed before the answer), or it is a create/adopt that 'failed' without a clear refusal
   * (timeout, reset, unreadable answer, 5xx): Docker may have acted on it all the same.
   */
  interruptedWrites(): InterruptedWrite[] {
    const rows = this.db
      .prepare(
        `SELECT j.run_id, j.op_id, j.kind, j.idp_id, j.user_name, j.status, j.detail,
                (SELECT s.detail FROM journal s WHERE s.run_id = j.run_id AND s.op_id = j.op_id AND s.status = 'started' ORDER BY s.seq DESC LIMIT 1) AS started
         FROM journal j
         WHERE j.status IN ('started', 'failed')
           AND j.seq = (SELECT max(k.seq) FROM journal k WHERE k.run_id = j.run_id AND k.op_id = j.op_id)
         ORDER BY j.seq`,
      )
      .all() as Array<{ run_id: string; op_id: string; kind: string; idp_id: string | null; user_name: string | null; status: string; detail: string | null; started: string | null }>;
    return rows
      .filter((r) => r.status === 'started' || ((r.kind === 'create' || r.kind === 'adopt') && isAmbiguousFailure(r.detail)))
      .map((r) => {
        const started = r.started ? (JSON.parse(r.started) as { target?: UserAttributes }) : {};
        return { runId: r.run_id, opId: r.op_id, kind: r.kind, idpId: r.idp_id, userName: r.user_name, target: started.target ?? null };
      });
  }

  /** Runs still marked running when a new run starts were killed; say so. */
  markInterruptedRuns(): string[] {
    const ids = (this.stmt("SELECT id FROM runs WHERE status = 'running'").all() as Array<{ id: string }>).map((r) => r.id);
    if (ids.length) this.stmt("UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) WHERE status = 'running'").run(this.now());
    return ids;
  }

  /** Saves recovered links and closes out every interrupted write in the journal, naming the run that did it. */
  recordRecovery(recovery: Recovery, byRunId: string): void {
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
    })();
  }

  journalOf(runId: string): JournalRow[] {
    const rows = this.stmt('SELECT * FROM journal WHERE run_id = ? ORDER BY seq').all(runId) as Array<{
      seq: number; run_id: string; op_id: string; kind: string; idp_id: string | null; user_name: string | null; docker_id: string | null; status: string; detail: string | null; at: string;
    }>;
    return rows.map((r) => ({
      seq: r.seq,
      runId: r.run_id,
      opId: r.op_id,
      kind: r.kind,
      idpId: r.idp_id,
      userName: r.user_name,
      dockerId: r.docker_id,
      status: r.status,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
      at: r.at,
    }));
  }
}
