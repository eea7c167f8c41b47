import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/state/errors.ts';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/state/migrations.ts';
import { openState } from '../../src/state/open.ts';

/**
 * A file that is not a docker-idp-sync state file (STATE_DB pointing at another program's
 * database, or at a file of a newer version of this tool) is refused before anything writes to it,
 * on the write path and the dry-run path alike: same bytes, same mtime and mode, no -wal or -shm.
 */

const scratch = () => mkdtempSync(join(tmpdir(), 'state-identity-'));

/** Everything about a file and its neighbours (-wal, -shm) that a write, even a pragma or a chmod, could change. */
function fingerprint(path: string) {
  const dir = join(path, '..');
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const st = statSync(join(dir, name));
      return { name, sha: createHash('sha256').update(readFileSync(join(dir, name))).digest('hex'), mtimeMs: st.mtimeMs, mode: st.mode };
    });
}

/** A database as `build` leaves it, closed cleanly (no -wal), with an mtime in the past so any write shows. */
function sqliteFile(build: (db: BetterSqlite3.Database) => void, name = 'state.db'): string {
  const path = join(scratch(), name);
  const db = new BetterSqlite3(path);
  build(db);
  db.close();
  utimesSync(path, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
  return path;
}

function refusal(open: () => unknown): StateError {
  try {
    open();
  } catch (err) {
    expect(err).toBeInstanceOf(StateError);
    return err as StateError;
  }
  throw new Error('expected the state file to be refused');
}

const foreign: Array<[string, () => string, RegExp, StateError['reason']]> = [
  [
    "another program's database, with its own tables",
    () => sqliteFile((db) => db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (42.5);")),
    /not a docker-idp-sync state file: it holds tables this tool does not use \(invoices; user_version 0\)/,
    'foreign',
  ],
  [
    'a database marked with another application_id, even with tables named like ours',
    () => sqliteFile((db) => {
      db.exec(MIGRATIONS[0] as string);
      db.pragma('application_id = 1179403647'); // 0x464c457f
      db.pragma('user_version = 1');
    }),
    /application_id is 0x464c457f, another program's/,
    'foreign',
  ],
  [
    "another program's database in WAL mode, with a -wal beside it (its program was killed)",
    () => {
      const live = join(scratch(), 'other.db');
      const db = new BetterSqlite3(live);
      db.pragma('journal_mode = WAL');
      db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('in the wal only');");
      // A copy taken while its program holds it open: the file and a WAL with the last commits.
      const path = join(scratch(), 'state.db');
      copyFileSync(live, path);
      copyFileSync(`${live}-wal`, `${path}-wal`);
      db.close();
      for (const f of [path, `${path}-wal`]) utimesSync(f, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
      return path;
    },
    /not a docker-idp-sync state file: it holds tables this tool does not use \(notes/,
    'foreign',
  ],
  [
    'a state file of a newer version of this tool',
    () => sqliteFile((db) => {
      for (const m of MIGRATIONS) db.exec(m);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    }),
    new RegExp(`has schema version ${SCHEMA_VERSION + 1}, newer than this program understands \\(${SCHEMA_VERSION}\\); it was not changed`),
    'newer',
  ],
  [
    'a state file of a newer version from before the application_id mark (our tables, application_id 0)',
    () => sqliteFile((db) => {
      db.exec(MIGRATIONS[0] as string);
      db.pragma('user_version = 99');
    }),
    /has schema version 99, newer than this program understands/,
    'newer',
  ],
  ['a file that is not SQLite at all', () => {
    const path = join(scratch(), 'state.db');
    writeFileSync(path, 'key: value\n'.repeat(50));
    utimesSync(path, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
    return path;
  }, /is corrupt or not a docker-idp-sync database/, 'corrupt'],
];

describe('a file that is not our state file is refused and left as it was', () => {
  describe.each(foreign)('%s', (_name, make, message, reason) => {
    it.each([
      ['opened for a run', false],
      ['opened for a dry run', true],
    ])('%s: a StateError that says what it is and that it was not touched; bytes, mtime, mode and neighbours unchanged', (_how, dryRun) => {
      const path = make();
      const before = fingerprint(path);
      const err = refusal(() => openState({ path, dryRun }));
      expect(err.reason).toBe(reason);
      expect(err.message).toMatch(message);
      expect(err.message).toContain(path);
      expect(err.hint).toBeTruthy();
      // The same files (no -wal or -shm appeared), each with the same bytes, mtime and mode.
      expect(fingerprint(path)).toEqual(before);
    });
  });
});

describe('files that are ours', () => {
  it('a new file is marked with our application_id', () => {
    const path = join(scratch(), 'state.db');
    openState({ path }).close();
    const db = new BetterSqlite3(path, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    expect(APPLICATION_ID).toBe(Buffer.from('DIdS').readInt32BE(0));
  });

  it('an empty 0-byte file (left by a first open that was killed) is initialised', () => {
    const path = join(scratch(), 'state.db');
    writeFileSync(path, '');
    const s = openState({ path });
    expect(s.linkCount()).toBe(0);
    expect(s.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    s.close();
  });

  it('a file of schema version 1 (application_id 0, our tables) is ours: upgraded in place, marked, its data kept', () => {
    const path = sqliteFile((db) => {
      db.exec(MIGRATIONS[0] as string);
      db.pragma('user_version = 1');
      db.prepare("INSERT INTO meta (key, value) VALUES ('source', 'okta https://example.okta.com app 0oa1')").run();
    });
    const s = openState({ path });
    expect(s.getMeta('source')).toBe('okta https://example.okta.com app 0oa1');
    expect(s.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    s.close();
  });

  it('a dry run of a version-1 file upgrades only its private copy', () => {
    const path = sqliteFile((db) => {
      db.exec(MIGRATIONS[0] as string);
      db.pragma('user_version = 1');
    });
    const before = fingerprint(path);
    const s = openState({ path, dryRun: true });
    expect(s.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    s.close();
    expect(fingerprint(path)).toEqual(before);
  });
});
