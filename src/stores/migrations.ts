/**
 * The one migration runner of every SQL store. A store describes how to read its version,
 * lock out other migrators and apply one step; this decides what to apply, in order, once,
 * and refuses a database migrated by a newer tracks. Reads never migrate: they ask
 * {@link readableVersion} instead.
 */
import { StoreError } from '../model/store-error.js';

/** What a SQL store gives the migration runner. */
export interface MigrationTarget {
  /** `sqlite:/srv/tracks.db`, for messages. */
  readonly description: string;
  /** The version recorded in `tracks_schema_version`, or 0 when tracks has no tables there. */
  installedVersion(): Promise<number>;
  /** Runs `fn` in one transaction holding the store's migration lock (one migrator at a time). */
  locked(fn: () => Promise<void>): Promise<void>;
  /** Creates the schema (if any) and `tracks_schema_version`; runs inside the lock. */
  prepare(): Promise<void>;
  /**
   * Applies the migrations in order and records each one's version; runs inside the lock. All
   * at once, so that a store whose server may be far away (PostgreSQL) sends them in one round
   * trip rather than two per step.
   */
  apply(steps: readonly MigrationStep[]): Promise<void>;
}

/** One migration to apply: its SQL and the version it brings the store to. */
export interface MigrationStep {
  readonly sql: string;
  readonly version: number;
}

/** Brings the store's tables to the latest version; does nothing, and locks nothing, when they are current. */
export async function migrate(target: MigrationTarget, migrations: readonly string[]): Promise<void> {
  if (isCurrent(target, await target.installedVersion(), migrations.length)) return;
  await target.locked(async () => {
    await target.prepare();
    // Read again under the lock: another process may have migrated meanwhile.
    const current = await target.installedVersion();
    if (isCurrent(target, current, migrations.length)) return;
    await target.apply(migrations.slice(current).map((sql, i) => ({ sql, version: current + 1 + i })));
  });
}

/**
 * Whether a read may go ahead on `version`: 'empty' when the store holds no tracks tables,
 * 'current' when this version reads it: its own schema, or one from `oldestReadable` on (the
 * migrations since changed only how rows are written); throws a StoreError for an older or
 * newer schema, but for a read of the controls (`controls`), which goes ahead on a newer one.
 *
 * Controls are the kill switch: a process of an older tracks that starts on a store a newer
 * one migrated (a rollback, a rolling deploy) must still honour a stop or a ramp, so
 * migrations only ever add columns to `tracks_control`, and the columns an older version
 * reads keep their meaning.
 */
export function readableVersion(description: string, version: number, latest: number, oldestReadable = latest, read: 'data' | 'controls' = 'data'): 'empty' | 'current' {
  if (version === 0) return 'empty';
  if (version > latest) {
    if (read === 'controls') return 'current';
    throw newerSchema(description, version, latest);
  }
  if (version >= oldestReadable) return 'current';
  throw new StoreError(
    `tracks: ${description} has schema version ${version}, older than this tracks (${latest}); ` +
      'it is upgraded when a process of this version first records to it',
    { transient: true, code: 'TRACKS_SCHEMA' },
  );
}

/** The error every read of an empty store gives: the store is there but holds no tracks data. */
export function noTracksData(description: string, fix = 'check the store, or record some runs first'): StoreError {
  return new StoreError(`tracks: ${description} holds no tracks data (no tracks_ tables); ${fix}`, {
    transient: false,
    code: 'TRACKS_NO_DATA',
  });
}

function isCurrent(target: MigrationTarget, version: number, latest: number): boolean {
  if (version > latest) throw newerSchema(target.description, version, latest);
  return version === latest;
}

/**
 * A database migrated by a newer tracks (a rollback during a deploy, say). Transient: the
 * store as a whole refuses, not one event, so events wait or spill until this process is
 * upgraded; they are never quarantined for it.
 */
function newerSchema(description: string, version: number, latest: number): StoreError {
  return new StoreError(`tracks: ${description} has schema version ${version}, newer than this tracks (${latest}); upgrade tracks`, {
    transient: true,
    code: 'TRACKS_SCHEMA',
  });
}
