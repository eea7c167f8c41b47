import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { identifyBeforeWrite } from './identity.ts';
import { loadImage } from './image.ts';
import { SCHEMA_VERSION } from './migrations.ts';

/**
 * A look at the state file that changes nothing (for `doctor`): is it there, is it ours, which IdP
 * it is bound to, when it last ran, and can this process write it. The identity check is the one a
 * run makes before its first write; the contents are read from a private in-memory copy, as a dry
 * run reads them, so not even a -shm file appears beside it.
 */
export type StateInspection =
  | { readonly kind: 'absent'; readonly path: string; /** The nearest folder that exists, and whether the file can be created there. */ readonly folder: string; readonly creatable: boolean }
  | {
      readonly kind: 'present';
      readonly path: string;
      /** blank: an empty file a killed first open left; a run initialises it. */
      readonly identity: 'ours' | 'blank';
      readonly version: number;
      /** sourceIdentity() of the IdP it belongs to; null before its first run. */
      readonly boundTo: string | null;
      readonly links: number;
      readonly lastRun: { readonly id: string; readonly status: string; readonly at: string } | null;
      readonly writable: boolean;
    };

/** Throws the StateError a run would (another program's database, a newer schema, not SQLite). */
export function inspectState(path: string): StateInspection {
  if (!existsSync(path)) {
    let folder = dirname(resolve(path));
    while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder);
    return { kind: 'absent', path, folder, creatable: statSync(folder).isDirectory() && canWrite(folder) };
  }
  const identity = identifyBeforeWrite(path);
  if (identity === 'absent') return inspectState(path);
  const writable = canWrite(path) && canWrite(dirname(resolve(path)));
  if (identity === 'blank' || statSync(path).size === 0) return { kind: 'present', path, identity: 'blank', version: 0, boundTo: null, links: 0, lastRun: null, writable };
  const db = loadImage(path);
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const has = (table: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    const boundTo = has('meta') ? ((db.prepare("SELECT value FROM meta WHERE key = 'source'").get() as { value: string } | undefined)?.value ?? null) : null;
    const links = has('links') ? (db.prepare('SELECT count(*) AS n FROM links').get() as { n: number }).n : 0;
    const run = has('runs') ? (db.prepare('SELECT id, status, coalesce(finished_at, started_at) AS at FROM runs ORDER BY started_at DESC LIMIT 1').get() as { id: string; status: string; at: string } | undefined) : undefined;
    return { kind: 'present', path, identity: 'ours', version, boundTo, links, lastRun: run ?? null, writable };
  } finally {
    db.close();
  }
}

/** The schema version this build writes; an older file is upgraded by the next run. */
export const CURRENT_SCHEMA = SCHEMA_VERSION;

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
