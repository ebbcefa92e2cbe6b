/**
 * A bounded set of (track set, key) pairs already exposed in this process, so a key's repeat
 * visits add nothing to the buffer. When full, the oldest entries are forgotten: a forgotten
 * key costs one more exposure row, which the store drops as a duplicate.
 */
export class SeenUnits {
  readonly #max: number;
  // By set id, then key: no string is built per lookup on the hot path.
  #seen = new Map<string, Set<string>>();
  #size = 0;

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  /** Adds the pair; returns false when it was already there. */
  add(trackSetId: string, key: string): boolean {
    let keys = this.#seen.get(trackSetId);
    if (keys === undefined) this.#seen.set(trackSetId, (keys = new Set()));
    else if (keys.has(key)) return false;
    if (this.#size >= this.#max) this.#evict();
    keys.add(key);
    this.#size++;
    return true;
  }

  /** Drops the oldest tenth of each set's keys (a Set iterates in insertion order). */
  #evict(): void {
    for (const keys of this.#seen.values()) {
      let drop = Math.ceil(keys.size / 10);
      for (const old of keys) {
        keys.delete(old);
        this.#size--;
        if (--drop === 0) break;
      }
    }
  }
}
