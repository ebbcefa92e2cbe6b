import type { StickyAssignment, Store } from '../model/store.js';
import type { UnitOfKey } from '../model/unit.js';
import { fnv1aUnits, murmur3Units } from '../core/murmur3.js';
import { monotonicNow } from './clock.js';
import { withDeadline } from './deadline.js';
import type { ErrorReporter } from './error-reporter.js';

/**
 * The tracks keys of sticky sets got first, so the hot path never waits on the store. Filled
 * from this process's own exposures, and from the store: a key new to the process is looked
 * up in the background (batched, under the write deadline), and until the answer comes it is
 * served its current assignment (the store keeps the first track recorded, so analysis is
 * unaffected). Bounded in entries and in bytes; the oldest tenth goes first. Keys waiting for
 * a lookup are bounded too ({@link MAX_PENDING} keys, {@link MAX_PENDING_BYTES} bytes): while the
 * store is slow or down, a key past those gets its current assignment without a lookup, and is
 * looked up on a later run. A key the store has no track for is remembered as such (until this
 * process exposes it), so a sticky set's uncovered keys cost one lookup each, not one a run.
 *
 * When recording starts, the store's sticky assignments are loaded ({@link load}, up to
 * {@link LOAD_LIMIT} and half the cache's bounds, shared between the sticky sets): a returning
 * user keeps their track from a new process's first run. A SQLite file answers at once (as it
 * does for control state); other stores answer in the background, `ready()` waits for them, and
 * keys served meanwhile take the loaded track once it comes.
 */
export class StickyAssignments {
  readonly #store: Store;
  readonly #units: UnitOfKey;
  readonly #errors: ErrorReporter;
  readonly #writeTimeout: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #tracks = new Map<string, string>();
  #bytes = 0;
  #lookups = new Map<string, Set<string>>();
  #pending = 0;
  #pendingBytes = 0;
  #looking: Promise<void> | undefined;
  /** Assignments loaded from the store when recording started, by set and unit; taken into #tracks on a key's first run. */
  #loaded = new Map<string, string>();
  /**
   * While the load is on its way: the keys this process exposed meanwhile, by set and unit, so
   * the store's answer replaces the track they were served (the store keeps the first one).
   */
  #servedBeforeLoad: Map<string, string> | undefined;
  /**
   * Keys whose lookup could not be queued (too many waiting): their runs' tracks are not
   * remembered, so a later run asks. Kept as fingerprints, a few bytes each whatever the key's
   * length (a key that shares one with another is asked about again: harmless).
   */
  #unasked = new Set<number>();
  /** Bytes of #servedBeforeLoad's keys, bounded as the queue's. */
  #servedBytes = 0;
  /**
   * When the first load that succeeded started (epoch ms; undefined until one did), and each
   * set's latest reload: a reload reads what was recorded since (everything, the latest first,
   * while no load has succeeded).
   */
  #firstLoadAt: number | undefined;
  readonly #loadedAt = new Map<string, number>();
  /** Bytes of the loaded assignments (within half the cache's, as entries are within half of its entries). */
  #loadedBytes = 0;
  /** Keys queued or being looked up, and of those the ones whose track this process guessed meanwhile (remember()). */
  readonly #asking = new Set<string>();
  readonly #guesses = new Set<string>();

  constructor(store: Store, units: UnitOfKey, errors: ErrorReporter, options: { writeTimeout: number; maxEntries: number; maxBytes: number }) {
    this.#store = store;
    this.#units = units;
    this.#errors = errors;
    this.#writeTimeout = options.writeTimeout;
    this.#maxEntries = Math.max(1, options.maxEntries);
    this.#maxBytes = Math.max(1, options.maxBytes);
  }

