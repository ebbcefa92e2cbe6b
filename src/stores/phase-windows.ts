/**
 * Phase windows: when each set's phases began and ended, and until when a user's conversions
 * count, from the recorded phase starts (and a holdout's changes). The stores join their
 * conversions with these windows, and their health rows with the phases' minutes; the summary
 * reads each phase's span from them.
 */

/** When a set's current phase changed: a recorded definition whose phase differs from the one recorded before it. */
export interface PhaseStart {
  trackSetId: string;
  phase: string;
  at: number;
  /**
   * A holdout's pseudo set (configure({ holdout })) and its share then: its first start, and
   * each raise of its share, move keys into it and so end every set's phases too.
   */
  holdoutShare?: number | undefined;
}

/**
 * Until when a user's conversions count, by set, phase and exposure time: users of phase p
 * exposed from `from` (inclusive) to `to` (exclusive) count conversions before `ended`. The
 * set's timeline is cut at each phase start; a user counts until the first start of another
 * phase after their exposure. So a user a change may have moved is never credited after it,
 * and a set that goes back to an earlier configuration loses nothing of that phase's new users.
 */
interface PhaseWindow {
  trackSetId: string;
  phase: string;
  from: number;
  to: number;
  ended: number;
}

/** Bounds standing for minus and plus infinity in the windows (epoch ms no event reaches). */
const BEFORE_ALL = -1;
const AFTER_ALL = 9_000_000_000_000_000;

/**
 * The windows of every set with phase starts, for the stores' conversion joins: one per phase
 * (those of the starts, and '' for exposures of tracks 0.1) and stretch between starts that
 * has an end.
 *
 * A holdout that moves keys into it (its first start, a raised share), which then get every
 * set's baseline, ends every set's phases as the set's own change would: a user exposed before
 * it counts conversions until it, so a user it moved into the holdout is never credited after
 * it to a track they no longer saw. A lowered share moves keys only out of the holdout, into
 * sets they were never in: it ends nothing.
 */
export function phaseWindows(starts: readonly PhaseStart[]): PhaseWindow[] {
  const windows: PhaseWindow[] = [];
  const bySet = groupBySet(starts);
  const holdoutChanges = holdoutIntakes(starts).map((intake) => intake.at);
  for (const [id, list] of bySet) {
    const cuts = list[0]?.holdoutShare !== undefined ? [] : holdoutChanges;
    const phases = new Set(['', ...list.map((s) => s.phase)]);
    const bounds = [...new Set([...list.map((s) => s.at), ...cuts])].sort((a, b) => a - b);
    for (let k = 0; k <= bounds.length; k++) {
      const from = k === 0 ? BEFORE_ALL : bounds[k - 1]!;
      const to = bounds[k] ?? AFTER_ALL;
      for (const phase of phases) {
        // The first start of another phase, or holdout change, at or after the stretch's end.
        const next = Math.min(list.find((s) => s.at >= to && s.phase !== phase)?.at ?? AFTER_ALL, ...cuts.filter((at) => at >= to));
        if (next !== AFTER_ALL) windows.push({ trackSetId: id, phase, from, to, ended: next });
      }
    }
  }
  return windows;
}

/** A moment a holdout took keys in, ending every other set's phases for the users exposed before it. */
export interface HoldoutIntake {
  /** The holdout's id. */
  readonly holdout: string;
  /** Its share from then on. */
  readonly share: number;
  readonly at: number;
}

/** When each holdout took keys in: its first start, and each raise of its share (a lowered share takes none). */
export function holdoutIntakes(starts: readonly PhaseStart[]): HoldoutIntake[] {
  return [...groupBySet(starts).values()].flatMap((list) =>
    list
      .filter((s, k) => s.holdoutShare !== undefined && (k === 0 || s.holdoutShare > (list[k - 1]!.holdoutShare ?? 0)))
      .map((s) => ({ holdout: s.trackSetId, share: s.holdoutShare!, at: s.at })),
  );
}

