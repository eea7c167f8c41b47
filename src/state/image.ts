import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';

/**
 * A private, in-memory copy of a state file, made without writing anything beside it: what a dry
 * run works on, and what the identity check looks into before a file is opened for writing.
 */
export function loadImage(path: string, busyTimeoutMs?: number): Database {
  // With no WAL beside it (the last writer closed cleanly) the file alone is the whole
  // database: read its bytes without SQLite. With a WAL (a writer is running, or one was
  // killed) SQLite must read it to see every commit.
  const image = existsSync(`${path}-wal`) ? readThroughCopy(path, busyTimeoutMs) : readFileSync(path);
  // Bytes 18–19 of the header say "WAL" (2); an in-memory database cannot use a WAL, so the
  // copy is marked as a rollback-journal database (1). The file itself is never touched.
  if (image.length >= 20) {
    image[18] = 1;
    image[19] = 1;
  }
  return image.length === 0 ? new BetterSqlite3(':memory:') : new BetterSqlite3(image);
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
