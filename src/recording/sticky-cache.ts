/**
 * The tracks keys of sticky sets got first, kept in memory so the hot path never waits on
 * the store. Filled from this process's own exposures, from the store on a miss (synchronously
 * for stores that can, otherwise in the background), and bounded: the oldest entries go first.
 */
export class StickyCache {
  readonly #max: number;
  #tracks = new Map<string, string>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get(trackSetId: string, unit: string): string | undefined {
    return this.#tracks.get(`${trackSetId}\u0000${unit}`);
  }

  /** Remembers a unit's track unless one is known already (the first track wins). */
  remember(trackSetId: string, unit: string, track: string): void {
    if (this.#tracks.has(`${trackSetId}\u0000${unit}`)) return;
    this.learn(trackSetId, unit, track);
  }

  /**
   * Records the store's answer: it holds the track the unit got first anywhere, so it
   * replaces what this process guessed while the answer was on its way.
   */
  learn(trackSetId: string, unit: string, track: string): void {
    const entry = `${trackSetId}\u0000${unit}`;
    this.#tracks.delete(entry);
    if (this.#tracks.size >= this.#max) {
      let drop = Math.ceil(this.#max / 10);
      for (const old of this.#tracks.keys()) {
        this.#tracks.delete(old);
        if (--drop === 0) break;
      }
    }
    this.#tracks.set(entry, track);
  }
}