  /** The key's first track if known; otherwise undefined, and a lookup is on its way. */
  trackOf(trackSetId: string, key: string): string | undefined {
    const entry = entryOf(trackSetId, key);
    const known = this.#tracks.get(entry);
    if (known !== undefined && !isNoTrack(known) && !isUnconfirmed(known)) return known;
    // Loaded after this process was told the store had none, or while its lookup failed (a
    // reload before a ramp): the store's track, from now on.
    if (this.#loaded.size > 0) {
      const unitEntry = entryOf(trackSetId, this.#units.of(key));
      const loaded = this.#loaded.get(unitEntry);
      if (loaded !== undefined) {
        this.#loaded.delete(unitEntry);
        this.#bytes -= entryBytes(unitEntry, loaded);
        this.#loadedBytes -= entryBytes(unitEntry, loaded);
        this.#learn(trackSetId, key, loaded);
        return loaded;
      }
    }
    if (known !== undefined && isUnconfirmed(known)) {
      // Served while a lookup failed: served again, and asked about again, until the store answers.
      if (!this.#asking.has(entry)) this.#ask(trackSetId, key, entry, true);
      return known.slice(UNCONFIRMED.length);
    }
    // Known to have no track: asked again once that answer is old (another process may have
    // exposed the key since), not on every run.
    if (known !== undefined && monotonicNow() < noTrackUntil(known)) return undefined;
    this.#ask(trackSetId, key, entry, false);
    return undefined;
  }

  /** Queues the key's lookup (`guessed`: its known track is a guess until the answer), within the queue's bounds. */
  #ask(trackSetId: string, key: string, entry: string, guessed: boolean): void {
    const size = 48 + 2 * key.length;
    if (this.#pending >= MAX_PENDING || this.#pendingBytes + size > MAX_PENDING_BYTES) {
      // A guess kept from a failed lookup is asked about on a later run; another key is not remembered.
      if (guessed) return;
      if (this.#unasked.size >= MAX_PENDING) this.#unasked.clear();
      this.#unasked.add(fingerprintOf(entry));
      return;
    }
    let keys = this.#lookups.get(trackSetId);
    if (keys === undefined) this.#lookups.set(trackSetId, (keys = new Set()));
    if (!keys.has(key)) {
      keys.add(key);
      this.#asking.add(entry);
      if (guessed) this.#guesses.add(entry);
      this.#pending++;
      this.#pendingBytes += size;
    }
    this.#lookUpSoon();
  }

  /**
   * Loads the store's sticky assignments: synchronously where the store can answer now, else in
   * the background (the promise resolves when they are in, or the read failed and was reported).
   */
  load(): Promise<void> {
    const startedAt = Date.now();
    const limit = Math.min(Math.floor(this.#maxEntries / 2), LOAD_LIMIT);
    try {
      const now = this.#store.readStickyAssignmentsNow?.(limit);
      if (now !== undefined) {
        this.#keep(now);
        this.#firstLoadAt = startedAt;
        return Promise.resolve();
      }
    } catch (error) {
      this.#errors.report('sticky', error);
    }
    const store = this.#store;
    if (store.readStickyAssignments === undefined) return Promise.resolve();
    this.#servedBeforeLoad = new Map();
    this.#servedBytes = 0;
    return withDeadline(this.#writeTimeout, `loading sticky assignments from ${store.description}`, (call) => store.readStickyAssignments!(limit, call))
      .then(
        (rows) => {
          this.#keep(rows);
          this.#firstLoadAt = startedAt;
        },
        (error: unknown) => this.#errors.report('sticky', error),
      )
      .finally(() => {
        this.#servedBeforeLoad = undefined;
        this.#servedBytes = 0;
      });
  }

  /**
   * Loads again the store's assignments of `trackSetIds` recorded since they were last loaded,
   * before a ramp or resume of theirs takes effect in this process. A user another process
   * exposed since this one loaded is unknown here: under the old assignment this process would
   * serve them the track they have (the same weights give the same track), under the new one it
   * would serve them the new assignment until their lookup answered, then theirs again. These
   * rows take the place of the oldest loaded ones when the load's bounds are reached. Within the
   * write deadline; a failure is reported and the change takes effect all the same.
   */
  async reload(trackSetIds: readonly string[]): Promise<void> {
    const store = this.#store;
    if (store.readStickyAssignments === undefined) return;
    const limit = Math.min(Math.floor(this.#maxEntries / 2), LOAD_LIMIT);
    // From a while before the last load: other processes' clocks may be behind this one's.
    const firstLoadAt = this.#firstLoadAt;
    const since = firstLoadAt === undefined ? 0 : Math.min(...trackSetIds.map((id) => this.#loadedAt.get(id) ?? firstLoadAt)) - CLOCK_MARGIN_MS;
    const startedAt = Date.now();
    try {
      const rows = await withDeadline(this.#writeTimeout, `loading sticky assignments from ${store.description}`, (call) =>
        store.readStickyAssignments!(limit, call, { trackSetIds, since }),
      );
      // A store of your own may not filter: only these sets' rows are taken.
      this.#keep(rows.filter((row) => trackSetIds.includes(row.trackSetId)), true);
      for (const id of trackSetIds) this.#loadedAt.set(id, startedAt);
    } catch (error) {
      this.#errors.report('sticky', error);
    }
  }

  /**
   * Keeps loaded assignments, within half the cache's bytes and entries (the rest is for keys as
   * they come). A key this process served before they came takes the store's track from now on.
   */
  #keep(rows: readonly StickyAssignment[], fresh = false): void {
    const served = this.#servedBeforeLoad;
    // The bytes shared between the sets as the rows are (the store shares their number): rows
    // come set by set, and the first set must not take every byte.
    const sets = new Set(rows.map((row) => row.trackSetId)).size;
    const bytesPerSet = this.#maxBytes / 2 / Math.max(1, sets);
    const used = new Map<string, number>();
    const kept = new Set<string>();
    for (const { trackSetId, unit, track } of rows) {
      const entry = entryOf(trackSetId, unit);
      const key = served?.get(entry);
      if (key !== undefined) {
        this.#learn(trackSetId, key, track);
        continue;
      }
      const size = entryBytes(entry, track);
      if (this.#loaded.has(entry)) continue;
      const setBytes = used.get(trackSetId) ?? 0;
      if (setBytes + size > bytesPerSet) continue;
      // Reloaded rows (exposed since the last load, the latest first) replace the oldest loaded
      // ones at the bound, never one of their own reload.
      if (fresh && !this.#makeRoom(size, kept)) break;
      if (this.#loaded.size >= this.#maxEntries / 2 || this.#loadedBytes + size > this.#maxBytes / 2) break;
      used.set(trackSetId, setBytes + size);
      this.#loaded.set(entry, track);
      kept.add(entry);
      this.#bytes += size;
      this.#loadedBytes += size;
    }
  }

  /**
   * Forgets the oldest loaded assignments until one of `size` bytes fits the load's bounds (half
   * the cache's entries and bytes); false when only rows of this reload (`kept`) are left.
   */
  #makeRoom(size: number, kept: ReadonlySet<string>): boolean {
    for (const [entry, track] of this.#loaded) {
      if (this.#loaded.size < this.#maxEntries / 2 && this.#loadedBytes + size <= this.#maxBytes / 2) return true;
      if (kept.has(entry)) return false;
      this.#loaded.delete(entry);
      this.#bytes -= entryBytes(entry, track);
      this.#loadedBytes -= entryBytes(entry, track);
    }
    return true;
  }

  /** Remembers the track this process exposed a key to, unless one is known (the first wins). */
  remember(trackSetId: string, key: string, track: string): void {
    const entry = entryOf(trackSetId, key);
    // Not looked up (too many lookups were waiting): not remembered either, so a later run asks.
    if (this.#unasked.size > 0 && this.#unasked.delete(fingerprintOf(entry))) return;
    const known = this.#tracks.get(entry);
    if (known !== undefined && !isNoTrack(known)) return;
    this.#learn(trackSetId, key, track);
    // Served while its lookup is on its way: a guess, until the store answers.
    if (this.#asking.has(entry)) this.#guesses.add(entry);
    const served = this.#servedBeforeLoad;
    if (served !== undefined && served.size < MAX_PENDING && this.#servedBytes + 48 + 2 * key.length <= MAX_PENDING_BYTES) {
      const unitEntry = entryOf(trackSetId, this.#units.of(key));
      if (!served.has(unitEntry)) this.#servedBytes += 48 + 2 * key.length;
      served.set(unitEntry, key);
    }
  }

  /** Resolves when the lookups asked for so far are answered (or failed). */
  async settled(): Promise<void> {
    while (this.#looking !== undefined) await this.#looking;
  }

  #lookUpSoon(): void {
    this.#looking ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#lookUp())
      .finally(() => {
        this.#looking = undefined;
        if (this.#lookups.size > 0) this.#lookUpSoon();
      });
  }

  async #lookUp(): Promise<void> {
    const lookups = this.#lookups;
    this.#lookups = new Map();
    this.#pending = 0;
    this.#pendingBytes = 0;
    for (const [trackSetId, keys] of lookups) {
      const all = [...keys];
      for (let from = 0; from < all.length; from += LOOKUP_CHUNK) {
        const byUnit = new Map(all.slice(from, from + LOOKUP_CHUNK).map((key) => [this.#units.of(key), key] as const));
        try {
          const found = await withDeadline(this.#writeTimeout, `looking up sticky assignments in ${this.#store.description}`, (call) =>
            this.#store.readAssignments(trackSetId, [...byUnit.keys()], call),
          );
          // The store's answer replaces what this process guessed while it was on its way.
          for (const [unit, track] of found) this.#learn(trackSetId, byUnit.get(unit)!, track);
          for (const key of byUnit.values()) this.#answered(trackSetId, key, false);
          // Keys the store has no track for, and this process exposed none meanwhile.
          const noTrack = `${NO_TRACK}${monotonicNow() + NO_TRACK_MS}`;
          for (const [unit, key] of byUnit) {
            if (found.has(unit)) continue;
            const known = this.#tracks.get(entryOf(trackSetId, key));
            if (known === undefined || isNoTrack(known)) this.#learn(trackSetId, key, noTrack);
            // Served after a failed lookup, and the store has no other: this process's own, from now on.
            else if (isUnconfirmed(known)) this.#learn(trackSetId, key, known.slice(UNCONFIRMED.length));
          }
        } catch (error) {
          this.#errors.report('sticky', error);
          // Not answered: a track this process guessed meanwhile (served while the lookup was on
          // its way) is kept as unconfirmed: served again, and asked about again on the key's
          // next run, so the store's track wins once it answers, and the user is not served a
          // new guess meanwhile. (Forgotten instead, a ramp during an outage served a user of
          // this process's own another track: 198 of 7,620 runs in a soak audit.) A track the
          // store gave meanwhile (a load) stays as it is.
          for (const key of byUnit.values()) this.#answered(trackSetId, key, true);
        }
      }
    }
  }

  /** A key's lookup settled: `failed`, its guessed track (if that is what is known) is kept as unconfirmed. */
  #answered(trackSetId: string, key: string, failed: boolean): void {
    const entry = entryOf(trackSetId, key);
    // Still asked for when a later run queued it again meanwhile: a guess then is one too.
    if (!this.#lookups.get(trackSetId)?.has(key)) this.#asking.delete(entry);
    if (!this.#guesses.delete(entry) || !failed) return;
    const track = this.#tracks.get(entry);
    if (track === undefined || isNoTrack(track) || isUnconfirmed(track)) return;
    this.#learn(trackSetId, key, `${UNCONFIRMED}${track}`);
  }

  #learn(trackSetId: string, key: string, track: string): void {
    const entry = entryOf(trackSetId, key);
    // What is learned now is the store's, or this process's own exposure (remember() marks a guess after).
    this.#guesses.delete(entry);
    const before = this.#tracks.get(entry);
    if (before !== undefined) {
      this.#tracks.delete(entry);
      this.#bytes -= entryBytes(entry, before);
    }
    const size = entryBytes(entry, track);
    if (this.#tracks.size >= this.#maxEntries || this.#bytes + size > this.#maxBytes) this.#evict();
    this.#tracks.set(entry, track);
    this.#bytes += size;
  }

  #evict(): void {
    let drop = Math.ceil(this.#tracks.size / 10);
    for (const [entry, track] of this.#tracks) {
      this.#tracks.delete(entry);
      this.#bytes -= entryBytes(entry, track);
      if (--drop <= 0) break;
    }
  }
}

/** The prefix of "the store holds no track for this key", then until when that answer holds (track names never start with NUL). */
const NO_TRACK = '\u0000';
/** How long a "no track" answer is trusted before the store is asked again. */
const NO_TRACK_MS = 60_000;

/**
 * The prefix of a track served while its lookup failed (track names hold no control
 * characters): served again, and looked up again, until the store answers.
 */
const UNCONFIRMED = '\u0001';

function isUnconfirmed(value: string): boolean {
  return value.startsWith(UNCONFIRMED);
}

function isNoTrack(value: string): boolean {
  return value.startsWith(NO_TRACK);
}

function noTrackUntil(value: string): number {
  return Number(value.slice(1));
}

/** Most keys waiting for a lookup. */
const MAX_PENDING = 10_000;
/** Most bytes of keys waiting for a lookup, estimated. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** Most sticky assignments loaded when recording starts (about 25 MB at most, within the cache's bytes). */
const LOAD_LIMIT = 100_000;
/** How far before the last load a reload reads from: other processes' clocks may be behind this one's. */
const CLOCK_MARGIN_MS = 5 * 60_000;
/** Units per lookup query. */
const LOOKUP_CHUNK = 1_000;

/** 53 bits of an entry (two unrelated hashes of its UTF-16 units), exact in a double. */
function fingerprintOf(entry: string): number {
  return (murmur3Units(entry, FINGERPRINT_SEED) >>> 0) * 2 ** 21 + (fnv1aUnits(entry, FINGERPRINT_SEED) & 0x1fffff);
}

const FINGERPRINT_SEED = 0x9747b28c;

/** Set ids never hold NUL (names are checked), so the first NUL separates them from the key. */
function entryOf(trackSetId: string, key: string): string {
  return `${trackSetId}\u0000${key}`;
}

function entryBytes(entry: string, track: string): number {
  return 64 + 2 * (entry.length + track.length);
}
