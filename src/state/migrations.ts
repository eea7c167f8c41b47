/**
 * Versioned schema. Each entry moves the database from version i to i+1 inside a transaction, and
 * PRAGMA user_version records where it stands, so an old state file upgrades in place and a newer
 * one is refused rather than misread.
 */
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;
