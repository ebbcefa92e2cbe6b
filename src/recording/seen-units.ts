import { fnv1aUnits, murmur3Units } from '../core/murmur3.js';

/**
 * A bounded set of (track set, key) pairs already exposed in this process, so a key's repeat
 * visits add nothing to the buffer. It keeps a 64-bit fingerprint of each key, not the key:
 * every entry costs the same few bytes whatever the key's length, no key string is kept alive
 * (nothing for the garbage collector to trace or promote), and a lookup is one probe of a
 * typed array instead of a string hash table's chain of pointers.
 *
 * The fingerprint is two unrelated 32-bit hashes of the key's UTF-16 code units (MurmurHash3
 * and FNV-1a, from core/murmur3.ts; keys that differ only in lone surrogates stay apart, as
 * their units do), seeded per process and per track set.
 * Two different keys share a fingerprint with probability about 2^-64 per pair; the second
 * one's exposure would then be skipped in this process. At the default bound of a million
 * keys, that is one chance in 18 trillion per new key.
 *
 * Bounded in entries and in bytes: entries are stamped with a generation, and each generation
 * holds a tenth of the bound; when a new generation begins, the oldest is forgotten. A
 * forgotten key costs one more exposure row, which the store skips as a duplicate.
 *
 * Entries are spread over {@link SHARDS} tables, shared by every track set: a table is rebuilt
 * all at once when it fills, on the request that filled it, and a million-entry table doing so
 * would stall the event loop. With 256, the largest rebuild at the default bound copies about
 * 4,000 entries (0.3-0.5 ms measured; with 32 shards it was 4 ms, 32 times in a row as the
 * evenly filled shards grew together).
 *
 * @example
 * ```ts
 * const seen = new SeenUnits(1_000_000, 64 * 1024 * 1024);
 * seen.add('delay', 'user-42'); // true: first exposure
 * seen.add('delay', 'user-42'); // false: already recorded in this process
 * ```
 */
