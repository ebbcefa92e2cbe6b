import { emptyHistogram } from '../model/latency-histogram.js';
import type { ShadowSampleEvent, ShadowSums, ShadowTrackSums } from '../model/shadow.js';
import { SHADOW_COUNTS, SHADOW_SAMPLES_READ, zeroShadowCounts } from '../model/shadow.js';

/**
 * How every store reads shadow runs back: the counts of `tracks_shadow` added up per set and
 * candidate, its four histograms added up bucket by bucket, and each set's latest mismatch
 * samples. The SQL stores run the same three queries in their dialect; the memory store builds
 * the same rows from its events.
 */

/** Counts per set and candidate, as the queries return them (PostgreSQL gives floats for sums). */
export type ShadowCountRow = Omit<ShadowTrackSums, 'baselineHistogram' | 'candidateHistogram' | 'slowerHistogram' | 'fasterHistogram'>;

/** Which histogram a bucket row adds to. */
type ShadowHistogramName = 'baseline' | 'candidate' | 'slower' | 'faster';

/** One bucket of one of a candidate's histograms, added up. */
export interface ShadowBucketRow {
  readonly trackSetId: string;
  readonly track: string;
  readonly which: ShadowHistogramName;
  readonly bucket: number;
  readonly count: number;
}

/** One sample row: the sample event without its kind and id. */
export type ShadowSampleRow = Omit<ShadowSampleEvent, 'kind' | 'eventId'>;

/** The count columns summed, as SQL (the same in both dialects but for the cast PostgreSQL needs on bigint sums). */
export function shadowCountSql(table: string, where: string, cast = ''): string {
  const sum = (column: string, as: string) => `SUM(${column})${cast} AS "${as}"`;
  return `SELECT track_set_id AS "trackSetId", track, MIN(minute)${cast} AS "firstMinute", MAX(minute)${cast} AS "lastMinute",
    ${sum('matches', 'matches')}, ${sum('mismatches', 'mismatches')}, ${sum('ignored', 'ignored')}, ${sum('errors', 'errors')},
    ${sum('timeouts', 'timeouts')}, ${sum('skipped_concurrency', 'skippedConcurrency')}, ${sum('skipped_guardrail', 'skippedGuardrail')}
    FROM ${table} ${where} GROUP BY track_set_id, track`;
}

/** The histogram buckets summed, as SQL; `each(column)` is the dialect's table function over a JSON object (key, value). */
export function shadowBucketSql(table: string, where: string, each: (column: string) => string, key: string, value: string): string {
  return (['baseline', 'candidate', 'slower', 'faster'] as const)
    .map(
      (which) => `SELECT s.track_set_id AS "trackSetId", s.track, '${which}' AS which, ${key} AS bucket, SUM(${value}) AS count
        FROM ${table} s, ${each(`s.${which}_histogram`)} j ${where} GROUP BY s.track_set_id, s.track, ${key}`,
    )
    .join(' UNION ALL ');
}

/** Each set's latest samples, as SQL. */
export function shadowSampleSql(table: string, where: string, at = 'at'): string {
  return `SELECT "trackSetId", track, at, input, baseline, candidate FROM (
    SELECT track_set_id AS "trackSetId", track, ${at} AS at, input, baseline, candidate,
      ROW_NUMBER() OVER (PARTITION BY track_set_id ORDER BY at DESC, event_id DESC) AS r
    FROM ${table} ${where}) x WHERE r <= ${SHADOW_SAMPLES_READ} ORDER BY "trackSetId", at DESC`;
}

/** The sums of the rows the three queries return. */
export function shadowSumsOf(counts: readonly ShadowCountRow[], buckets: readonly ShadowBucketRow[], samples: readonly ShadowSampleRow[]): ShadowSums {
  const byTrack = new Map<string, ShadowTrackSums>();
  const key = (trackSetId: string, track: string) => `${trackSetId}\u0000${track}`;
  for (const c of counts) {
    const summed = zeroShadowCounts();
    // PostgreSQL gives sums as floats, or as text from a driver set to keep bigints exact.
    for (const field of SHADOW_COUNTS) summed[field] = Number(c[field]);
    byTrack.set(key(c.trackSetId, c.track), {
      trackSetId: c.trackSetId,
      track: c.track,
      firstMinute: Number(c.firstMinute),
      lastMinute: Number(c.lastMinute),
      ...summed,
      baselineHistogram: emptyHistogram(),
      candidateHistogram: emptyHistogram(),
      slowerHistogram: emptyHistogram(),
      fasterHistogram: emptyHistogram(),
    });
  }
  for (const b of buckets) {
    const sums = byTrack.get(key(b.trackSetId, b.track));
    const bucket = Number(b.bucket);
    if (sums === undefined || !(bucket >= 0 && bucket < sums.baselineHistogram.length)) continue;
    sums[`${b.which}Histogram`][bucket]! += Number(b.count);
  }
  const tracks = [...byTrack.values()].sort((a, b) => (a.trackSetId < b.trackSetId ? -1 : a.trackSetId > b.trackSetId ? 1 : a.track < b.track ? -1 : a.track > b.track ? 1 : 0));
  return { tracks, samples: samples.map((s) => ({ ...s, at: Number(s.at) })) };
}
