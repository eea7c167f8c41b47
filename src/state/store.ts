import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { UserAttributes } from '../model/docker.ts';
import type { AppliedState, Link, LinkOrigin } from '../model/link.ts';
import type { Operation } from '../model/plan.ts';
import type { RunResult, RunStatus } from '../model/result.ts';
import type { InterruptedWrite, Recovery } from '../model/recovery.ts';

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

  // ── meta ────────────────────────────────────────────────────────────────────────────────────

  getMeta(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ── links ───────────────────────────────────────────────────────────────────────────────────

  links(): Link[] {
    const rows = this.db.prepare('SELECT idp_id, docker_id, user_name, origin, applied FROM links ORDER BY idp_id').all() as Array<{
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
    return (this.db.prepare('SELECT count(*) AS n FROM links').get() as { n: number }).n;
  }

  /** Inserts or replaces the link of an IdP user; a link another IdP user held on the same account moves. */
  private putLink(idpId: string, dockerId: string, origin: LinkOrigin, applied: AppliedState): void {
    const now = this.now();
    this.db.prepare('DELETE FROM links WHERE docker_id = ? AND idp_id <> ?').run(dockerId, idpId);
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
    const row = this.db.prepare('SELECT applied FROM links WHERE idp_id = ?').get(idpId) as { applied: string } | undefined;
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
    this.db.prepare('INSERT INTO runs (id, started_at, source, status, forced) VALUES (?, ?, ?, ?, ?)').run(id, started, source, 'running', forced ? 1 : 0);
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

  runResult(runId: string): RunResult | null {
    const row = this.db.prepare('SELECT result FROM runs WHERE id = ?').get(runId) as { result: string | null } | undefined;
    return row?.result ? (JSON.parse(row.result) as RunResult) : null;
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
        const previous = this.db.prepare('SELECT applied FROM links WHERE idp_id = ?').get(op.idpId) as { applied: string } | undefined;
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

  recordGroupSuccess(runId: string, op: Operation, groupId: string, existed: boolean): void {
    this.journal(runId, op, 'succeeded', { groupId, existed }, groupId);
  }

  /**
   * Writes that were started by a run that never finished, with nothing after them in the journal.
   * Marks those runs interrupted.
   */
  interruptedWrites(): InterruptedWrite[] {
    const rows = this.db
      .prepare(
        `SELECT j.run_id, j.op_id, j.kind, j.idp_id, j.user_name, j.detail FROM journal j
         WHERE j.status = 'started'
           AND NOT EXISTS (SELECT 1 FROM journal k WHERE k.run_id = j.run_id AND k.op_id = j.op_id AND k.seq > j.seq)
         ORDER BY j.seq`,
      )
      .all() as Array<{ run_id: string; op_id: string; kind: string; idp_id: string | null; user_name: string | null; detail: string | null }>;
    return rows.map((r) => {
      const detail = r.detail ? (JSON.parse(r.detail) as { target?: UserAttributes }) : {};
      return { runId: r.run_id, opId: r.op_id, kind: r.kind, idpId: r.idp_id, userName: r.user_name, target: detail.target ?? null };
    });
  }

  /** Runs still marked running when a new run starts were killed; say so. */
  markInterruptedRuns(): string[] {
    const ids = (this.db.prepare("SELECT id FROM runs WHERE status = 'running'").all() as Array<{ id: string }>).map((r) => r.id);
    if (ids.length) this.db.prepare("UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) WHERE status = 'running'").run(this.now());
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
    const rows = this.db.prepare('SELECT * FROM journal WHERE run_id = ? ORDER BY seq').all(runId) as Array<{
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
