/**
 * Versioned schema. Each entry moves the database from version i to i+1 inside a transaction, and
 * PRAGMA user_version records where it stands, so an old state file upgrades in place and a newer
 * one is refused rather than misread.
 */

/**
 * PRAGMA application_id of every state file: "DIdS" in ASCII (0x44496453), stored in bytes 68–71
 * of the SQLite header. It lets the tool tell its own file from another program's database that
 * STATE_DB points at by mistake, from the header alone and before anything is written (see
 * identity.ts). Never change it: files in the field carry it.
 */
export const APPLICATION_ID = 0x44496453;

/** The tables of schema version 1: a file with application_id 0, these tables and no others is ours from before version 2. */
export const OWN_TABLES: readonly string[] = ['meta', 'links', 'runs', 'journal'];

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE links (
    idp_id     TEXT PRIMARY KEY,
    docker_id  TEXT NOT NULL UNIQUE,
    user_name  TEXT NOT NULL,
    origin     TEXT NOT NULL CHECK (origin IN ('created', 'adopted')),
    applied    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    forced      INTEGER NOT NULL DEFAULT 0,
    summary     TEXT,
    result      TEXT,
    error       TEXT
  );
  CREATE INDEX runs_started ON runs (started_at);
  CREATE TABLE journal (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    TEXT NOT NULL REFERENCES runs (id),
    op_id     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    idp_id    TEXT,
    user_name TEXT,
    docker_id TEXT,
    status    TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'recovered', 'abandoned')),
    detail    TEXT,
    at        TEXT NOT NULL
  );
  CREATE INDEX journal_op ON journal (run_id, op_id);
  CREATE INDEX journal_status ON journal (status);
  `,
  // 2: mark the file as ours. A file at version 1 gets the mark on its first upgrade.
  `PRAGMA application_id = ${APPLICATION_ID};`,
  // 3: runs.result may hold gzip-compressed JSON (state/packed-json.ts). No table changes;
  // the version is raised so that an older release refuses the file instead of misreading it.
  `-- runs.result: compressed JSON from schema 3 on`,
  // 4: what a run must remember of the ones before it, beside the links. drift_streaks: how many
  // runs in a row set back the same field of the same user (JIT provisioning at work, named once
  // instead of a fresh drift line every run). team_sources: which IdP group made each team, so a
  // renamed group is seen as a rename, not an emptied team beside a new one. journal_idp: one
  // person's operations (`explain`) without a scan of every run's journal.
  `
  CREATE TABLE drift_streaks (
    idp_id   TEXT NOT NULL,
    field    TEXT NOT NULL,
    runs     INTEGER NOT NULL,
    last_run TEXT NOT NULL,
    PRIMARY KEY (idp_id, field)
  );
  CREATE TABLE team_sources (
    idp_group_id TEXT PRIMARY KEY,
    team         TEXT NOT NULL
  );
  CREATE INDEX journal_idp ON journal (idp_id, seq);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
