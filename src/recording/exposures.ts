import type { ChosenRun } from '../core/run-hooks.js';
import type { TrackSetDefinition } from '../core/definition.js';
import { quoted } from '../text.js';
import { definitionOf } from '../core/track-set.js';
import { TracksError } from '../errors.js';
import type { ExposureEvent, RecordedEvent } from '../model/events.js';
import { unitOfRun } from '../model/unit.js';
import type { UnitOfKey } from '../model/unit.js';
import { newEventId } from './event-id.js';
import type { PhaseEntry, Phases } from './phases.js';
import type { SegmentValues } from './segment-values.js';
import { SeenUnits } from './seen-units.js';
import type { StickyAssignments } from './sticky-assignments.js';
import { eventTime } from '../model/event-time.js';

/**
 * Turns runs into exposure events: one per track set and key per process (repeat visits add
 * nothing), each with the phase it was assigned in; a set's definition (as it is now, with any
 * ramp) once per phase and process, before that phase's first exposure; the unit in its
 * canonical stored form. Names need no check here: a track set's id and track names were
 * checked when its definition was built, and so were the holdout's.
 *
 * A holdout (configure({ holdout })) is recorded through the same path, as a pseudo set whose
 * id is the holdout's: one exposure per keyed unit (track `holdout` or `general`), its
 * definition before its phase's first exposure. A set that has the holdout's id records nothing.
 */
export class Exposures {
  readonly #units: UnitOfKey;
  readonly #seen: SeenUnits;
  readonly #sticky: StickyAssignments;
  readonly #phases: Phases;
  /** Set id and phase, NUL-separated (ids hold no NUL), of every definition recorded. */
  readonly #defined = new Set<string>();
  readonly #stickySets = new Set<string>();
  /** The class definition of every set this process has exposed, by id. */
  readonly #sets = new Map<string, TrackSetDefinition>();
  /** The holdout's pseudo set (configure({ holdout })), recorded like a set under its id. */
  readonly #holdout: TrackSetDefinition | undefined;
  readonly #segments: SegmentValues | undefined;

  constructor(
    units: UnitOfKey,
    seen: SeenUnits,
    sticky: StickyAssignments,
    phases: Phases,
    holdout?: TrackSetDefinition,
    segments?: SegmentValues,
  ) {
    this.#segments = segments;
    this.#units = units;
    this.#seen = seen;
    this.#sticky = sticky;
    this.#phases = phases;
    this.#holdout = holdout;
  }

  /** Emits the events a run in the test records (none for a key already exposed to the set); the exposure, when there is one. */
  record(run: ChosenRun, emit: (event: RecordedEvent) => void): ExposureEvent | undefined {
    const key = run.key;
    if (key !== null && !this.#first(run.id, key)) return undefined;
    const definition = definitionOf((run as object).constructor);
    const dimensions = this.#segments?.of((run as object).constructor as never, definition.id, run.context);
    const exposure = this.#expose(definition, run.name, key === null ? unitOfRun(run.runId) : this.#units.of(key), emit, dimensions);
    if (key !== null && this.#stickySets.has(run.id)) this.#sticky.remember(run.id, key, run.name);
    return exposure;
  }

  /**
   * Emits a keyed unit's exposure to the holdout (`track`: `holdout` or `general`), exactly as
   * a set's: once per unit per process (the store keeps the first), in the holdout's phase,
   * after its definition.
   */
  recordHoldout(key: string, track: string, emit: (event: RecordedEvent) => void): void {
    const holdout = this.#holdout;
    if (holdout === undefined || !this.#first(holdout.id, key)) return;
    this.#expose(holdout, track, this.#units.of(key), emit);
  }

  /** Whether this is the key's first exposure to the set in this process (remembered from now). */
  #first(trackSetId: string, key: string): boolean {
    return this.#seen.add(trackSetId, key);
  }

  /** Emits an exposure of `definition`'s set in its current phase, after the phase's definition. */
  #expose(definition: TrackSetDefinition, track: string, unit: string, emit: (event: RecordedEvent) => void, dimensions?: Record<string, string>): ExposureEvent {
    const entry = this.#phases.entry(definition);
    // The entry remembers that its definition was recorded: no lookup by id on the hot path.
    if (!entry.recorded) this.#publish(definition, entry, false, emit);
    const at = eventTime();
    // Two literals, not a spread of a throwaway object; never `dimensions: undefined` either,
    // which the packing for the store's thread counts as another shape.
    const exposure: ExposureEvent =
      dimensions === undefined
        ? { kind: 'exposure', eventId: newEventId(), trackSetId: definition.id, track, unit, at, phase: entry.phase }
        : { kind: 'exposure', eventId: newEventId(), trackSetId: definition.id, track, unit, at, phase: entry.phase, dimensions };
    emit(exposure);
    return exposure;
  }

