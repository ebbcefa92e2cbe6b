import { phaseIdOf } from '../model/phase-id.js';
import { adjustDefinition } from '../core/definition.js';
import type { Overrides, TrackSetDefinition } from '../core/definition.js';
import type { Live } from './control-poller.js';
import { quoted } from '../text.js';
import { TracksError } from '../errors.js';

/**
 * What a track set looks like now, and which phase that is. The effective definition is the
 * class's with the store's live overrides (a ramp) applied; the phase is a short hash of that
 * configuration (tracks and weights, coverage, baseline, stickiness, shadow mode) and of the control epoch,
 * which every stop, resume and ramp raises. Every exposure records its phase, so analysis can
 * compare each user with the users assigned under the same configuration.
 */
export class Phases {
  readonly #live: (trackSetId: string) => Live | undefined;
  // Derived once per (class definition, live state): both are kept objects until they change.
  readonly #effective = new WeakMap<TrackSetDefinition, PhaseEntry>();
  readonly #onIgnored: ((error: Error) => void) | undefined;
  /** Whether `tracks promote` made a set declared with `static shadow` a live test. */
  readonly #promoted: (trackSetId: string) => boolean;

  /**
   * @param onIgnored told, once per class and live state, of a ramp's weights for tracks the
   *   class does not have (a forced ramp written before the set was deployed, or a deploy that
   *   removed the track): they are ignored, and the others applied.
   */
  constructor(live: (trackSetId: string) => Live | undefined, onIgnored?: (error: Error) => void, promoted: (trackSetId: string) => boolean = () => false) {
    this.#live = live;
    this.#onIgnored = onIgnored;
    this.#promoted = promoted;
  }

  /** The definition runs of this class use now (every run asks: the common case, no ramp, is one lookup). */
  effective(definition: TrackSetDefinition): TrackSetDefinition {
    return this.#live(definition.id) === undefined ? definition : this.entry(definition).effective;
  }

  /** The class's current phase: its effective definition, id, and whether this process recorded it. */
  entry(definition: TrackSetDefinition): PhaseEntry {
    const live = this.#live(definition.id);
    const cached = this.#effective.get(definition);
    const shadow = definition.shadow !== null && !this.#promoted(definition.id);
    if (cached !== undefined && cached.live === live && cached.shadow === shadow) return cached;
    const effective = live === undefined ? definition : adjustDefinition(definition, this.#usable(definition, live.overrides));
    if (live?.overrides.weights !== undefined) this.#checkNames(definition, live.overrides.weights);
    const entry = { live, shadow, effective, phase: phaseId(effective, live?.epoch ?? 0, shadow), recorded: false };
    this.#effective.set(definition, entry);
    return entry;
  }

  /**
   * The overrides without a weight of 0 for the baseline of a set that is not sticky, which
   * `tracks ramp` refuses (a phase without baseline users has nothing to compare with) but a
   * ramp forced before the set was deployed, or a deploy that changed the baseline, can bring:
   * the class's weight stays, and that is reported.
   */
  #usable(definition: TrackSetDefinition, overrides: Overrides): Overrides {
    const weights = overrides.weights;
    const baseline = definition.baseline;
    if (weights === undefined || baseline === null || definition.sticky || weights.get(baseline) !== 0) return overrides;
    this.#onIgnored?.(
      new TracksError(
        `${definition.className} (${quoted(definition.id)}) was ramped with a weight of 0 for its baseline ${quoted(baseline)}: every phase compares its tracks with it, so its weight stays ` +
          `${definition.byName.get(baseline)?.weight ?? 1} and the other weights are applied; to give one track to everyone, stop the set serving it (tracks stop ${definition.id} --serve <track>)`,
      ),
    );
    return { ...overrides, weights: new Map([...weights].filter(([name]) => name !== baseline)) };
  }

  #checkNames(definition: TrackSetDefinition, weights: ReadonlyMap<string, number>): void {
    const unknown = [...weights.keys()].filter((name) => !definition.byName.has(name));
    if (unknown.length === 0 || this.#onIgnored === undefined) return;
    this.#onIgnored(
      new TracksError(
        `${definition.className} (${quoted(definition.id)}) was ramped with weights for ${unknown.map(quoted).join(', ')}, which it has no track of (its tracks are ${[...definition.byName.keys()].map(quoted).join(', ')}): ` +
          'those weights are ignored and the others applied; ramp it again naming its tracks (tracks ramp --weights)',
      ),
    );
  }
}

/** A class's phase as this process sees it. */
export interface PhaseEntry {
  readonly live: Live | undefined;
  /** Whether the set runs in shadow mode in this phase (declared so, and not promoted). */
  readonly shadow: boolean;
  readonly effective: TrackSetDefinition;
  readonly phase: string;
  /** Whether this process has recorded the phase's definition (set by Exposures). */
  recorded: boolean;
}

/** The phase id of a configuration (see phaseIdOf). */
export function phaseId(definition: TrackSetDefinition, epoch: number, shadow = false): string {
  return phaseIdOf(definition.tracks.map((t) => [t.name, t.weight] as const), definition.coverage, definition.baseline, definition.sticky, epoch, shadow);
}
