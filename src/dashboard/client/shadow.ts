import type { Interval, PairedLatencyQuantile, RateEstimate, Report, ShadowCandidateResult, ShadowResult, ShadowSampleResult, TrackSetResult } from '../../report/report-model.js';
import { confirmDialog } from './dialog.js';
import { count, el, holdControls, ms, numberCell, percent, resolutionOf, table, upper, when } from './dom.js';

/**
 * A shadow set's section (`static shadow`): what mode it is in, per candidate how often its
 * result differed from the baseline's (with a one-look interval and an always-valid one, since
 * a shadow is watched live), how often it failed or timed out or was skipped, the latency of
 * both paths on the same runs, and the latest mismatches. While the set is in shadow mode, a
 * button promotes it to a live A/B test.
 *
 * Samples are the user's own data (a run's arguments and results as JSON text): like every
 * name on the page they only ever go in as text, never as HTML.
 */

/** What the section's button does. */
export interface ShadowActions {
  /** Promotes the set to a live A/B test (POST /api/promote), then shows the set again. */
  promote(): Promise<void>;
}

/**
 * The longest text shown of one field of a sample. A set may keep samples of up to 1 MB each
 * (`samples.maxBytes`), 20 of them with three fields: shown whole they would make the page
 * slow for a glance at a few lines; the full text stays in `tracks report --json`.
 */
const SHOWN_CHARS = 8_192;

/**
 * The Shadow section of a set's view, or null for a set that never ran in shadow.
 *
 * @example
 * ```ts
 * const section = shadowSection(report, set, { promote: () => sendControl('promote', set.id) });
 * ```
 */
export function shadowSection(report: Report, set: TrackSetResult, actions: ShadowActions): HTMLElement | null {
  const shadow = set.shadow;
  if (shadow === null || shadow === undefined) return null;
  const bounds = report.latencyBucketBoundsMs;
  const confidence = `${Math.round((1 - report.alpha) * 100)}%`;
  const trips = shadow.candidates.filter((c) => c.guardrail !== null);
  return el('section', { class: 'shadow', data: { section: 'shadow', mode: shadow.mode } }, [
    el('h2', { text: shadow.mode === 'shadow' ? 'Shadow' : 'Shadow phase' }),
    modeLine(set, shadow),
    el('p', { class: 'meta', data: { field: 'shadow-span', first: shadow.firstAt ?? '', last: shadow.lastAt ?? '' } }, [
      el('span', { text: shadow.firstAt === null ? 'no shadow runs yet' : `shadow runs ${when(shadow.firstAt)} – ${when(shadow.lastAt)}` }),
    ]),
    shadow.mode === 'shadow' ? promoteControl(set, shadow, actions) : null,
    el('h3', { text: `Candidates against ${shadow.baseline}` }),
    candidateTable(shadow.candidates, confidence),
    ...trips.map((c) =>
      el('p', { class: 'warning-line bad', data: { field: 'shadow-guardrail', track: c.track } }, [
        'Guardrail stopped ',
        el('strong', { text: c.track }),
        ` (${when(c.guardrail!.at)}): `,
        c.guardrail!.cause,
      ]),
    ),
    el('h3', { text: 'Paired latency' }),
    el('p', {
      class: 'muted',
      text: 'Both paths timed on the same runs. The difference is taken run by run (candidate minus baseline): negative is faster.',
    }),
    latencyTable(shadow.candidates, bounds, confidence),
    el('h3', { text: shadow.samples.length === 0 ? 'Latest mismatches' : `Latest mismatches (${shadow.samples.length})` }),
    shadow.samples.length === 0
      ? el('p', { class: 'muted', data: { field: 'no-samples' }, text: 'No mismatch sample recorded.' })
      : el('ol', { class: 'shadow-samples', data: { field: 'shadow-samples' } }, shadow.samples.map(sampleItem)),
  ]);
}

/** "Shadow: every user is served old…", or, once promoted, what the numbers below are. */
function modeLine(set: TrackSetResult, shadow: ShadowResult): HTMLElement {
  const candidates = shadow.candidates.map((c) => c.track).join(', ');
  const text =
    shadow.mode === 'shadow'
      ? `Shadow: every user is served ${shadow.baseline}. On a sample of runs the candidates (${candidates}) also run, and their results and latency are compared with it; no user sees them.`
      : shadow.mode === 'ended'
        ? `Shadow phase, ended by a deploy: ${set.id} is now a live A/B test. These are the candidates' findings from before.`
        : `Shadow phase, promoted since: ${set.id} is now a live A/B test. These are the candidates' findings from before the promotion.`;
  return el('p', { class: 'shadow-mode', text, data: { field: 'shadow-mode', mode: shadow.mode } });
}

