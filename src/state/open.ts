import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { StateError } from './errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import { StateStore } from './store.ts';

/**
 * Opening the state file. A real run opens it for writing (created 0600 in a 0700 folder: it maps
 * people to accounts), in WAL mode with full fsync so a journal row survives a kill. A dry run never
 * writes: it reads the file read-only into an in-memory copy and works on that, so the file stays
 * byte-for-byte the same (invariant 5) even when the copy needs a migration.
 */

export interface OpenStateOptions {
  path: string;
  dryRun?: boolean;
  clock?: () => Date;
  /** How long to wait for another process's write lock before giving up. */
  busyTimeoutMs?: number;
}

const REBUILD_HINT = 'restore the file from a backup, or move it aside and run `docker-idp-sync state rebuild` to re-link accounts from Docker by userName (try it with --dry-run first)';

export function openState(opts: OpenStateOptions): StateStore {
  return opts.dryRun ? openCopy(opts) : openForWrite(opts);
}

function openForWrite(opts: OpenStateOptions): StateStore {
  const path = opts.path;
  const dir = dirname(path);
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
    else if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StateError(`cannot create the state file ${path}: ${(err as Error).message}`, 'make STATE_DB point to a writable persistent location (in the container: the /data volume)', err);
    }
  }
  let db: Database;
  try {
    db = new BetterSqlite3(path, { fileMustExist: true, timeout: opts.busyTimeoutMs ?? 5_000 });
  } catch (err) {
    throw translate(err, path);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, path);
  } catch (err) {
    db.close();
    throw translate(err, path);
  }
  return new StateStore(db, path, false, opts.clock);
}

function openCopy(opts: OpenStateOptions): StateStore {
  let db: Database;
  if (!existsSync(opts.path)) {
    db = new BetterSqlite3(':memory:');
  } else {
    try {
      // With no WAL beside it (the last writer closed cleanly) the file alone is the whole
      // database: read its bytes without SQLite. With a WAL (a writer is running, or one was
      // killed) SQLite must read it to see every commit.
      const image = existsSync(`${opts.path}-wal`) ? readThroughCopy(opts.path, opts.busyTimeoutMs) : readFileSync(opts.path);
      // Bytes 18–19 of the header say "WAL" (2); an in-memory database cannot use a WAL, so the
      // copy is marked as a rollback-journal database (1). The file itself is never touched.
      if (image.length >= 20) {
        image[18] = 1;
        image[19] = 1;
      }
      db = image.length === 0 ? new BetterSqlite3(':memory:') : new BetterSqlite3(image);
    } catch (err) {
      throw translate(err, opts.path);
    }
  }
  try {
    migrate(db, opts.path);
  } catch (err) {
    db.close();
    throw translate(err, opts.path);
  }
  return new StateStore(db, opts.path, true, opts.clock);
}

/**
 * Even a read-only connection rebuilds the -shm index beside the file it opens, so the file and
 * its WAL are copied to a scratch folder and read there: nothing next to the real one changes.
 */
function readThroughCopy(path: string, busyTimeoutMs: number | undefined): Buffer {
  const scratch = mkdtempSync(join(tmpdir(), 'docker-idp-sync-dryrun-'));
  let source: Database | null = null;
  try {
    const copy = join(scratch, 'state.db');
    copyFileSync(path, copy);
    copyFileSync(`${path}-wal`, `${copy}-wal`);
    source = new BetterSqlite3(copy, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs ?? 5_000 });
    return source.serialize();
  } finally {
    source?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function migrate(db: Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new StateError(
      `the state file ${path} has schema version ${version}, newer than this program understands (${SCHEMA_VERSION})`,
      'run the newer docker-idp-sync that wrote it, or restore a backup made by this version',
    );
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  // Touch the schema so a corrupt file fails here, with a clear message, and not mid-run.
  db.prepare('SELECT count(*) FROM links').get();
}

function translate(err: unknown, path: string): Error {
  if (err instanceof StateError) return err;
  const code = (err as { code?: string }).code ?? '';
  const msg = (err as Error).message ?? String(err);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || /not a database|malformed/i.test(msg)) {
    return new StateError(`the state file ${path} is corrupt or not a docker-idp-sync database (${msg})`, REBUILD_HINT, err);
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || /locked/i.test(msg)) {
    return new StateError(`the state file ${path} is locked by another process (${msg})`, 'another docker-idp-sync is running against this file; wait for it, or stop it (only one instance may use a state file)', err);
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    return new StateError(`the state file ${path} cannot be opened (${msg})`, 'check that the file and its folder exist and are writable by this user', err);
  }
  return new StateError(`the state file ${path} cannot be used: ${msg}`, REBUILD_HINT, err);
}
