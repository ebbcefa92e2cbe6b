import type { TrackSetDefinition } from './definition.js';
import type { ShadowOutcome } from './shadow-runner.js';

/**
 * The seam between assignment (pure, in core/) and the layers after it. Recording installs
 * hooks here; core never imports recording, so data flows one way.
 */

/**
 * Why a run got its track: `assigned` (in the test), `ineligible` (its `isEligible` is false),
 * `not covered` (outside the set's coverage), `forced` (QA forcing), `stopped` (the set is
 * stopped), `guardrail` (a guardrail switched the track off) or `holdout` (the key is in the
 * holdout of `configure({ holdout })`, and gets the set's baseline) or `shadow` (the set runs in
 * shadow mode, `static shadow`: everyone gets the baseline, candidates run beside it).
 *
 * @example
 * ```ts
 * using track = new DelayTracks({ key: userId });
 * const reason: Reason = track.reason;
 * if (reason !== 'assigned') log.debug({ reason }, 'not in the delay test');
 * ```
 */
export type Reason = 'assigned' | 'ineligible' | 'not covered' | 'forced' | 'stopped' | 'guardrail' | 'holdout' | 'shadow';

/** What the hooks see of a run once its track is chosen. */
export interface ChosenRun {
  readonly id: string;
  readonly name: string;
  readonly key: string | null;
  readonly runId: string;
  readonly reason: Reason;
  readonly inTest: boolean;
  /** The context the run was given (read by the set's `static dimensions`). */
  readonly context?: unknown;
}

/** Outcome of a control decision: serve `track` (the baseline when undefined) instead of assigning, for `reason`. */
interface ServeInstead {
  readonly track?: string | undefined;
  readonly reason: 'stopped';
}

export interface RunHooks {
  /**
   * The holdout's pseudo track set (`configure({ holdout })`, see core/holdout.ts), or
   * undefined when none is configured: a keyed run that is not forced draws its holdout track
   * in it once, and a key in the holdout gets the set's baseline with reason `holdout`.
   */
  readonly holdout?: TrackSetDefinition | undefined;
  /** Called once per keyed run that drew its holdout track (`holdout` or `general`), before its set's own exposure. */
  holdoutExposed?(key: string, track: string): void;
  /** The definition runs use now: the class's, with live overrides (a ramp) applied. */
  effective?(definition: TrackSetDefinition): TrackSetDefinition;
  /** A stopped test serves one track to everyone. Consulted before eligibility, with the definition runs use now. */
  serveInstead?(definition: TrackSetDefinition): ServeInstead | undefined;
  /** A sticky set's earlier assignment for the key, if any. */
  stickyTrack?(id: string, key: string): string | undefined;
  /** Whether a guardrail has switched the track off in this process. */
  tripped?(id: string, track: string): boolean;
  /** Called once per run that is in the test, when its track is chosen. */
  exposed?(run: ChosenRun): void;
  /** Called after each `run()` of a track, with its duration in milliseconds. */
  ran?(run: ChosenRun, durationMs: number, failed: boolean): void;
  /** Whether a set with `static shadow` still runs in shadow mode: true until `tracks promote` (the default without hooks). */
  shadowMode?(id: string): boolean;
  /** Whether a shadow guardrail stopped the candidate in this process. */
  shadowStopped?(id: string, track: string): boolean;
  /** Called once per candidate of each sampled shadow run, with how it ended. Shadows run only while this is installed. */
  shadowed?(outcome: ShadowOutcome): void;
  /** Whether shadow candidates may run now (false once recording is closed: nothing would count them). */
  shadowing?(): boolean;
}

// undefined while nothing is installed, so the hot path tests one variable and moves on.
let installed: RunHooks | undefined;

/** Installs the hooks that recording uses; returns a function that removes them. */
export function installRunHooks(hooks: RunHooks): () => void {
  installed = hooks;
  return () => {
    if (installed === hooks) installed = undefined;
  };
}

/** The installed hooks, or undefined when none are. */
export function runHooks(): RunHooks | undefined {
  return installed;
}
