import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { StateError, stateFailure } from './errors.ts';
import { checkIdentity, identifyBeforeWrite, readHeader } from './identity.ts';
import { loadImage } from './image.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import { StateStore } from './store.ts';

/**
 * Opening the state file. A real run opens it for writing (created 0600 in a 0700 folder: it maps
 * people to accounts), in WAL mode with full fsync so a journal row survives a kill. A dry run never
 * writes: it reads the file read-only into an in-memory copy and works on that, so the file stays
 * byte-for-byte the same (invariant 5) even when the copy needs a migration. Either way, a file
 * that is not a docker-idp-sync state file is refused before anything touches it (identity.ts).
 */

export interface OpenStateOptions {
  path: string;
  dryRun?: boolean;
  clock?: () => Date;
  /** How long to wait for another process's write lock before giving up. */
  busyTimeoutMs?: number;
  /**
   * Applied to every message stored in the file (run errors, results, journal details), as the
   * logs are: a token a remote system echoed in an error must not live on in the state file.
   */
  scrub?: (text: string) => string;
}

export function openState(opts: OpenStateOptions): StateStore {
  return opts.dryRun ? openCopy(opts) : openForWrite(opts);
}

function openForWrite(opts: OpenStateOptions): StateStore {
  const path = opts.path;
  const dir = dirname(path);
  // Before anything is created, changed or chmod-ed: a file that is not ours stays as it was.
  identifyBeforeWrite(path, opts.busyTimeoutMs);
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
    else if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StateError(`cannot create the state file ${path}: ${(err as Error).message}`, 'make STATE_DB point to a writable persistent location (in the container: the /data volume)', err, 'unwritable');
    }
  }
  let db: Database;
  try {
    db = new BetterSqlite3(path, { fileMustExist: true, timeout: opts.busyTimeoutMs ?? 5_000 });
  } catch (err) {
    throw stateFailure(err, path);
  }
  try {
    // Checked again on the open connection, still before the first write: the file may have been
    // replaced between the look above and this open.
    checkIdentity(db, path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw stateFailure(err, path);
  }
  return new StateStore(db, path, { dryRun: false, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.scrub ? { scrub: opts.scrub } : {}) });
}

function openCopy(opts: OpenStateOptions): StateStore {
  let db: Database;
  const exists = existsSync(opts.path);
  // A file that is not SQLite at all is told as such, not as whatever SQLite makes of its bytes.
  if (exists && statSync(opts.path).size > 0) readHeader(opts.path);
  try {
    db = exists ? loadImage(opts.path, opts.busyTimeoutMs) : new BetterSqlite3(':memory:');
  } catch (err) {
    throw stateFailure(err, opts.path);
  }
  try {
    // The same refusal as the write path, so a dry run says what the real run would.
    checkIdentity(db, opts.path);
    migrate(db);
  } catch (err) {
    db.close();
    throw stateFailure(err, opts.path);
  }
  return new StateStore(db, opts.path, { dryRun: true, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.scrub ? { scrub: opts.scrub } : {}) });
}

/** Identity has been checked: the version is known and not newer than this program. */
function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  // Touch the schema so a corrupt file fails here, with a clear message, and not mid-run.
  db.prepare('SELECT count(*) FROM links').get();
}
