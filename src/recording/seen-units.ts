/**
 * A bounded set of (track set, key) pairs already exposed in this process, so a key's repeat
 * visits add nothing to the buffer. Bounded in entries and in bytes (a long key costs its
 * length): when either bound is reached, the oldest tenth is forgotten. A forgotten key costs
 * one more exposure row, which the store skips as a duplicate.
 *
 * Keys are spread over {@link SHARDS} sets per track set: a hash table grows by doubling and
 * rehashing everything at once, and a million-key set doing so would stall the event loop
 * for tens of milliseconds; 32 smaller ones each stall for a thirty-second of it.
 */
export class SeenUnits {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  // By set id, then shard: no string is built per lookup on the hot path.
  #seen = new Map<string, Set<string>[]>();
  #entries = 0;
  #bytes = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = Math.max(1, maxEntries);
    this.#maxBytes = Math.max(1, maxBytes);
  }

  /** Adds the pair; returns false when it was already there. */
  add(trackSetId: string, key: string): boolean {
    let shards = this.#seen.get(trackSetId);
    if (shards === undefined) this.#seen.set(trackSetId, (shards = Array.from({ length: SHARDS }, () => new Set<string>())));
    const keys = shards[shardOf(key)]!;
    if (keys.has(key)) return false;
    const size = entryBytes(key);
    if (this.#entries >= this.#maxEntries || this.#bytes + size > this.#maxBytes) this.#evict();
    keys.add(key);
    this.#entries++;
    this.#bytes += size;
    return true;
  }

  /** Entries and estimated bytes held. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries, bytes: this.#bytes };
  }

  /** Drops the oldest tenth of every shard's keys (a Set iterates in insertion order). */
  #evict(): void {
    for (const shards of this.#seen.values()) {
      for (const keys of shards) {
        let drop = Math.ceil(keys.size / 10);
        for (const old of keys) {
          if (drop-- === 0) break;
          keys.delete(old);
          this.#entries--;
          this.#bytes -= entryBytes(old);
        }
      }
    }
  }
}

/** Sets per track set. */
const SHARDS = 32;

/** A cheap spread of keys over the shards: the length and three characters, mixed. */
function shardOf(key: string): number {
  const n = key.length;
  if (n === 0) return 0;
  const mixed = Math.imul(key.charCodeAt(n - 1), 31) + Math.imul(key.charCodeAt(n >> 1), 7) + key.charCodeAt(0) + n;
  return (mixed ^ (mixed >>> 5)) & (SHARDS - 1);
}

/** A Set entry's memory, roughly: the string (UTF-16) and the hash table's slot. */
function entryBytes(key: string): number {
  return 48 + 2 * key.length;
}
