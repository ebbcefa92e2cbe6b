import { escapeControl as text } from '../text.js';
import { LATENCY_BUCKET_BOUNDS_MS } from '../model/latency-histogram.js';
import { isShadowTrip, shadowEndedByDeploy } from '../model/shadow.js';
import type { ShadowSums, ShadowTrackSums } from '../model/shadow.js';
import type { TrackSetSums } from '../model/sums.js';
import { pairedQuantileInterval } from '../stats/paired-quantile.js';
import { rateInterval } from '../stats/rate-interval.js';
import { quantileInterval } from '../stats/quantile-interval.js';
import type { PairedLatencyQuantile, RateEstimate, ReportWarning, ShadowCandidateResult, ShadowResult, TrackSetResult } from './report-model.js';
import { WIDTH, count, percent, table, wrap } from './text-table.js';
import { formatMs } from './latency.js';

/**
 * A shadow set's findings (`static shadow`): per candidate, the share of compared runs whose
 * result differed from the baseline's, with a fixed-horizon (Wilson) interval and an
 * always-valid one for watching it live; error and timeout rates; and the latency of both
 * paths on the same runs, with quantiles of the per-run difference (paired: see
 * docs/statistics.md, "Shadow comparisons"). Kept after promotion, beside the live test.
 */

/** The shadow section of a set, or null when the store holds no shadow runs of it. */
export function shadowResult(set: TrackSetSums, shadow: ShadowSums | undefined, options: { readonly alpha: number }): ShadowResult | null {
  const tracks = shadow?.tracks.filter((t) => t.trackSetId === set.trackSetId) ?? [];
  if (tracks.length === 0) return null;
  const firstMinute = Math.min(...tracks.map((t) => t.firstMinute));
  const lastMinute = Math.max(...tracks.map((t) => t.lastMinute));
  return {
    mode: set.control?.promoted === true ? 'promoted' : shadowEndedByDeploy(set.phases, lastMinute) ? 'ended' : 'shadow',
    baseline: set.definition?.control ?? 'control',
    firstAt: new Date(firstMinute * 60_000).toISOString(),
    lastAt: new Date(lastMinute * 60_000).toISOString(),
    candidates: tracks.map((t) => candidateResult(t, set, options)),
    samples: (shadow?.samples ?? [])
      .filter((s) => s.trackSetId === set.trackSetId)
      .map((s) => ({ track: s.track, at: new Date(s.at).toISOString(), input: s.input, baseline: s.baseline, candidate: s.candidate })),
  };
}

function candidateResult(t: ShadowTrackSums, set: TrackSetSums, options: { readonly alpha: number }): ShadowCandidateResult {
  const compared = t.matches + t.mismatches + t.ignored;
  const runs = compared + t.errors + t.timeouts;
  const rate = (k: number, n: number): RateEstimate | null => {
    // The report's tuning parameter counts users; a rate counts runs, so its own default holds.
    const r = rateInterval(k, n, { alpha: options.alpha });
    return r.ok ? { count: k, of: n, estimate: r.estimate, interval: r.confidenceInterval, sequentialInterval: r.sequentialInterval } : null;
  };
  const quantile = (histogram: readonly number[], q: number): number | null => {
    const r = quantileInterval({ bounds: LATENCY_BUCKET_BOUNDS_MS, counts: histogram }, q, { alpha: options.alpha });
    return r.ok ? r.estimate : null;
  };
  const pairs = t.slowerHistogram.reduce((a, b) => a + b, 0) + t.fasterHistogram.reduce((a, b) => a + b, 0);
  const difference: PairedLatencyQuantile[] = [];
  for (const q of [0.5, 0.95]) {
    const r = pairedQuantileInterval({ bounds: LATENCY_BUCKET_BOUNDS_MS, slower: t.slowerHistogram, faster: t.fasterHistogram }, q, { alpha: options.alpha });
    if (r.ok) {
      const [low, high] = r.confidenceInterval;
      difference.push({ q, estimateMs: r.estimate, interval: r.confidenceInterval, verdict: low > 0 ? 'slower' : high < 0 ? 'faster' : 'no difference' });
    }
  }
  const trip = set.guardrails.filter((g) => g.track === t.track && isShadowTrip(g.cause)).at(-1);
  return {
    track: t.track,
    runs,
    matches: t.matches,
    mismatches: t.mismatches,
    ignored: t.ignored,
    errors: t.errors,
    timeouts: t.timeouts,
    skipped: { concurrency: t.skippedConcurrency, guardrail: t.skippedGuardrail },
    mismatchRate: rate(t.mismatches, compared),
    errorRate: rate(t.errors, runs),
    timeoutRate: rate(t.timeouts, runs),
    latency: {
      pairs,
      baseline: { p50Ms: quantile(t.baselineHistogram, 0.5), p95Ms: quantile(t.baselineHistogram, 0.95) },
      candidate: { p50Ms: quantile(t.candidateHistogram, 0.5), p95Ms: quantile(t.candidateHistogram, 0.95) },
      difference,
    },
    guardrail: trip === undefined ? null : { cause: trip.cause, at: new Date(trip.at).toISOString() },
  };
}