  /**
   * A set's first run in this process (in the test or not): records its definition in its
   * current phase, so a set is published when first used, even one whose keys are all
   * ineligible or not covered yet (a test deployed at coverage 0, to ramp).
   */
  used(definition: TrackSetDefinition, isStopped: (trackSetId: string) => boolean, emit: (event: RecordedEvent) => void): void {
    const entry = this.#phases.entry(definition);
    if (!entry.recorded) this.#publish(definition, entry, isStopped(definition.id), emit);
  }

  /** Records a set's definition in the entry's phase, once per process and phase; later phases come from markPhases. */
  #publish(definition: TrackSetDefinition, entry: PhaseEntry, stopped: boolean, emit: (event: RecordedEvent) => void): void {
    const holdout = this.#holdout;
    if (holdout !== undefined && definition.id === holdout.id && definition !== holdout) {
      // Its rows would mix with the holdout's: nothing of the set is recorded (each try is reported).
      throw new TracksError(
        `${definition.className} has the id ${quoted(definition.id)}, which is the holdout's (configure({ holdout })); ` +
          'give the holdout or the set another id: its exposures are not recorded until then',
      );
    }
    entry.recorded = true;
    this.#sets.set(definition.id, definition);
    if (!this.#defined.has(`${definition.id}\u0000${entry.phase}`)) this.#define(entry, stopped, emit);
  }

  /**
   * Before a ramp or resume of `trackSetIds` takes effect here: the sticky ones this process has
   * served load the assignments other processes recorded since its last load (see
   * StickyAssignments.reload). Sets it has not served, and sets that are not sticky, wait for nothing.
   */
  reloadSticky(trackSetIds: ReadonlySet<string>): Promise<void> {
    const sticky = [...trackSetIds].filter((id) => this.#sets.get(id)?.sticky === true);
    return sticky.length === 0 ? Promise.resolve() : this.#sticky.reload(sticky);
  }

  /** Resolves when the sticky lookups asked for so far are answered. */
  settled(): Promise<void> {
    return this.#sticky.settled();
  }

  /** The key's earlier track in a sticky set, from the cache (a miss starts a lookup). */
  stickyTrack(trackSetId: string, key: string): string | undefined {
    this.#stickySets.add(trackSetId);
    return this.#sticky.trackOf(trackSetId, key);
  }

  /**
   * After a stop, resume or ramp: records the new phase of every set this process has exposed,
   * at once, so the phase starts when the change took effect here (a stopped set records no
   * exposures, yet its stop must end the phase before it).
   */
  markPhases(isStopped: (trackSetId: string) => boolean, emit: (event: RecordedEvent) => void): void {
    for (const [id, definition] of this.#sets) {
      const entry = this.#phases.entry(definition);
      if (!this.#defined.has(`${id}\u0000${entry.phase}`)) this.#define(entry, isStopped(id), emit);
    }
  }

  #define(entry: PhaseEntry, stopped: boolean, emit: (event: RecordedEvent) => void): void {
    const { effective: definition, phase } = entry;
    this.#defined.add(`${definition.id}\u0000${phase}`);
    // Without a prototype, a track named 'constructor' or '__proto__' is an ordinary key.
    const weights = Object.create(null) as Record<string, number>;
    for (const track of definition.tracks) weights[track.name] = track.weight;
    emit({
      kind: 'definition',
      eventId: newEventId(),
      trackSetId: definition.id,
      weights,
      coverage: definition.coverage,
      control: definition.baseline,
      phase,
      sticky: definition.sticky,
      stopped,
      ...(definition.id === this.#holdout?.id ? { holdout: true } : {}),
      // A set declared with static shadow says whether this phase runs in shadow mode (the
      // report cannot tell a phase without users apart otherwise); the others say nothing.
      ...(definition.shadow !== null ? { shadow: entry.shadow } : {}),
      at: eventTime(),
    });
  }
}