/** The "Promote to A/B test" button, behind a confirmation like Stop and Resume. */
function promoteControl(set: TrackSetResult, shadow: ShadowResult, actions: ShadowActions): HTMLElement {
  const message = el('span', { class: 'muted', data: { field: 'promote-message' } });
  const button = el('button', { text: 'Promote to A/B test…', class: 'danger', attrs: { type: 'button' }, data: { action: 'promote' } });
  button.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Promote ${set.id} to an A/B test?`,
      message:
        `Every process recording to this store stops serving everyone ${shadow.baseline} and assigns tracks by the set's declared weights, ` +
        'within its control interval (default 10 s), as a new phase: users start getting the candidates. The shadow findings stay in the report. ' +
        `To go back, stop the test serving ${shadow.baseline}.`,
      confirmLabel: 'Promote',
      danger: true,
    });
    if (ok === null) return;
    // Stop, Resume and Ramp too, until the promotion is saved (see holdControls).
    const release = holdControls();
    message.className = 'muted';
    message.textContent = 'Saving…';
    try {
      await actions.promote();
    } catch (error) {
      message.textContent = error instanceof Error ? error.message : String(error);
      message.className = 'error';
      release();
    }
  });
  return el('div', { class: 'controls' }, [button, message]);
}

function candidateTable(candidates: readonly ShadowCandidateResult[], confidence: string): HTMLTableElement {
  const rows = candidates.map((c) =>
    el('tr', { data: { track: c.track } }, [
      el('td', { data: { field: 'track' } }, [c.guardrail === null ? null : el('span', { class: 'badge warn-badge bad', text: 'guardrail', data: { flag: 'guardrail' } }), c.track]),
      numberCell('runs', c.runs, count(c.runs)),
      rateCell('mismatchRate', c.mismatchRate, 'interval'),
      rateCell('mismatchSequential', c.mismatchRate, 'sequentialInterval'),
      numberCell('ignored', c.ignored, count(c.ignored)),
      rateCell('errorRate', c.errorRate, 'interval'),
      rateCell('timeoutRate', c.timeoutRate, 'interval'),
      skippedCell(c),
    ]),
  );
  return table(
    ['Candidate', 'Runs', `Mismatches (${confidence} CI)`, 'Always-valid CI', 'Ignored', 'Errors', 'Timeouts', 'Skipped (concurrency / guardrail)'],
    rows,
    { section: 'shadow-candidates' },
  );
}

/**
 * A share of runs: "3.10%" with its interval under it and "93 of 3,000" on hover; or only the
 * always-valid interval (watching a shadow live is peeking: that is the interval to stop on).
 */
function rateCell(field: string, rate: RateEstimate | null, which: 'interval' | 'sequentialInterval'): HTMLTableCellElement {
  if (rate === null) return numberCell(field, null, '');
  const [low, high] = rate[which];
  const range = `[${percent(low)}, ${percent(high)}]`;
  const cell =
    which === 'interval'
      ? numberCell(field, rate.estimate, percent(rate.estimate))
      : numberCell(field, rate.estimate, range);
  if (which === 'interval') cell.append(el('span', { class: 'interval', text: range, data: { part: 'interval' } }));
  cell.dataset.low = String(low);
  cell.dataset.high = String(high);
  cell.dataset.count = String(rate.count);
  cell.dataset.of = String(rate.of);
  cell.title =
    which === 'interval'
      ? `${count(rate.count)} of ${count(rate.of)}; the interval holds for one look`
      : 'always-valid interval: holds however often the page is reloaded while the shadow runs';
  return cell;
}

/** Sampled runs whose candidate did not run: the concurrency cap was reached, or a guardrail had stopped it. */
function skippedCell(c: ShadowCandidateResult): HTMLTableCellElement {
  const { concurrency, guardrail } = c.skipped;
  const cell = numberCell('skipped', concurrency + guardrail, `${count(concurrency)} / ${count(guardrail)}`);
  cell.dataset.concurrency = String(concurrency);
  cell.dataset.guardrail = String(guardrail);
  cell.title = `${count(concurrency)} skipped at the concurrency cap (maxConcurrent), ${count(guardrail)} after a guardrail stopped the candidate`;
  return cell;
}

function latencyTable(candidates: readonly ShadowCandidateResult[], bounds: readonly number[], confidence: string): HTMLTableElement {
  const rows = candidates.map((c) => {
    const l = c.latency;
    const at = (q: number) => l.difference.find((d) => d.q === q);
    return el('tr', { data: { track: c.track } }, [
      el('td', { text: c.track, data: { field: 'track' } }),
      numberCell('pairs', l.pairs, count(l.pairs)),
      latencyCell('baselineP50Ms', l.baseline.p50Ms, bounds),
      latencyCell('baselineP95Ms', l.baseline.p95Ms, bounds),
      latencyCell('candidateP50Ms', l.candidate.p50Ms, bounds),
      latencyCell('candidateP95Ms', l.candidate.p95Ms, bounds),
      differenceCell('differenceP50Ms', at(0.5), bounds),
      differenceCell('differenceP95Ms', at(0.95), bounds),
    ]);
  });
  return table(
    ['Candidate', 'Pairs', 'Baseline p50', 'Baseline p95', 'Candidate p50', 'Candidate p95', `Difference p50 (${confidence} CI)`, `Difference p95 (${confidence} CI)`],
    rows,
    { section: 'shadow-latency' },
  );
}

