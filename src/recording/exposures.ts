import type { ChosenRun } from '../core/run-hooks.js';
import type { TrackSetDefinition } from '../core/definition.js';
import { definitionOf } from '../core/track-set.js';
import type { RecordedEvent } from '../model/events.js';
import { unitOfRun } from '../model/unit.js';
import type { UnitOfKey } from '../model/unit.js';
import { newEventId } from './event-id.js';
import type { PhaseEntry, Phases } from './phases.js';
import { SeenUnits } from './seen-units.js';
import type { StickyAssignments } from './sticky-assignments.js';

/**
 * Turns runs into exposure events: one per track set and key per process (repeat visits add
 * nothing), each with the phase it was assigned in; a set's definition (as it is now, with any
 * ramp) once per phase and process, before that phase's first exposure; the unit in its
 * canonical stored form. Names need no check here: a track set's id and track names were
 * checked when its definition was built.
 */
export class Exposures {
  readonly #units: UnitOfKey;
  readonly #seenKeys: UnitOfKey;
  readonly #seen: SeenUnits;
  readonly #sticky: StickyAssignments;
  readonly #phases: Phases;
  /** Set id and phase, NUL-separated (ids hold no NUL), of every definition recorded. */
  readonly #defined = new Set<string>();
  readonly #stickySets = new Set<string>();
  /** The class definition of every set this process has exposed, by id. */
  readonly #sets = new Map<string, TrackSetDefinition>();

  constructor(units: UnitOfKey, seenKeys: UnitOfKey, seen: SeenUnits, sticky: StickyAssignments, phases: Phases) {
    this.#units = units;
    this.#seenKeys = seenKeys;
    this.#seen = seen;
    this.#sticky = sticky;
    this.#phases = phases;
  }

  /** Emits the events a run in the test records (none for a key already exposed to the set). */
  record(run: ChosenRun, emit: (event: RecordedEvent) => void): void {
    const key = run.key;
    // Long keys are remembered by their digest: the de-duplication set stays small per entry.
    if (key !== null && !this.#seen.add(run.id, key.length > 200 ? this.#seenKeys.of(key) : key)) return;
    const definition = definitionOf((run as object).constructor);
    const entry = this.#phases.entry(definition);
    const phase = entry.phase;
    // The entry remembers that its definition was recorded: no lookup by id on the hot path.
    if (!entry.recorded) this.#publish(definition, entry, false, emit);
    const unit = key === null ? unitOfRun(run.runId) : this.#units.of(key);
    if (key !== null && this.#stickySets.has(run.id)) this.#sticky.remember(run.id, key, run.name);
    emit({ kind: 'exposure', eventId: newEventId(), trackSetId: run.id, track: run.name, unit, at: Date.now(), phase });
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
    entry.recorded = true;
    this.#sets.set(definition.id, definition);
    if (!this.#defined.has(`${definition.id}\u0000${entry.phase}`)) this.#define(entry.effective, entry.phase, stopped, emit);
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
      const phase = this.#phases.phaseOf(definition);
      if (!this.#defined.has(`${id}\u0000${phase}`)) this.#define(this.#phases.effective(definition), phase, isStopped(id), emit);
    }
  }

  #define(definition: TrackSetDefinition, phase: string, stopped: boolean, emit: (event: RecordedEvent) => void): void {
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
      at: Date.now(),
    });
  }
}