/**
 * What a set still in shadow mode should tell its reader first, in plain words: a candidate
 * that disagrees with the baseline, fails, times out or is slower at p95, each only when its
 * interval excludes "never" (or no difference).
 */
export function shadowWarnings(shadow: ShadowResult | null): ReportWarning[] {
  if (shadow === null || shadow.mode !== 'shadow') return [];
  const warnings: ReportWarning[] = [];
  const share = (r: RateEstimate) => `${percent(r.estimate)} of ${count(r.of)} runs (${percent(r.interval[0])} to ${percent(r.interval[1])})`;
  for (const c of shadow.candidates) {
    const problems: string[] = [];
    if (c.mismatchRate !== null && c.mismatchRate.interval[0] > 0) problems.push(`disagrees with '${shadow.baseline}' on ${share(c.mismatchRate)}`);
    if (c.errorRate !== null && c.errorRate.interval[0] > 0) problems.push(`fails on ${share(c.errorRate)}`);
    if (c.timeoutRate !== null && c.timeoutRate.interval[0] > 0) problems.push(`times out on ${share(c.timeoutRate)}`);
    const p95 = c.latency.difference.find((d) => d.q === 0.95);
    if (p95?.verdict === 'slower') problems.push(`is slower at p95 by ${differenceText(p95)}`);
    if (problems.length > 0) warnings.push({ kind: 'shadow', message: `shadow candidate '${c.track}' ${problems.join(', ')}` });
  }
  return warnings;
}

/**
 * The shadow block of a set in the text report: one line per candidate with its mismatch rate
 * and intervals, errors, timeouts and skips, then (unless `latency: false`) the paired latency.
 *
 * @example
 * ```ts
 * const block = renderShadow(report.trackSets[0]!);
 * ```
 */
