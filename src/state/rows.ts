import { gunzipSync } from 'node:zlib';
import type { AppliedState } from '../model/link.ts';
import type { RunResult } from '../model/result.ts';
import { REBUILD_HINT, StateError } from './errors.ts';

/**
 * Reading the JSON columns of the state file. A row edited by hand or damaged on disk becomes an
 * error that names the table, the row and the way out, never a TypeError deep in the planner or a
 * value of the wrong shape taken on trust.
 */

export interface RowRef {
  readonly path: string;
  readonly table: string;
  /** How to find the row, e.g. `idp_id "00u1abc"` or `seq 42`. */
  readonly key: string;
  readonly column: string;
}

/** A JSON column, as text or, for run results since schema 3, gzip-compressed text (see packed-json.ts). */
export function parseRow<T>(stored: string | Uint8Array, ref: RowRef, check: (v: unknown) => v is T, shape: string): T {
  let text: string;
  if (typeof stored === 'string') text = stored;
  else {
    try {
      text = gunzipSync(stored).toString('utf8');
    } catch {
      throw damaged(ref, 'is not valid compressed JSON');
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(ref, 'is not valid JSON');
  }
  if (!check(value)) throw damaged(ref, `is not ${shape}`);
  return value;
}

function damaged(ref: RowRef, why: string): StateError {
  // The row's content stays out of the message: it may hold a person's data, and it is garbage.
  return new StateError(
    `the state file ${ref.path} has a damaged row: table ${ref.table}, ${ref.key}, column ${ref.column} ${why}`,
    `the file was edited outside docker-idp-sync or damaged on disk; ${REBUILD_HINT}`,
    undefined,
    'damaged',
    'read state',
  );
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/**
 * The last applied attributes of a link. role and org may be null: a link rebuilt from a Docker
 * that did not echo its extension records them as unknown (reconcile/rebuild.ts), and the planner
 * then writes the IdP's values. A role is any text here, not only one of DOCKER_ROLES: files written
 * before rebuilds checked it hold whatever Docker echoed, and the planner already treats an
 * unknown role as a difference to correct, so refusing the file would gain nothing. `email` is
 * absent in files written before it was sent, and whenever the address is the userName.
 */
export function isApplied(v: unknown): v is AppliedState {
  return (
    isObject(v) &&
    isText(v.userName) &&
    isTextOrNull(v.givenName) &&
    isTextOrNull(v.familyName) &&
    typeof v.active === 'boolean' &&
    isTextOrNull(v.role) &&
    isTextOrNull(v.org) &&
    isTextOrNull(v.team) &&
    (v.email === undefined || isText(v.email)) &&
    Array.isArray(v.teams) &&
    v.teams.every(isText)
  );
}

export interface RunLockRow {
  readonly pid: number;
  readonly host: string;
  readonly run: string;
  readonly since: string;
  readonly heartbeat: string;
  /** Tells this holder from another lock taken by the same process; absent in rows written before it existed. */
  readonly token?: string;
  /** When the holding process started: tells it from an earlier process with the same pid (see holder.ts). */
  readonly started?: string;
}

export function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function isRunLock(v: unknown): v is RunLockRow {
  return isObject(v) && Number.isInteger(v.pid) && isText(v.host) && isText(v.run) && isText(v.since) && isText(v.heartbeat) && !Number.isNaN(Date.parse(v.heartbeat)) && (v.token === undefined || isText(v.token)) && (v.started === undefined || isText(v.started));
}

/**
 * A stored run result (plan and results), as `report` reprints it. The plan's parts the renderers
 * walk are checked; the rest is the program's own output, read back as written.
 */
export function isRunResult(v: unknown): v is RunResult {
  if (!isObject(v) || !isObject(v.plan)) return false;
  const plan = v.plan;
  return (
    isText(v.runId) &&
    isText(v.status) &&
    isText(v.finishedAt) &&
    Array.isArray(v.results) &&
    Array.isArray(v.recovered) &&
    isText(plan.source) &&
    Array.isArray(plan.operations) &&
    plan.operations.every(isObject) &&
    Array.isArray(plan.findings) &&
    isObject(plan.counts) &&
    isObject(plan.safety)
  );
}
