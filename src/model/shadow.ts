/**
 * What recording keeps of shadow runs (`static shadow`), and what stores give back: counts and
 * latency histograms per candidate and minute, and a bounded sample of mismatches.
 */

/**
 * How a candidate's shadow runs ended, counted.
 *
 * @example
 * ```ts
 * function mismatchShare(counts: ShadowCounts): number {
 *   const compared = counts.matches + counts.mismatches + counts.ignored;
 *   return compared === 0 ? 0 : counts.mismatches / compared;
 * }
 * ```
 */
export interface ShadowCounts {
  readonly matches: number;
  readonly mismatches: number;
  /** Differences the set's `ignore` accepted. */
  readonly ignored: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Sampled runs whose candidate did not run: the set's maxConcurrent runs, or the candidate's share of them, were in flight. */
  readonly skippedConcurrency: number;
  /** Sampled runs whose candidate did not run: a shadow guardrail had stopped it. */
  readonly skippedGuardrail: number;
}

/** The fields of {@link ShadowCounts}: every count is summed the same way, wherever it is summed. */
export const SHADOW_COUNTS = ['matches', 'mismatches', 'ignored', 'errors', 'timeouts', 'skippedConcurrency', 'skippedGuardrail'] as const satisfies readonly (keyof ShadowCounts)[];

/** Counts at zero, to add runs to. */
export function zeroShadowCounts(): { -readonly [K in keyof ShadowCounts]: number } {
  return { matches: 0, mismatches: 0, ignored: 0, errors: 0, timeouts: 0, skippedConcurrency: 0, skippedGuardrail: 0 };
}

/**
 * One candidate's shadow runs in one process and minute.
 *
 * @example
 * ```ts
 * const runs = store.events.filter((e): e is ShadowEvent => e.kind === 'shadow' && e.trackSetId === 'catalog-query');
 * const mismatches = runs.reduce((total, e) => total + e.mismatches, 0);
 * ```
 */
export interface ShadowEvent extends ShadowCounts {
  readonly kind: 'shadow';
  readonly eventId: string;
  readonly trackSetId: string;
  /** The candidate track. */
  readonly track: string;
  /** Epoch minute (Math.floor(ms / 60000)). */
  readonly minute: number;
  /** The baseline's and the candidate's durations on the runs that returned (paired), by latency bucket. */
  readonly baselineHistogram: readonly number[];
  readonly candidateHistogram: readonly number[];
  /** Per run, candidate minus baseline: runs with a difference >= 0 by the bucket of the difference, and < 0 by the bucket of its magnitude. */
  readonly slowerHistogram: readonly number[];
  readonly fasterHistogram: readonly number[];
}

/**
 * One mismatch kept for debugging: the run's arguments and both results as JSON text, after `cleanInput` and `clean`, cut to the set's byte limit.
 *
 * @example
 * ```ts
 * const samples = store.events.filter((e): e is ShadowSampleEvent => e.kind === 'shadow_sample');
 * for (const s of samples) console.log(s.input, s.baseline, s.candidate);
 * ```
 */
export interface ShadowSampleEvent {
  readonly kind: 'shadow_sample';
  readonly eventId: string;
  readonly trackSetId: string;
  readonly track: string;
  readonly at: number;
  readonly input: string;
  readonly baseline: string;
  readonly candidate: string;
}

/**
 * A candidate's shadow runs added up over every process and minute.
 *
 * @example
 * ```ts
 * const shadow = await store.readShadow?.('catalog-query');
 * const candidate: ShadowTrackSums | undefined = shadow?.tracks.find((t) => t.track === 'new');
 * console.log(candidate?.matches, candidate?.mismatches, candidate?.timeouts);
 * ```
 */
export interface ShadowTrackSums extends ShadowCounts {
  readonly trackSetId: string;
  readonly track: string;
  readonly firstMinute: number;
  readonly lastMinute: number;
  readonly baselineHistogram: number[];
  readonly candidateHistogram: number[];
  readonly slowerHistogram: number[];
  readonly fasterHistogram: number[];
}

/**
 * What a store holds of shadow runs: sums per set and candidate, and the latest samples per set.
 *
 * @example
 * ```ts
 * const shadow: ShadowSums = (await store.readShadow?.()) ?? { tracks: [], samples: [] };
 * const report = buildReport(await store.summarize(), { shadow });
 * ```
 */
export interface ShadowSums {
  readonly tracks: readonly ShadowTrackSums[];
  /** Newest first, at most {@link SHADOW_SAMPLES_READ} per set. */
  readonly samples: readonly Omit<ShadowSampleEvent, 'kind' | 'eventId'>[];
}

/** How many of a set's latest mismatch samples a store reads back. */
export const SHADOW_SAMPLES_READ = 20;

/** The longest text of a sample's field, in characters (a set's `samples.maxBytes` is at most this). */
export const MAX_SAMPLE_TEXT = 1_048_576;

/** How a shadow guardrail's cause begins: its trips are the shadow's findings, not the live test's. */
export const SHADOW_TRIP_PREFIX = 'shadow candidate ';

/** Whether a recorded guardrail trip is a shadow guardrail's (it stopped a candidate's shadow runs, not a live track). */
export function isShadowTrip(cause: string): boolean {
  return cause.startsWith(SHADOW_TRIP_PREFIX);
}

/** A phase as shadow mode sees it: when it began (and began again, after a rollback), and its users per track. */
export interface PhaseUsers {
  readonly startedAt: number | null;
  readonly stretches?: readonly { readonly from: number }[] | undefined;
  readonly tracks: readonly { readonly users: number }[];
}

/**
 * Whether a set that ran in shadow mode (shadow runs up to the minute `lastShadowMinute`, epoch
 * minutes) is live now without `tracks promote`: a deploy removed `static shadow`. Shadow mode
 * assigns no one and starts a phase of its own: so the set is live when a phase with users came,
 * and no phase after it began while shadow runs went on (a stop or ramp after the last shadow
 * run's minute is of the live test; a shadow deploy after it would have begun before). Phases
 * oldest first. A shadow phase that came back after the live one (a rollback deploy: its
 * stretches) began again then, and the set is in shadow mode again. Within one minute of the
 * last shadow run a later change cannot be told apart.
 *
 * @example
 * ```ts
 * shadowEndedByDeploy(sums.phases, Math.max(...shadow.tracks.map((t) => t.lastMinute))); // true once a live phase followed
 * ```
 */
export function shadowEndedByDeploy(phases: readonly PhaseUsers[], lastShadowMinute: number): boolean {
  const live = (phase: PhaseUsers) => phase.tracks.some((t) => t.users > 0);
  // Each time a phase began: its stretches' starts (it came back after another phase: a
  // rollback), or its start.
  const starts = (phase: PhaseUsers) => phase.stretches?.map((s) => s.from) ?? (phase.startedAt === null ? [] : [phase.startedAt]);
  const lastLive = phases.findLastIndex(live);
  if (lastLive < 0) return false;
  const runsUntil = (lastShadowMinute + 1) * 60_000;
  const liveFrom = Math.max(...phases.filter(live).flatMap(starts));
  // A live phase of unknown start (a store from before phases had times): the phases listed after it.
  if (liveFrom === -Infinity) return !phases.slice(lastLive + 1).some((phase) => phase.startedAt !== null && phase.startedAt < runsUntil);
  // Shadow mode again when a phase without users began after a live phase last did, while shadow runs went on.
  return !phases.some((phase) => !live(phase) && starts(phase).some((from) => from > liveFrom && from < runsUntil));
}