export function renderShadow(set: TrackSetResult, options: { readonly latency?: boolean; readonly samples?: boolean } = {}): string {
  const shadow = set.shadow;
  if (shadow === null) return '';
  const lines = wrap(
    shadow.mode === 'promoted'
      ? `Shadow phase (before the set was promoted to a live test): candidates ran beside '${text(shadow.baseline)}' on sampled runs`
      : shadow.mode === 'ended'
        ? `Shadow phase (before a deploy made the set a live test, without tracks promote): candidates ran beside '${text(shadow.baseline)}' on sampled runs`
        : `Shadow: every user is served '${text(shadow.baseline)}'; the candidates run beside it on sampled runs (no user is exposed, so no users are counted)`,
    WIDTH - 2,
  ).map((line) => `  ${line}`);
  const rows = shadow.candidates.map((c) => [
    text(c.track),
    count(c.runs),
    rateText(c.mismatchRate),
    c.mismatchRate === null ? '' : range(c.mismatchRate.sequentialInterval[0], c.mismatchRate.sequentialInterval[1]),
    c.ignored > 0 ? count(c.ignored) : '',
    rateText(c.errorRate),
    rateText(c.timeoutRate),
    c.skipped.concurrency + c.skipped.guardrail > 0 ? count(c.skipped.concurrency + c.skipped.guardrail) : '',
  ]);
  // Ignored and skipped runs are shown only when some candidate has them: the table fits 100 columns.
  const header = ['candidate', 'runs', 'mismatches (CI)', 'always-valid CI', 'ignored', 'errors', 'timeouts', 'skipped'];
  const shown = header.map((name, c) => !(name === 'ignored' || name === 'skipped') || rows.some((row) => row[c] !== ''));
  const keep = <T>(row: readonly T[]) => row.filter((_, c) => shown[c]);
  lines.push(table(keep(header), rows.map(keep)));
  if (options.latency ?? true) {
    const latency = shadow.candidates.map((c) => {
      const at = (q: number) => c.latency.difference.find((d) => d.q === q);
      return [text(c.track), count(c.latency.pairs), ms(c.latency.baseline.p50Ms), ms(c.latency.candidate.p50Ms), differenceText(at(0.5)), differenceText(at(0.95))];
    });
    // A title line, not the first column's header: clipped to fit short candidate names, it read "paired…atency".
    lines.push('  Paired latency (both paths on the same runs):');
    lines.push(table(['candidate', 'pairs', 'baseline p50', 'candidate p50', 'difference p50 (CI)', 'difference p95 (CI)'], latency));
  }
  if ((options.samples ?? true) && shadow.samples.length > 0) {
    lines.push('  Latest mismatches (input: baseline | candidate; tracks report --json has up to 20, in full):');
    for (const sample of shadow.samples.slice(0, 3)) {
      // Within WIDTH: the track cut to 24, and what is left after it and the separators shared
      // by the input and both results (fixed cuts of 40, 24 and 24 passed 100 with any name).
      const track = cut(text(sample.track), 24);
      const room = WIDTH - 4 - track.length - ': '.length * 2 - ' | '.length;
      const input = cut(text(sample.input), room - 2 * Math.floor(room * 0.3));
      const result = Math.floor((room - input.length) / 2);
      const [baseline, candidate] = cutPair(text(sample.baseline), text(sample.candidate), result);
      // trimEnd: an empty candidate text would leave the line ending in a space.
      lines.push(`    ${track}: ${input}: ${baseline} | ${candidate}`.trimEnd());
    }
  }
  for (const c of shadow.candidates) {
    if (c.guardrail !== null) lines.push(...wrap(text(`guardrail stopped '${c.track}': ${c.guardrail.cause}`), WIDTH - 4).map((l, i) => `${i === 0 ? '  ! ' : '    '}${l}`));
  }
  return lines.join('\n');
}

function cut(value: string, length: number): string {
  return value.length <= length ? value : `${value.slice(0, length - 1)}…`;
}

/**
 * A mismatch's two results, each cut to `length` around where they first differ: cut at their
 * beginnings, two results that differ only near their ends (a list missing its last item) would
 * read the same.
 *
 * @example
 * ```ts
 * cutPair('["a","b","c","d"]', '["a","b","c"]', 12); // ['…,"c","d"]', '…,"c"]']
 * ```
 */
export function cutPair(baseline: string, candidate: string, length: number): [string, string] {
  if (baseline.length <= length && candidate.length <= length) return [baseline, candidate];
  let same = 0;
  while (same < baseline.length && same < candidate.length && baseline[same] === candidate[same]) same++;
  // The difference shows within a plain cut (with a few characters of it).
  if (same < length - 8) return [cut(baseline, length), cut(candidate, length)];
  // Else from a little before it, marked as cut at the start.
  const start = Math.max(1, same - Math.floor(length / 3));
  const around = (value: string) => cut(`…${value.slice(start)}`, length);
  return [around(baseline), around(candidate)];
}

function rateText(r: RateEstimate | null): string {
  if (r === null) return '';
  return `${percent(r.estimate)} (${range(r.interval[0], r.interval[1])})`;
}

/** An interval of shares, compactly: '2.84–3.74%'. */
function range(low: number, high: number): string {
  return `${percent(low).replace(/%$/, '')}–${percent(high)}`;
}

/** As the tracks' latencies above it: "< 0.05 ms" below the histograms' resolution. */
function ms(value: number | null): string {
  if (value === null) return '';
  const resolution = LATENCY_BUCKET_BOUNDS_MS[0]!;
  return value < resolution ? `< ${resolution} ms` : formatMs(value);
}

function differenceText(d: PairedLatencyQuantile | undefined): string {
  if (d === undefined) return '';
  const signed = (v: number) => (!Number.isFinite(v) ? (v > 0 ? '+inf' : '-inf') : Math.abs(v) < 0.05 ? (v === 0 ? '0' : `${v < 0 ? '-' : '+'}<0.05`) : `${v > 0 ? '+' : ''}${v.toFixed(Math.abs(v) < 10 ? 2 : 1)}`);
  return `${signed(d.estimateMs)} ms [${signed(d.interval[0])}, ${signed(d.interval[1])}]`;
}
