/**
 * The tables tracks keeps, as migrations: each store applies the ones newer than the version
 * in `tracks_schema_version`, inside a lock, so processes starting together migrate once.
 * Both dialects hold the same event tables and columns; times are epoch milliseconds.
 * Both keep users per set, phase, track, dimensions and day in tracks_exposure_counts, by
 * trigger (SQLite migration 8, PostgreSQL 2 and 9); PostgreSQL also keeps tracks_unit_totals.
 */

// SQLite's triggers cannot call one another: the statements the insert, delete and update
// triggers of tracks_exposure_counts share (migration 8).
const COUNT_NEW_EXPOSURE = `    INSERT INTO tracks_exposure_counts VALUES
      (NEW.track_set_id, COALESCE(NEW.phase, ''), NEW.track, COALESCE(NEW.dimensions, ''), NEW.at / 86400000, 1, NEW.at, NEW.at)
      ON CONFLICT DO UPDATE SET users = users + 1, first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at);`;
const UNCOUNT_OLD_EXPOSURE = `    UPDATE tracks_exposure_counts SET users = users - 1
      WHERE track_set_id = OLD.track_set_id AND phase = COALESCE(OLD.phase, '') AND track = OLD.track
        AND dimensions = COALESCE(OLD.dimensions, '') AND day = OLD.at / 86400000;
    DELETE FROM tracks_exposure_counts
      WHERE track_set_id = OLD.track_set_id AND phase = COALESCE(OLD.phase, '') AND track = OLD.track
        AND dimensions = COALESCE(OLD.dimensions, '') AND day = OLD.at / 86400000 AND users <= 0;`;

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
  // Version 2: each definition names the set's baseline (static control), so reports and
  // `tracks stop` use it with no flag. NULL in rows of version 1.
  `ALTER TABLE tracks_definitions ADD COLUMN control TEXT;`,
  // Version 3: phases. An exposure and a definition name the phase (configuration) the process
  // assigned under, and the control state carries live coverage and weights (a ramp) and an
  // epoch that every change raises. Rows written before have no phase: the phase ''.
  `
  ALTER TABLE tracks_exposures ADD COLUMN phase TEXT;
  ALTER TABLE tracks_definitions ADD COLUMN phase TEXT;
  ALTER TABLE tracks_definitions ADD COLUMN sticky INTEGER;
  ALTER TABLE tracks_controls ADD COLUMN coverage REAL;
  ALTER TABLE tracks_controls ADD COLUMN weights TEXT;
  ALTER TABLE tracks_controls ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  `,
  // Version 4: metric declarations (configure({ metrics })), the latest per name wins; and
  // whether a phase began with a stop.
  `
  ALTER TABLE tracks_definitions ADD COLUMN stopped INTEGER;
  CREATE TABLE tracks_metrics (
    event_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    metric_kind TEXT NOT NULL,
    numerator TEXT,
    denominator TEXT,
    higher_is_better INTEGER,
    guardrail INTEGER NOT NULL,
    at INTEGER NOT NULL
  );
  `,
  // Version 5: a metric declaration's cuped window and cap (JSON), for the report; an
  // exposure's segments (static dimensions(context), JSON); a holdout's definition marked.
  `
  ALTER TABLE tracks_metrics ADD COLUMN analysis TEXT;
  ALTER TABLE tracks_exposures ADD COLUMN dimensions TEXT;
  ALTER TABLE tracks_definitions ADD COLUMN holdout INTEGER;
  `,
  // Version 6: indexes for the report. Conversions by unit and metric, covering the values, so
  // the join of exposures with conversions reads each user's conversions in metric order from
  // the index alone (it replaces the index by unit and time); exposures by set, phase, track and
  // dimensions, so users are counted per track (and segment) without sorting the exposures.
  `
  DROP INDEX IF EXISTS tracks_conversions_unit;
  CREATE INDEX IF NOT EXISTS tracks_conversions_unit_metric ON tracks_conversions (unit, metric, at, value);
  CREATE INDEX IF NOT EXISTS tracks_exposures_cell ON tracks_exposures (track_set_id, phase, track, dimensions, at);
  `,
  // Version 7: shadow tracks. Per candidate and minute, how its shadow runs ended and both
  // paths' latency on them; a bounded sample of mismatches; and a set's promotion to a live
  // test in its control state.
  `
  CREATE TABLE IF NOT EXISTS tracks_shadow (
    event_id TEXT PRIMARY KEY,
    track_set_id TEXT NOT NULL,
    track TEXT NOT NULL,
    minute INTEGER NOT NULL,
    matches INTEGER NOT NULL,
    mismatches INTEGER NOT NULL,
    ignored INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    timeouts INTEGER NOT NULL,
    skipped_concurrency INTEGER NOT NULL,
    skipped_guardrail INTEGER NOT NULL,
    baseline_histogram TEXT NOT NULL,
    candidate_histogram TEXT NOT NULL,
    slower_histogram TEXT NOT NULL,
    faster_histogram TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS tracks_shadow_set ON tracks_shadow (track_set_id, track, minute);
  CREATE TABLE IF NOT EXISTS tracks_shadow_samples (
    event_id TEXT PRIMARY KEY,
    track_set_id TEXT NOT NULL,
    track TEXT NOT NULL,
    at INTEGER NOT NULL,
    input TEXT NOT NULL,
    baseline TEXT NOT NULL,
    candidate TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS tracks_shadow_samples_set ON tracks_shadow_samples (track_set_id, at);
  ALTER TABLE tracks_controls ADD COLUMN promoted INTEGER NOT NULL DEFAULT 0;
  `,
  // Version 8: users per set, phase, track, dimensions and day, kept by triggers (as
  // PostgreSQL's tracks_exposure_counts), in place of the index tracks_exposures_cell: the
  // report reads a few rows instead of a million index entries, and an exposure costs about
  // a third less to write (an upsert of a cached row, not an insert into a second b-tree).
  // Triggers, not the writer, so rows any tool inserts, deletes or updates are counted once.
  // After a delete, a group's first_at and last_at stay as they were (bounds, not recomputed:
  // that would scan the exposures for each row deleted).
  `
  CREATE TABLE tracks_exposure_counts (
    track_set_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    track TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    day INTEGER NOT NULL,
    users INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (track_set_id, phase, track, dimensions, day)
  ) WITHOUT ROWID;
  INSERT INTO tracks_exposure_counts
    SELECT track_set_id, COALESCE(phase, ''), track, COALESCE(dimensions, ''), at / 86400000, COUNT(*), MIN(at), MAX(at)
    FROM tracks_exposures GROUP BY 1, 2, 3, 4, 5;
  CREATE TRIGGER tracks_count_exposure AFTER INSERT ON tracks_exposures BEGIN
${COUNT_NEW_EXPOSURE}
  END;
  CREATE TRIGGER tracks_uncount_exposure AFTER DELETE ON tracks_exposures BEGIN
${UNCOUNT_OLD_EXPOSURE}
  END;
  CREATE TRIGGER tracks_recount_exposure AFTER UPDATE OF track_set_id, phase, track, dimensions, at ON tracks_exposures BEGIN
${UNCOUNT_OLD_EXPOSURE}
${COUNT_NEW_EXPOSURE}
  END;
  DROP INDEX IF EXISTS tracks_exposures_cell;
  `,
  // Version 9: the store's writer counts the exposures it inserts itself, per batch and in the
  // same transaction (exposure-counting.ts), and marks their rows counted = 1; the trigger skips a
  // marked row only while tracks_writer_counting has a row, which the writer's transaction
  // inserts and deletes before it commits. So every other row is counted by the trigger, a
  // marked one too (a copy of rows with SELECT *, from another store). A trigger program per
  // row was a third of an exposure's cost to SQLite: +20% exposures/s in key order.
  `
  ALTER TABLE tracks_exposures ADD COLUMN counted INTEGER;
  CREATE TABLE tracks_writer_counting (since INTEGER NOT NULL);
  DROP TRIGGER tracks_count_exposure;
  CREATE TRIGGER tracks_count_exposure AFTER INSERT ON tracks_exposures
    WHEN NEW.counted IS NULL OR NOT EXISTS (SELECT 1 FROM tracks_writer_counting) BEGIN
${COUNT_NEW_EXPOSURE}
  END;
  `,
  // Version 10: whether a phase runs in shadow mode, in its definition (a phase without users
  // cannot tell otherwise: a stop of a promoted set read as a shadow phase). NULL in older rows.
  `ALTER TABLE tracks_definitions ADD COLUMN shadow INTEGER;`,
];

