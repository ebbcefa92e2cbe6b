import type { HealthEvent } from '../model/events.js';
import { newEventId } from './event-id.js';
import { emptyHistogram, latencyBucket } from '../model/latency-histogram.js';

/** Runs of one track in one minute, counted since the last drain. */
export interface HealthCell {
  readonly trackSetId: string;
  readonly track: string;
  readonly minute: number;
  runs: number;
  errors: number;
  totalMs: number;
  readonly histogram: number[];
}

/**
 * Counts runs per (track set, track, minute) in memory, so storage grows with minutes, never
 * with requests. Each drain turns the cells into HealthEvents with fresh ids: a flush written
 * twice is stored once, and the sums of all flushes are the minute's totals.
 */
export class HealthAggregator {
  // By set id, then track name: two lookups beat building a string key per run.
  #open = new Map<string, Map<string, HealthCell>>();
  #closed: HealthCell[] = [];

  record(trackSetId: string, track: string, durationMs: number, failed: boolean, now: number): void {
    const minute = Math.floor(now / 60000);
    let byTrack = this.#open.get(trackSetId);
    if (byTrack === undefined) this.#open.set(trackSetId, (byTrack = new Map()));
    let cell = byTrack.get(track);
    if (cell === undefined || cell.minute !== minute) {
      if (cell !== undefined) this.#closed.push(cell);
      cell = { trackSetId, track, minute, runs: 0, errors: 0, totalMs: 0, histogram: emptyHistogram() };
      byTrack.set(track, cell);
    }
    cell.runs++;
    if (failed) cell.errors++;
    cell.totalMs += durationMs;
    cell.histogram[latencyBucket(durationMs)]!++;
  }

  /** Whether any run was counted since the last drain. */
  get pending(): boolean {
    return this.#closed.length > 0 || this.#open.size > 0;
  }

  /** The cells counted since the last drain; counting starts afresh. */
  drain(): HealthCell[] {
    const cells = this.#closed;
    this.#closed = [];
    for (const byTrack of this.#open.values()) for (const cell of byTrack.values()) cells.push(cell);
    this.#open = new Map();
    return cells;
  }
}

/** The health events of drained cells, one per cell. */
export function healthEvents(cells: readonly HealthCell[]): HealthEvent[] {
  return cells.map((c) => ({
    kind: 'health',
    eventId: newEventId(),
    trackSetId: c.trackSetId,
    track: c.track,
    minute: c.minute,
    runs: c.runs,
    errors: c.errors,
    totalMs: c.totalMs,
    histogram: c.histogram,
  }));
}