/** When each phase of each set first began and last ended (null: it is the current one), for the report. */
export function phaseSpans(starts: readonly PhaseStart[]): Map<string, PhaseSpan> {
  const spans = new Map<string, PhaseSpan>();
  for (const [id, list] of groupBySet(starts)) {
    list.forEach((segment, i) => {
      const key = `${id}\u0000${segment.phase}`;
      const endedAt = list[i + 1]?.at ?? null;
      const before = spans.get(key);
      spans.set(key, { startedAt: before?.startedAt ?? segment.at, endedAt, stretches: [...(before?.stretches ?? []), { from: segment.at, to: endedAt }] });
    });
  }
  return spans;
}

/** The epoch minutes of one stretch a phase was in effect (`from` inclusive, `to` exclusive). */
export interface PhaseMinutes {
  trackSetId: string;
  phase: string;
  from: number;
  to: number;
}

/**
 * Which phase each minute of a set's health rows belongs to, for the stores' health queries:
 * the one in effect at the minute's start (health is counted per minute, so a minute a change
 * fell in counts to the phase before it). Minutes before the set's first start count to its
 * first phase, so the first minute of a test is its own; minutes of a set without starts to ''
 * (the stores' default, as its exposures' phase).
 */
export function phaseMinutes(starts: readonly PhaseStart[]): PhaseMinutes[] {
  const spans: PhaseMinutes[] = [];
  for (const [id, list] of groupBySet(starts)) {
    list.forEach((start, k) => {
      // The first minute starting at or after the start (epoch minutes are >= 0: BEFORE_ALL is before them all).
      const from = k === 0 ? BEFORE_ALL : Math.ceil(start.at / 60_000);
      const next = list[k + 1];
      const to = next === undefined ? AFTER_ALL : Math.ceil(next.at / 60_000);
      if (from < to) spans.push({ trackSetId: id, phase: start.phase, from, to });
    });
  }
  return spans;
}

/** A phase's first start and last end, and each stretch of time it was in force (a phase can come back). */
export interface PhaseSpan {
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly stretches: readonly { readonly from: number; readonly to: number | null }[];
}

/** The starts of each set, in time order, consecutive starts of one phase merged. */
function groupBySet(starts: readonly PhaseStart[]): Map<string, PhaseStart[]> {
  const bySet = new Map<string, PhaseStart[]>();
  for (const s of [...starts].sort((a, b) => a.at - b.at)) {
    let list = bySet.get(s.trackSetId);
    if (list === undefined) bySet.set(s.trackSetId, (list = []));
    if (list.at(-1)?.phase !== s.phase) list.push(s);
  }
  return bySet;
}

/** A phase start as the stores' queries read it: a holdout's with its share (null for a set's). */
export function startOf(row: { trackSetId: string; phase: string; at: number; holdoutShare: number | null }): PhaseStart {
  return { trackSetId: row.trackSetId, phase: row.phase, at: Number(row.at), ...(row.holdoutShare === null ? {} : { holdoutShare: Number(row.holdoutShare) }) };
}

/** The phase starts among every recorded definition: where a set's phase differs from the one before. */
export function phaseStartsOf(definitions: readonly { trackSetId: string; phase: string; at: number; eventId: string; holdoutShare?: number }[]): PhaseStart[] {
  const sorted = [...definitions].sort((a, b) => a.at - b.at || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  const last = new Map<string, string>();
  const starts: PhaseStart[] = [];
  for (const d of sorted) {
    if (last.get(d.trackSetId) === d.phase) continue;
    last.set(d.trackSetId, d.phase);
    starts.push({ trackSetId: d.trackSetId, phase: d.phase, at: d.at, ...(d.holdoutShare === undefined ? {} : { holdoutShare: d.holdoutShare }) });
  }
  return starts;
}
