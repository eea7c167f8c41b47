import { AppError } from '../model/errors.ts';

/**
 * Why the state file cannot be used. Callers branch on it: `state rebuild` moves aside only a
 * `corrupt` file, never one that is `busy` or `held` (in use) or `foreign` (another program's).
 */
export type StateFailure = 'corrupt' | 'damaged' | 'busy' | 'held' | 'foreign' | 'newer' | 'unwritable' | 'full' | 'io' | 'mismatch' | 'unusable';

/** The state file cannot be used; the hint names the way out. */
export class StateError extends AppError {
  readonly reason: StateFailure;

  constructor(message: string, hint: string, cause?: unknown, reason: StateFailure = 'unusable', operation = 'open state') {
    super(message, { system: 'state', operation, hint, ...(cause !== undefined ? { cause } : {}) });
    this.reason = reason;
  }
}

export const REBUILD_HINT =
  'restore the file from a backup, or run `docker-idp-sync state rebuild --dry-run`, then `state rebuild` (with --force if the file is still readable): it re-links accounts from Docker by userName and keeps the current file aside';

/**
 * A SQLite failure as the admin should read it: what happened to which file, and what to do.
 * SQLite's codes are the only reliable signal (its messages are terse and fixed).
 */
export function stateFailure(err: unknown, path: string, operation = 'open state'): StateError {
  if (err instanceof StateError) return err;
  const code = (err as { code?: unknown }).code;
  const sqlite = typeof code === 'string' ? code : '';
  const msg = err instanceof Error ? err.message : String(err);
  const fail = (message: string, hint: string, reason: StateFailure) => new StateError(message, hint, err, reason, operation);
  if (sqlite === 'SQLITE_FULL') {
    return fail(
      `the disk holding the state file ${path} is full (${msg}); the last change could not be recorded`,
      'free space on that disk or volume (or point STATE_DB to a larger one), then run again: writes already sent to Docker are in the journal, and the next run checks them against Docker',
      'full',
    );
  }
  if (sqlite.startsWith('SQLITE_IOERR')) {
    return fail(
      `an I/O error on the state file ${path} (${sqlite}: ${msg})`,
      'check the disk or volume holding it (kernel log, storage driver, free inodes) and that nothing else writes the file; then run again, and if the file stays unreadable, use `state rebuild`',
      'io',
    );
  }
  if (sqlite === 'SQLITE_NOTADB' || sqlite === 'SQLITE_CORRUPT' || /not a database|malformed/i.test(msg)) {
    return fail(`the state file ${path} is corrupt or not a docker-idp-sync database (${msg})`, REBUILD_HINT, 'corrupt');
  }
  if (sqlite === 'SQLITE_BUSY' || sqlite === 'SQLITE_LOCKED' || /locked/i.test(msg)) {
    return fail(
      `the state file ${path} is locked by another process (${msg})`,
      'another docker-idp-sync is running against this file; wait for it, or stop it (only one instance may use a state file)',
      'busy',
    );
  }
  // SQLite's codes, and Node's for the reads done before SQLite opens the file.
  if (['SQLITE_CANTOPEN', 'SQLITE_PERM', 'SQLITE_AUTH', 'EACCES', 'EPERM', 'EROFS', 'ENOENT', 'EISDIR'].includes(sqlite) || sqlite.startsWith('SQLITE_READONLY')) {
    return fail(`the state file ${path} cannot be opened for writing (${msg})`, 'check that the file and its folder exist and are writable by this user', 'unwritable');
  }
  return fail(`the state file ${path} cannot be used: ${msg}`, REBUILD_HINT, 'unusable');
}
