/**
 * A bounded set of (track set, unit) pairs already exposed in this process, so a key's repeat
 * visits add nothing to the buffer. When full, the oldest entries are forgotten: a forgotten
 * unit costs one more exposure row, which the store drops as a duplicate.
 */
export class SeenUnits {
  readonly #max: number;
  #seen = new Set<string>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  /** Adds the pair; returns false when it was already there. */
  add(trackSetId: string, unit: string): boolean {
    const entry = `${trackSetId}\u0000${unit}`;
    if (this.#seen.has(entry)) return false;
    if (this.#seen.size >= this.#max) {
      // Set iterates in insertion order: drop the oldest tenth in one go.
      let drop = Math.ceil(this.#max / 10);
      for (const old of this.#seen) {
        this.#seen.delete(old);
        if (--drop === 0) break;
      }
    }
    this.#seen.add(entry);
    return true;
  }

  clear(): void {
    this.#seen = new Set();
  }
}