/** A latency: "< 0.05 ms" under the histogram's first bucket (a no-op is not shown as its bound), as the health table. */
function latencyCell(field: string, value: number | null, bounds: readonly number[]): HTMLTableCellElement {
  const cell = numberCell(field, value, latencyText(value, bounds));
  if (value !== null && value < resolutionOf(bounds)) {
    cell.dataset.belowResolution = 'true';
    cell.title = `under ${resolutionOf(bounds)} ms, the latency histogram's first bucket: too fast to tell from zero`;
  }
  return cell;
}

/**
 * A quantile of the per-run difference, signed (negative: the candidate is faster), with its
 * interval; marked faster or slower when the interval excludes 0.
 */
function differenceCell(field: string, d: PairedLatencyQuantile | undefined, bounds: readonly number[]): HTMLTableCellElement {
  if (d === undefined) return numberCell(field, null, '');
  const [low, high] = ends(d.interval);
  const direction = high < 0 ? 'faster' : low > 0 ? 'slower' : 'same';
  const cell = numberCell(field, d.estimateMs, signedLatency(d.estimateMs, bounds), direction === 'faster' ? 'num-better' : direction === 'slower' ? 'num-worse' : undefined);
  cell.append(el('span', { class: 'interval', text: `[${signedLatency(low, bounds)}, ${signedLatency(high, bounds)}]`, data: { part: 'interval' } }));
  cell.dataset.low = Number.isFinite(low) ? String(low) : '';
  cell.dataset.high = Number.isFinite(high) ? String(high) : '';
  cell.dataset.direction = direction;
  cell.title = `candidate minus baseline on the same run, ${d.q === 0.5 ? 'median' : `${d.q * 100}th percentile`}: ${direction === 'same' ? 'no difference shown' : `the candidate is ${direction}`}`;
  return cell;
}

/**
 * An interval's ends: Infinity in the report model is null once it has been through JSON (as
 * the page reads it), and means "no bound" on either side of a difference.
 */
function ends(interval: Interval): [number, number] {
  const low = interval[0] as number | null;
  return [low === null || Number.isNaN(low) ? -Infinity : low, upper(interval[1])];
}

function latencyText(value: number | null, bounds: readonly number[]): string {
  if (value === null) return '';
  return value < resolutionOf(bounds) ? `< ${resolutionOf(bounds)} ms` : ms(value);
}

/** +0.42 ms, -1.3 ms, "-< 0.05 ms" for a difference too small for the histogram to tell, 0 ms for none. */
function signedLatency(value: number, bounds: readonly number[]): string {
  if (value === 0) return '0 ms';
  if (!Number.isFinite(value)) return value > 0 ? '+∞' : '−∞';
  return `${value > 0 ? '+' : '-'}${latencyText(Math.abs(value), bounds)}`;
}

/** One recorded mismatch: its candidate and time, then input, baseline result and candidate result. */
function sampleItem(sample: ShadowSampleResult): HTMLElement {
  const field = (name: 'input' | 'baseline' | 'candidate', label: string) =>
    el('div', { class: 'shadow-sample-field' }, [el('h4', { text: label }), el('pre', { text: shown(sample[name]), data: { field: name } })]);
  return el('li', { class: 'shadow-sample', data: { track: sample.track, at: sample.at } }, [
    el('p', { class: 'shadow-sample-head' }, [el('strong', { text: sample.track, data: { field: 'track' } }), ' ', el('span', { class: 'muted', text: when(sample.at), data: { field: 'at' } })]),
    el('div', { class: 'shadow-sample-fields' }, [field('input', 'Input'), field('baseline', 'Baseline result'), field('candidate', 'Candidate result')]),
  ]);
}

/**
 * A sample's field as shown: JSON laid out on several lines when it is long enough to need
 * them (baseline and candidate are then easier to compare by eye); as recorded when it does
 * not parse (a sample cut to the byte limit); at most {@link SHOWN_CHARS} characters.
 */
function shown(text: string): string {
  let readable = text;
  if (text.length > 60) {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null) readable = JSON.stringify(value, null, 2);
    } catch {
      // cut to the byte limit, or not JSON: shown as recorded
    }
  }
  if (readable.length <= SHOWN_CHARS) return readable;
  return `${readable.slice(0, SHOWN_CHARS)}\n… ${count(readable.length - SHOWN_CHARS)} more characters (the whole sample is in tracks report --json)`;
}
