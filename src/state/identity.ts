import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { REBUILD_HINT, StateError, stateFailure } from './errors.ts';
import { loadImage } from './image.ts';
import { APPLICATION_ID, OWN_TABLES, SCHEMA_VERSION } from './migrations.ts';

/**
 * Is this file a docker-idp-sync state file? Asked before anything writes to it: even switching a
 * database to WAL mode rewrites its header, so a wrong STATE_DB (another program's database, a
 * file from a newer version of this tool) must be recognised from a read-only look and refused
 * with the file left byte for byte as it was.
 *
 * Ours: application_id is APPLICATION_ID; or application_id 0 with exactly the tables of schema
 * version 1 (files written before the mark existed; the next upgrade marks them). Blank: no tables
 * and no version, which is what an interrupted first open leaves, so it is initialised.
 */

export type FileIdentity = 'absent' | 'blank' | 'ours';

interface Facts {
  readonly appId: number;
  readonly version: number;
  /** User tables (SQLite's own sqlite_* left out); null when only the header was read. */
  readonly tables: readonly string[] | null;
}

const NOT_TOUCHED = 'it was not changed';

/** For the write path: looks at the file without writing to it, and refuses anything not ours. */
export function identifyBeforeWrite(path: string, busyTimeoutMs?: number): FileIdentity {
  const wal = `${path}-wal`;
  if (!existsSync(path)) return 'absent';
  // An empty file holds nobody's data: it is what this tool leaves when killed between creating
  // the file and its first write, so it is initialised rather than refused.
  const empty = statSync(path).size === 0;
  if (empty && !existsSync(wal)) return 'blank';
  if (!empty) {
    // Even with a WAL beside it, the file starts with SQLite's header (a WAL holds later pages).
    const header = readHeader(path);
    // Our mark in the header is enough to open the file: no other program writes our application_id.
    // With a WAL beside it (the daemon keeps the file open between runs) a newer schema version may
    // sit in the WAL; the check on the open connection, still before any write, catches that, so
    // the file is not copied whole into memory on every run.
    if (header.appId === APPLICATION_ID) return judge({ ...header, tables: null }, path);
  }
  let db: Database;
  try {
    db = loadImage(path, busyTimeoutMs);
  } catch (err) {
    throw stateFailure(err, path);
  }
  try {
    return checkIdentity(db, path);
  } catch (err) {
    throw stateFailure(err, path);
  } finally {
    db.close();
  }
}

/** The same judgement on an open database (a private copy, or the file itself before any write). */
export function checkIdentity(db: Database, path: string): Exclude<FileIdentity, 'absent'> {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  return judge({ appId, version, tables }, path);
}

function judge(f: Facts, path: string): Exclude<FileIdentity, 'absent'> {
  const ours = f.appId === APPLICATION_ID || (f.appId === 0 && f.version >= 1 && f.tables !== null && sameSet(f.tables, OWN_TABLES));
  if (ours) {
    if (f.version > SCHEMA_VERSION) {
      throw new StateError(
        `the state file ${path} has schema version ${f.version}, newer than this program understands (${SCHEMA_VERSION}); ${NOT_TOUCHED}`,
        'run the newer docker-idp-sync that wrote it, or restore a backup made by this version',
        undefined,
        'newer',
      );
    }
    return 'ours';
  }
  if (f.appId === 0 && f.version === 0 && f.tables !== null && f.tables.length === 0) return 'blank';
  const what =
    f.appId !== 0
      ? `its SQLite application_id is 0x${(f.appId >>> 0).toString(16).padStart(8, '0')}, another program's`
      : `it holds tables this tool does not use (${(f.tables ?? []).slice(0, 5).join(', ') || 'none'}${(f.tables?.length ?? 0) > 5 ? ', …' : ''}; user_version ${f.version})`;
  throw new StateError(
    `${path} is an SQLite database but not a docker-idp-sync state file: ${what}; ${NOT_TOUCHED}`,
    'point STATE_DB to the docker-idp-sync state file, or to a new path for a fresh one (then `state rebuild` re-links accounts from Docker); never to another program\'s database',
    undefined,
    'foreign',
  );
}

/** application_id and user_version from the 100-byte SQLite header, read as plain bytes; a file without one is refused as corrupt. */
export function readHeader(path: string): { appId: number; version: number } {
  const header = Buffer.alloc(100);
  let read = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      read = readSync(fd, header, 0, 100, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw stateFailure(err, path);
  }
  if (read < 100 || header.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') {
    throw new StateError(`the state file ${path} is corrupt or not a docker-idp-sync database (it is not an SQLite file); ${NOT_TOUCHED}`, `check that STATE_DB names the state file; if it does, ${REBUILD_HINT}`, undefined, 'corrupt');
  }
  return { appId: header.readInt32BE(68), version: header.readUInt32BE(60) };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && b.every((t) => a.includes(t));
}