export class SeenUnits {
  readonly #maxBytes: number;
  /** Live generations: ten, or fewer for a bound under ten entries. */
  readonly #generations: number;
  readonly #perGeneration: number;
  // One set of shards for every track set: the set's id is mixed into the seeds, so memory
  // follows the entries, not the number of sets. Shards are made on first use.
  readonly #tables = new Array<FingerprintTable | undefined>(SHARDS).fill(undefined);
  /** Each track set's seed mix, by id: no string is built per lookup on the hot path. */
  readonly #setMix = new Map<string, number>();
  /** The generation new entries get; entries of the generations - 1 before it are still live. */
  #generation: number;
  /** Entries added in each live generation, by generation % generations. */
  readonly #added: number[];
  #bytes = 0;
  readonly #seedHigh = randomSeed();
  readonly #seedLow = randomSeed();

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxBytes = Math.max(1, maxBytes);
    const bound = Math.max(1, Math.min(maxEntries, Math.floor(this.#maxBytes / ENTRY_BYTES)));
    this.#generations = Math.min(GENERATIONS, bound);
    // Rounded down: the live generations never hold more than the bound.
    this.#perGeneration = Math.floor(bound / this.#generations);
    this.#generation = this.#generations;
    this.#added = new Array<number>(this.#generations).fill(0);
  }

  /** Adds the pair; returns false when it was already there. */
  add(trackSetId: string, key: string): boolean {
    let mix = this.#setMix.get(trackSetId);
    if (mix === undefined) this.#setMix.set(trackSetId, (mix = murmur3Units(trackSetId, SET_SEED)));
    const high = murmur3Units(key, this.#seedHigh ^ mix);
    const low = fnv1aUnits(key, this.#seedLow + mix);
    const shard = low >>> SHARD_SHIFT;
    let table = this.#tables[shard];
    if (table === undefined) {
      this.#tables[shard] = table = new FingerprintTable();
      this.#bytes += table.bytes;
    }
    const before = table.bytes;
    if (!table.add(high, low, this.#generation, this.#oldest())) return false;
    this.#bytes += table.bytes - before;
    if (++this.#added[this.#generation % this.#generations]! >= this.#perGeneration) this.#nextGeneration();
    return true;
  }

  /** Live entries (at most the bound) and the bytes of the tables holding them. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#added.reduce((sum, n) => sum + n, 0), bytes: this.#bytes };
  }

  #oldest(): number {
    return this.#generation - this.#generations + 1;
  }

  /**
   * Starts a new generation, which forgets the oldest: its entries are skipped from now on and
   * their slots reused as tables fill. Constant time, except when the tables' bytes passed the
   * bound (a table keeps its size until it fills): then the tables are rebuilt to their live
   * entries, forgetting further generations until the bytes are within it.
   */
  #nextGeneration(): void {
    this.#advance();
    while (this.#bytes > this.#maxBytes + MIN_TABLES_BYTES) {
      this.#compact();
      if (this.#bytes <= this.#maxBytes + MIN_TABLES_BYTES) break;
      this.#advance();
    }
    // Stamps are int32s: long before they overflow, renumber the live ones from the bottom.
    if (this.#generation >= RENUMBER_AT) this.#compact(this.#generation - (this.#generation % this.#generations) - this.#generations);
  }

  #advance(): void {
    this.#generation++;
    this.#added[this.#generation % this.#generations] = 0;
  }

  /** Rebuilds every table to its live entries, their stamps lowered by `shift`. */
  #compact(shift = 0): void {
    const oldest = this.#oldest();
    this.#generation -= shift;
    this.#bytes = 0;
    for (const table of this.#tables) {
      if (table === undefined) continue;
      table.rebuild(oldest, shift);
      this.#bytes += table.bytes;
    }
  }
}

/** How many generations are live: forgetting the oldest forgets a tenth of the bound. */
const GENERATIONS = 10;
/** The generation at which live stamps are renumbered (int32 stamps, far from overflow). */
const RENUMBER_AT = 2 ** 30;
const SHARDS = 256;
const SHARD_SHIFT = 32 - Math.log2(SHARDS);
/** Int32s per slot: the fingerprint's two halves, the generation, and padding to 16 bytes. */
const SLOT_INTS = 4;
/**
 * What one live entry is budgeted: a table is rebuilt to hold its live entries between 1/4 and
 * 1/2 full (a power of two of 16-byte slots: 64 bytes an entry at most), and rebuilt again at
 * 3/4. The budget is what an earlier sizing (3/16 full) took, so the bound in entries that
 * `dedupeBytes` gives, and its documentation, stay as they were.
 */
const ENTRY_BYTES = 86;
const MIN_SLOTS = 8;
/** The least the tables take once every shard is in use (32 KB), beyond the bound's share per entry. */
const MIN_TABLES_BYTES = SHARDS * MIN_SLOTS * SLOT_INTS * 4;
/** Mixes a track set's id into the seeds. */
const SET_SEED = 0x5bd1e995;

function randomSeed(): number {
  return (Math.random() * 2 ** 32) | 0;
}

/**
 * An open-addressing table (linear probing) of fingerprints, each with its generation; 0 marks
 * an empty slot. A slot is four int32s (the fingerprint's halves, the generation, padding), so
 * a probe reads one cache line. A slot of a forgotten generation is reused by the next insert
 * that passes it. A table is rebuilt before it is 3/4 full, so a probe always ends.
 */
class FingerprintTable {
  #slots = new Int32Array(MIN_SLOTS * SLOT_INTS);
  /** Slots holding an entry, live or forgotten. */
  #used = 0;

  get bytes(): number {
    return this.#slots.length * 4;
  }

  /** Adds the fingerprint unless a live entry has it; false when one does. */
  add(high: number, low: number, generation: number, oldest: number): boolean {
    const slots = this.#slots;
    const mask = slots.length / SLOT_INTS - 1;
    let at = (high & mask) * SLOT_INTS;
    let reusable = -1;
    for (;;) {
      const stamp = slots[at + 2]!;
      if (stamp === 0) break;
      if (stamp >= oldest) {
        if (slots[at] === high && slots[at + 1] === low) return false;
      } else if (reusable < 0) {
        reusable = at;
      }
      at = (at + SLOT_INTS) & (slots.length - 1);
    }
    if (reusable >= 0) at = reusable;
    else this.#used++;
    slots[at] = high;
    slots[at + 1] = low;
    slots[at + 2] = generation;
    if (this.#used * 4 > (slots.length / SLOT_INTS) * 3) this.rebuild(oldest);
    return true;
  }

  /**
   * Re-inserts the live entries (stamps lowered by `shift`) into a table sized to hold them
   * between 1/4 and 1/2 full: a table that filled doubles. (Sized for at most 3/8, a table
   * rebuilt just past 3/4 full grew fourfold, to 3/16 full: at 100,000 keys the tables took
   * 5.7 MB instead of 3.4, past what a core's share of cache holds, and a repeat visit's lookup
   * 88-166 ns instead of 70-88; a run with recording cost 0.13-0.15 µs more, measured.)
   */
  rebuild(oldest: number, shift = 0): void {
    const old = this.#slots;
    let live = 0;
    for (let at = 2; at < old.length; at += SLOT_INTS) if (old[at]! >= oldest) live++;
    let count = MIN_SLOTS;
    while (count < live * 2) count *= 2;
    const slots = new Int32Array(count * SLOT_INTS);
    const mask = count - 1;
    for (let from = 0; from < old.length; from += SLOT_INTS) {
      if (old[from + 2]! < oldest) continue;
      let at = (old[from]! & mask) * SLOT_INTS;
      while (slots[at + 2] !== 0) at = (at + SLOT_INTS) & (slots.length - 1);
      slots[at] = old[from]!;
      slots[at + 1] = old[from + 1]!;
      slots[at + 2] = old[from + 2]! - shift;
    }
    this.#slots = slots;
    this.#used = live;
  }
}