/**
 * The oldest SQLite schema this version reads as it is (reads never migrate): migration 9
 * changed only how the store's writer counts exposures, and a store without migration 10's
 * column reads its phases' shadow mode as not recorded (sqlite-summary.ts), so a store of
 * version 8 reads the same until a process of this version records to it.
 */
export const SQLITE_OLDEST_READABLE = 8;

/**
 * Columns SQLite's tables have beyond their kind's description (model/event-tables.ts): the
 * writer's bookkeeping. `counted` marks exposures the writer counted itself (migration 9).
 */
export const SQLITE_BOOKKEEPING_COLUMNS: Readonly<Record<string, readonly string[]>> = { tracks_exposures: ['counted'] };

/**
 * The oldest PostgreSQL schema this version reads as it is (reads never migrate): a store of
 * version 9 lacks only migration 10's column, whose phases' shadow mode then reads as not
 * recorded.
 */
export const POSTGRES_OLDEST_READABLE = 9;
// (Version 11 changed a trigger only: stores of 9 and 10 read as they are.)

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
  // Version 2: summary tables kept by triggers, so a report reads exposure counts from a few
  // rows and joins exposures with one pre-added row per (unit, metric) instead of every
  // conversion. On PostgreSQL the per-user grouping of the raw join was most of a report's time.
  // Triggers (not the store's write path) keep them, so rows inserted, deleted or truncated by
  // any tool, or by an older tracks still running during a deploy, are counted exactly once, in
  // the same transaction as the event rows. Inserts only add (commutative, so concurrent writers
  // need no lock beyond the rows they touch, taken in key order); a delete or update recomputes
  // the groups it touched. Exposure counts are kept per shard of the writing connection
  // (backend pid % 64) and added up when read: every batch touches the same few (set, track,
  // day) groups, and one row per group made concurrent writers wait for each other's commits.
  `
  LOCK TABLE {s}.tracks_exposures, {s}.tracks_conversions IN SHARE ROW EXCLUSIVE MODE;
  CREATE TABLE {s}.tracks_exposure_counts (
    track_set_id text NOT NULL,
    track text NOT NULL,
    day integer NOT NULL,
    shard integer NOT NULL,
    users bigint NOT NULL,
    first_at bigint NOT NULL,
    last_at bigint NOT NULL,
    PRIMARY KEY (track_set_id, track, day, shard)
  );
  CREATE TABLE {s}.tracks_unit_totals (
    unit text NOT NULL,
    metric text NOT NULL,
    total double precision NOT NULL,
    first_at bigint NOT NULL,
    last_at bigint NOT NULL,
    PRIMARY KEY (unit, metric)
  );
  INSERT INTO {s}.tracks_exposure_counts
    SELECT track_set_id, track, (at / 86400000)::integer, 0, COUNT(*), MIN(at), MAX(at)
    FROM {s}.tracks_exposures GROUP BY 1, 2, 3;
  INSERT INTO {s}.tracks_unit_totals
    SELECT unit, metric, SUM(value), MIN(at), MAX(at) FROM {s}.tracks_conversions GROUP BY 1, 2;

  CREATE FUNCTION {s}.tracks_add_exposures() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO {s}.tracks_exposure_counts AS t
      SELECT track_set_id, track, (at / 86400000)::integer, pg_backend_pid() % 64, COUNT(*), MIN(at), MAX(at)
      FROM added GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (track_set_id, track, day, shard) DO UPDATE SET users = t.users + excluded.users,
        first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at);
    RETURN NULL;
  END $$;
  CREATE FUNCTION {s}.tracks_recount_sets(sets text[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM {s}.tracks_exposure_counts WHERE track_set_id = ANY(sets);
    INSERT INTO {s}.tracks_exposure_counts
      SELECT track_set_id, track, (at / 86400000)::integer, 0, COUNT(*), MIN(at), MAX(at)
      FROM {s}.tracks_exposures WHERE track_set_id = ANY(sets) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
  $$;
  CREATE FUNCTION {s}.tracks_add_conversions() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO {s}.tracks_unit_totals AS t
      SELECT unit, metric, SUM(value), MIN(at), MAX(at) FROM added GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (unit, metric) DO UPDATE SET total = t.total + excluded.total,
        first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at);
    RETURN NULL;
  END $$;
  CREATE FUNCTION {s}.tracks_retotal_units(units text[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM {s}.tracks_unit_totals WHERE unit = ANY(units);
    INSERT INTO {s}.tracks_unit_totals
      SELECT unit, metric, SUM(value), MIN(at), MAX(at) FROM {s}.tracks_conversions
      WHERE unit = ANY(units) GROUP BY 1, 2 ORDER BY 1, 2;
  $$;
  -- After a delete or update, the groups of the rows it touched are recomputed from the event
  -- table (an update fires twice: for the rows as they were and as they are).
  CREATE FUNCTION {s}.tracks_recompute_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_TABLE_NAME = 'tracks_exposures' THEN
      PERFORM {s}.tracks_recount_sets(ARRAY(SELECT DISTINCT track_set_id FROM touched));
    ELSE
      PERFORM {s}.tracks_retotal_units(ARRAY(SELECT DISTINCT unit FROM touched));
    END IF;
    RETURN NULL;
  END $$;
  CREATE FUNCTION {s}.tracks_clear_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_TABLE_NAME = 'tracks_exposures' THEN
      DELETE FROM {s}.tracks_exposure_counts;
    ELSE
      DELETE FROM {s}.tracks_unit_totals;
    END IF;
    RETURN NULL;
  END $$;

  CREATE TRIGGER tracks_add_exposures AFTER INSERT ON {s}.tracks_exposures
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_add_exposures();
  CREATE TRIGGER tracks_recount_deleted AFTER DELETE ON {s}.tracks_exposures
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_recompute_summaries();
  CREATE TRIGGER tracks_recount_updated_from AFTER UPDATE ON {s}.tracks_exposures
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_recompute_summaries();
  CREATE TRIGGER tracks_recount_updated_to AFTER UPDATE ON {s}.tracks_exposures
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_recompute_summaries();
  CREATE TRIGGER tracks_clear_summaries AFTER TRUNCATE ON {s}.tracks_exposures
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_clear_summaries();
  CREATE TRIGGER tracks_add_conversions AFTER INSERT ON {s}.tracks_conversions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_add_conversions();
  CREATE TRIGGER tracks_retotal_deleted AFTER DELETE ON {s}.tracks_conversions
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_recompute_summaries();
  CREATE TRIGGER tracks_retotal_updated_from AFTER UPDATE ON {s}.tracks_conversions
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_recompute_summaries();
  CREATE TRIGGER tracks_retotal_updated_to AFTER UPDATE ON {s}.tracks_conversions
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_recompute_summaries();
  CREATE TRIGGER tracks_clear_summaries AFTER TRUNCATE ON {s}.tracks_conversions
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_clear_summaries();
  `,
  // Version 3: each definition names the set's baseline (static control). NULL in older rows.
  `ALTER TABLE {s}.tracks_definitions ADD COLUMN IF NOT EXISTS control text;`,
  // Version 4: phases (as SQLite's version 3), and the number of conversions in each unit's
  // totals (for count and mean metrics). Exposure counts are kept per phase too; rows of
  // earlier versions belong to the phase ''.
  `
  LOCK TABLE {s}.tracks_exposures, {s}.tracks_conversions IN SHARE ROW EXCLUSIVE MODE;
  ALTER TABLE {s}.tracks_exposures ADD COLUMN IF NOT EXISTS phase text;
  ALTER TABLE {s}.tracks_definitions ADD COLUMN IF NOT EXISTS phase text;
  ALTER TABLE {s}.tracks_definitions ADD COLUMN IF NOT EXISTS sticky integer;
  ALTER TABLE {s}.tracks_controls ADD COLUMN IF NOT EXISTS coverage double precision;
  ALTER TABLE {s}.tracks_controls ADD COLUMN IF NOT EXISTS weights text;
  ALTER TABLE {s}.tracks_controls ADD COLUMN IF NOT EXISTS epoch integer NOT NULL DEFAULT 0;
  ALTER TABLE {s}.tracks_exposure_counts ADD COLUMN phase text NOT NULL DEFAULT '';
  ALTER TABLE {s}.tracks_exposure_counts DROP CONSTRAINT tracks_exposure_counts_pkey,
    ADD PRIMARY KEY (track_set_id, track, phase, day, shard);
  ALTER TABLE {s}.tracks_unit_totals ADD COLUMN conversions bigint NOT NULL DEFAULT 0;
  UPDATE {s}.tracks_unit_totals t SET conversions = c.n
    FROM (SELECT unit, metric, COUNT(*) AS n FROM {s}.tracks_conversions GROUP BY 1, 2) c
    WHERE c.unit = t.unit AND c.metric = t.metric;

  CREATE OR REPLACE FUNCTION {s}.tracks_add_exposures() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO {s}.tracks_exposure_counts AS t (track_set_id, track, phase, day, shard, users, first_at, last_at)
      SELECT track_set_id, track, COALESCE(phase, ''), (at / 86400000)::integer, pg_backend_pid() % 64, COUNT(*), MIN(at), MAX(at)
      FROM added GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (track_set_id, track, phase, day, shard) DO UPDATE SET users = t.users + excluded.users,
        first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at);
    RETURN NULL;
  END $$;
  CREATE OR REPLACE FUNCTION {s}.tracks_recount_sets(sets text[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM {s}.tracks_exposure_counts WHERE track_set_id = ANY(sets);
    INSERT INTO {s}.tracks_exposure_counts (track_set_id, track, phase, day, shard, users, first_at, last_at)
      SELECT track_set_id, track, COALESCE(phase, ''), (at / 86400000)::integer, 0, COUNT(*), MIN(at), MAX(at)
      FROM {s}.tracks_exposures WHERE track_set_id = ANY(sets) GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
  $$;
  CREATE OR REPLACE FUNCTION {s}.tracks_add_conversions() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO {s}.tracks_unit_totals AS t (unit, metric, total, first_at, last_at, conversions)
      SELECT unit, metric, SUM(value), MIN(at), MAX(at), COUNT(*) FROM added GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (unit, metric) DO UPDATE SET total = t.total + excluded.total,
        first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at),
        conversions = t.conversions + excluded.conversions;
    RETURN NULL;
  END $$;
  CREATE OR REPLACE FUNCTION {s}.tracks_retotal_units(units text[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM {s}.tracks_unit_totals WHERE unit = ANY(units);
    INSERT INTO {s}.tracks_unit_totals (unit, metric, total, first_at, last_at, conversions)
      SELECT unit, metric, SUM(value), MIN(at), MAX(at), COUNT(*) FROM {s}.tracks_conversions
      WHERE unit = ANY(units) GROUP BY 1, 2 ORDER BY 1, 2;
  $$;
  `,
  // Version 5: metric declarations, and stopped phases, as SQLite's version 4.
  `
  ALTER TABLE {s}.tracks_definitions ADD COLUMN IF NOT EXISTS stopped integer;
  CREATE TABLE IF NOT EXISTS {s}.tracks_metrics (
    event_id text PRIMARY KEY,
    name text NOT NULL,
    metric_kind text NOT NULL,
    numerator text,
    denominator text,
    higher_is_better integer,
    guardrail integer NOT NULL,
    at bigint NOT NULL
  );
  `,
  // Version 6: metric analysis, exposure segments and the holdout mark, as SQLite's version 5.
  `
  ALTER TABLE {s}.tracks_metrics ADD COLUMN IF NOT EXISTS analysis text;
  ALTER TABLE {s}.tracks_exposures ADD COLUMN IF NOT EXISTS dimensions text;
  ALTER TABLE {s}.tracks_definitions ADD COLUMN IF NOT EXISTS holdout integer;
  `,
  // Version 7: conversions by unit and metric, with the time and value in the index (it replaces
  // the index by unit and time): the report re-adds the conversions of users who converted both
  // before and after their exposure (CUPED's returning users) with an index-only scan per user.
  `
  DROP INDEX IF EXISTS {s}.tracks_conversions_unit;
  CREATE INDEX IF NOT EXISTS tracks_conversions_unit_metric ON {s}.tracks_conversions (unit, metric, at) INCLUDE (value);
  `,
  // Version 8: shadow tracks, as SQLite's version 7.
  `
  CREATE TABLE IF NOT EXISTS {s}.tracks_shadow (
    event_id text PRIMARY KEY,
    track_set_id text NOT NULL,
    track text NOT NULL,
    minute bigint NOT NULL,
    matches bigint NOT NULL,
    mismatches bigint NOT NULL,
    ignored bigint NOT NULL,
    errors bigint NOT NULL,
    timeouts bigint NOT NULL,
    skipped_concurrency bigint NOT NULL,
    skipped_guardrail bigint NOT NULL,
    baseline_histogram text NOT NULL,
    candidate_histogram text NOT NULL,
    slower_histogram text NOT NULL,
    faster_histogram text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tracks_shadow_set ON {s}.tracks_shadow (track_set_id, track, minute);
  CREATE TABLE IF NOT EXISTS {s}.tracks_shadow_samples (
    event_id text PRIMARY KEY,
    track_set_id text NOT NULL,
    track text NOT NULL,
    at bigint NOT NULL,
    input text NOT NULL,
    baseline text NOT NULL,
    candidate text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tracks_shadow_samples_set ON {s}.tracks_shadow_samples (track_set_id, at);
  ALTER TABLE {s}.tracks_controls ADD COLUMN IF NOT EXISTS promoted boolean NOT NULL DEFAULT false;
  `,
  // Version 9: exposure counts kept per dimensions too (as SQLite's version 8): a report by
  // segment adds up a few rows instead of grouping every exposure (0.5 s a million), and the
  // names of a set's dimensions come from them. Recounted from the exposures once, here.
  `
  LOCK TABLE {s}.tracks_exposures IN SHARE ROW EXCLUSIVE MODE;
  ALTER TABLE {s}.tracks_exposure_counts ADD COLUMN dimensions text NOT NULL DEFAULT '';
  ALTER TABLE {s}.tracks_exposure_counts DROP CONSTRAINT tracks_exposure_counts_pkey,
    ADD PRIMARY KEY (track_set_id, track, phase, dimensions, day, shard);
  CREATE OR REPLACE FUNCTION {s}.tracks_add_exposures() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO {s}.tracks_exposure_counts AS t (track_set_id, track, phase, dimensions, day, shard, users, first_at, last_at)
      SELECT track_set_id, track, COALESCE(phase, ''), COALESCE(dimensions, ''), (at / 86400000)::integer, pg_backend_pid() % 64, COUNT(*), MIN(at), MAX(at)
      FROM added GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (track_set_id, track, phase, dimensions, day, shard) DO UPDATE SET users = t.users + excluded.users,
        first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at);
    RETURN NULL;
  END $$;
  CREATE OR REPLACE FUNCTION {s}.tracks_recount_sets(sets text[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM {s}.tracks_exposure_counts WHERE track_set_id = ANY(sets);
    INSERT INTO {s}.tracks_exposure_counts (track_set_id, track, phase, dimensions, day, shard, users, first_at, last_at)
      SELECT track_set_id, track, COALESCE(phase, ''), COALESCE(dimensions, ''), (at / 86400000)::integer, 0, COUNT(*), MIN(at), MAX(at)
      FROM {s}.tracks_exposures WHERE track_set_id = ANY(sets) GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
  $$;
  SELECT {s}.tracks_recount_sets(ARRAY(SELECT DISTINCT track_set_id FROM {s}.tracks_exposure_counts));
  `,
  // Version 10: whether a phase runs in shadow mode, as SQLite's version 10.
  `ALTER TABLE {s}.tracks_definitions ADD COLUMN IF NOT EXISTS shadow integer;`,
  // Version 11: an exposure replaced by an earlier one of its unit (the store keeps the
  // earliest, EVENT_TABLES' \`earliest\`) moves one user from its group to the other's: a delta
  // in this backend's shard (a group's shards are summed; one summing to 0 is left out by the
  // reads; a row of 0 is kept, as it may hold the group's lowered first_at), where the recount
  // of the whole set after an update cost a scan of the set, counted the rows an INSERT ... ON
  // CONFLICT DO UPDATE inserted twice, and raced with another writer's.
  `
  CREATE OR REPLACE FUNCTION {s}.tracks_move_exposures() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO {s}.tracks_exposure_counts AS t (track_set_id, track, phase, dimensions, day, shard, users, first_at, last_at)
      SELECT track_set_id, track, phase, dimensions, day, pg_backend_pid() % 64, SUM(n), MIN(at), MAX(at) FROM (
        SELECT track_set_id, track, COALESCE(phase, '') AS phase, COALESCE(dimensions, '') AS dimensions, (at / 86400000)::integer AS day, -1 AS n, at FROM moved_from
        UNION ALL
        SELECT track_set_id, track, COALESCE(phase, ''), COALESCE(dimensions, ''), (at / 86400000)::integer, 1, at FROM moved_to
      ) d GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (track_set_id, track, phase, dimensions, day, shard) DO UPDATE SET users = t.users + excluded.users,
        first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at);
    RETURN NULL;
  END $$;
  DROP TRIGGER IF EXISTS tracks_recount_updated_from ON {s}.tracks_exposures;
  DROP TRIGGER IF EXISTS tracks_recount_updated_to ON {s}.tracks_exposures;
  CREATE TRIGGER tracks_move_exposures AFTER UPDATE ON {s}.tracks_exposures
    REFERENCING OLD TABLE AS moved_from NEW TABLE AS moved_to FOR EACH STATEMENT EXECUTE FUNCTION {s}.tracks_move_exposures();
  `,
];
