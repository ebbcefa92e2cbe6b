import { LATENCY_BUCKET_BOUNDS_MS, LATENCY_BUCKETS } from '../model/latency-histogram.js';
import type { HealthSums } from '../model/sums.js';
import { adjustPValues } from '../stats/multiple-testing.js';
import { quantileDifference } from '../stats/quantile-difference.js';
import { quantileInterval } from '../stats/quantile-interval.js';
import type { LatencyHistogram } from '../stats/quantile-interval.js';
import type { LatencyComparison, LatencyQuantile, LatencyResult } from './report-model.js';

/** The quantiles the report gives each track: the median and the two tails backends watch. */
const LATENCY_QUANTILES = [0.5, 0.95, 0.99] as const;

/**
 * Each track's latency from its health histogram: p50, p95 and p99 with intervals
 * ({@link quantileInterval}), and against the baseline's ({@link quantileDifference}). A track
 * is `slower` when its p95 is significantly above the baseline's after the set's correction
 * across its tracks (p95 is the one flagged: p50 hides tails, p99 needs many runs).
 */
export function latencyResults(
  tracks: readonly { readonly track: string; readonly health: HealthSums }[],
  baseline: string | null,
  alpha: number,
  correction: 'holm' | 'benjamini-hochberg',
): Map<string, LatencyResult> {
  const histograms = new Map(tracks.map((t) => [t.track, histogramOf(t.health)] as const));
  const base = baseline === null ? undefined : histograms.get(baseline);
  const comparisons = new Map<string, LatencyComparison[]>();
  for (const t of tracks) {
    if (base === undefined || t.track === baseline || t.health.runs === 0) continue;
    const rows: LatencyComparison[] = [];
    for (const q of LATENCY_QUANTILES) {
      const d = quantileDifference(base, histograms.get(t.track)!, q, { alpha });
      if (!d.ok) continue;
      rows.push({
        q,
        differenceMs: { estimate: d.difference.estimate, interval: d.difference.confidenceInterval },
        ratio: d.ratio.ok ? { estimate: d.ratio.estimate, interval: d.ratio.confidenceInterval } : null,
        pValue: d.difference.pValue,
        slower: false,
      });
    }
    comparisons.set(t.track, rows);
  }
  // The p95 flags, corrected across the set's tracks.
  const p95 = [...comparisons].flatMap(([track, rows]) => rows.filter((r) => r.q === 0.95).map((r) => ({ track, row: r })));
  const adjusted = adjustPValues(p95.map((c) => c.row.pValue), correction);
  p95.forEach(({ track, row }, i) => {
    if (adjusted[i]! < alpha && row.differenceMs.estimate > 0) {
      comparisons.set(track, comparisons.get(track)!.map((r) => (r === row ? { ...r, slower: true } : r)));
    }
  });
  return new Map(
    tracks.map((t) => {
      const health = t.health;
      const quantiles = health.runs > 0 ? quantilesOf(histograms.get(t.track)!, alpha) : [];
      const estimate = (q: number) => quantiles.find((x) => x.q === q)?.estimateMs ?? null;
      const result: LatencyResult = {
        runs: health.runs,
        errors: health.errors,
        errorRate: health.runs > 0 ? health.errors / health.runs : null,
        meanMs: health.runs > 0 ? health.totalMs / health.runs : null,
        p50Ms: estimate(0.5),
        p95Ms: estimate(0.95),
        p99Ms: estimate(0.99),
        quantiles,
        comparison: comparisons.get(t.track) ?? null,
        histogram: health.histogram,
      };
      return [t.track, result] as const;
    }),
  );
}

function quantilesOf(histogram: LatencyHistogram, alpha: number): LatencyQuantile[] {
  const quantiles: LatencyQuantile[] = [];
  for (const q of LATENCY_QUANTILES) {
    const r = quantileInterval(histogram, q, { alpha });
    if (!r.ok) continue;
    quantiles.push({ q, estimateMs: r.estimate, interval: r.confidenceInterval, belowResolution: r.belowResolution, aboveRange: r.aboveRange });
  }
  return quantiles;
}

/** A health histogram as the statistics layer reads it: dense counts over the recorder's bucket bounds. */
function histogramOf(health: HealthSums): LatencyHistogram {
  const counts = new Array<number>(LATENCY_BUCKETS).fill(0);
  health.histogram.forEach((count, i) => {
    if (i < LATENCY_BUCKETS) counts[i] = count;
  });
  return { bounds: LATENCY_BUCKET_BOUNDS_MS, counts };
}

/**
 * A latency for people: "< 0.05 ms" below the histogram's resolution (a no-op is not shown as
 * the first bucket's bound), "> 132112 ms" beyond its range, else 2 significant digits in ms or
 * seconds.
 */
export function formatLatency(quantile: LatencyQuantile | undefined): string {
  if (quantile === undefined) return '';
  if (quantile.belowResolution) return `< ${LATENCY_BUCKET_BOUNDS_MS[0]} ms`;
  if (quantile.aboveRange) return `> ${Math.round(LATENCY_BUCKET_BOUNDS_MS[LATENCY_BUCKETS - 2]!)} ms`;
  return formatMs(quantile.estimateMs);
}

/** Milliseconds, compactly, as the dashboard writes them: 0.12 ms, 3.4 ms, 48 ms, 1.25 s. */
export function formatMs(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : x >= 10 ? `${x.toFixed(0)} ms` : `${x.toPrecision(2)} ms`;
}
