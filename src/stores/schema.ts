/**
 * The tables tracks keeps, as migrations: each store applies the ones newer than the version
 * in `tracks_schema_version`, inside a lock, so processes starting together migrate once.
 * Both dialects hold the same tables and columns; times are epoch milliseconds.
 */

/** The schema version this library writes. */
export const SCHEMA_VERSION = 1;

/** SQLite migrations; index i brings the schema to version i + 1. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS tracks_exposures (
    track_set_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    track TEXT NOT NULL,
    at INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (track_set_id, unit)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS tracks_conversions (
    event_id TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS tracks_conversions_unit ON tracks_conversions (unit, at);
  CREATE TABLE IF NOT EXISTS tracks_health (
    event_id TEXT PRIMARY KEY,
    track_set_id TEXT NOT NULL,
    track TEXT NOT NULL,
    minute INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    total_ms REAL NOT NULL,
    histogram TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS tracks_health_minute ON tracks_health (track_set_id, track, minute);
  CREATE TABLE IF NOT EXISTS tracks_definitions (
    event_id TEXT PRIMARY KEY,
    track_set_id TEXT NOT NULL,
    weights TEXT NOT NULL,
    coverage REAL NOT NULL,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS tracks_guardrails (
    event_id TEXT PRIMARY KEY,
    track_set_id TEXT NOT NULL,
    track TEXT NOT NULL,
    cause TEXT NOT NULL,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS tracks_controls (
    track_set_id TEXT PRIMARY KEY,
    stopped INTEGER NOT NULL,
    serve TEXT,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];

/** PostgreSQL migrations; `{s}` is replaced by the quoted schema name. */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS {s}.tracks_exposures (
    track_set_id text NOT NULL,
    unit text NOT NULL,
    track text NOT NULL,
    at bigint NOT NULL,
    event_id text NOT NULL,
    PRIMARY KEY (track_set_id, unit)
  );
  CREATE TABLE IF NOT EXISTS {s}.tracks_conversions (
    event_id text PRIMARY KEY,
    unit text NOT NULL,
    metric text NOT NULL,
    value double precision NOT NULL,
    at bigint NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tracks_conversions_unit ON {s}.tracks_conversions (unit, at);
  CREATE TABLE IF NOT EXISTS {s}.tracks_health (
    event_id text PRIMARY KEY,
    track_set_id text NOT NULL,
    track text NOT NULL,
    minute bigint NOT NULL,
    runs bigint NOT NULL,
    errors bigint NOT NULL,
    total_ms double precision NOT NULL,
    histogram text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tracks_health_minute ON {s}.tracks_health (track_set_id, track, minute);
  CREATE TABLE IF NOT EXISTS {s}.tracks_definitions (
    event_id text PRIMARY KEY,
    track_set_id text NOT NULL,
    weights text NOT NULL,
    coverage double precision NOT NULL,
    at bigint NOT NULL
  );
  CREATE TABLE IF NOT EXISTS {s}.tracks_guardrails (
    event_id text PRIMARY KEY,
    track_set_id text NOT NULL,
    track text NOT NULL,
    cause text NOT NULL,
    at bigint NOT NULL
  );
  CREATE TABLE IF NOT EXISTS {s}.tracks_controls (
    track_set_id text PRIMARY KEY,
    stopped boolean NOT NULL,
    serve text,
    at bigint NOT NULL
  );
  `,
];
