/**
 * A bounded set of (track set, key) pairs already exposed in this process, so a key's repeat
 * visits add nothing to the buffer. Bounded in entries and in bytes (a long key costs its
 * length): when either bound is reached, the oldest tenth is forgotten. A forgotten key costs
 * one more exposure row, which the store skips as a duplicate.
 */
export class SeenUnits {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  // By set id, then key: no string is built per lookup on the hot path.
  #seen = new Map<string, Set<string>>();
  #entries = 0;
  #bytes = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = Math.max(1, maxEntries);
    this.#maxBytes = Math.max(1, maxBytes);
  }

  /** Adds the pair; returns false when it was already there. */
  add(trackSetId: string, key: string): boolean {
    let keys = this.#seen.get(trackSetId);
    if (keys === undefined) this.#seen.set(trackSetId, (keys = new Set()));
    else if (keys.has(key)) return false;
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

  /** Drops the oldest tenth of each set's keys (a Set iterates in insertion order). */
  #evict(): void {
    for (const keys of this.#seen.values()) {
      let drop = Math.ceil(keys.size / 10);
      for (const old of keys) {
        keys.delete(old);
        this.#entries--;
        this.#bytes -= entryBytes(old);
        if (--drop === 0) break;
      }
    }
  }
}

/** A Set entry's memory, roughly: the string (UTF-16) and the hash table's slot. */
function entryBytes(key: string): number {
  return 48 + 2 * key.length;
}
