import { ErrorCode, StandardResolutionReasons } from '@openfeature/server-sdk';
import type { EvaluationContext, JsonValue, Provider, ResolutionDetails, TrackingEventDetails } from '@openfeature/server-sdk';
import { ParamTrackSet } from '../core/param-track-set.js';
import { currentScope } from '../core/request-scope.js';
import type { Reason } from '../core/run-hooks.js';
import { definitionOf, TrackSet } from '../core/track-set.js';
import type { TrackSetClass } from '../core/track-set.js';
import { quoted } from '../text.js';
import { TracksError } from '../errors.js';
import { checkOptionNames } from '../core/suggest.js';
import { convert, flush } from '../setup/configure.js';

const PROVIDER_OPTIONS = ['trackSets'] as const satisfies readonly (keyof TracksProviderOptions)[];

/**
 * Options of {@link TracksProvider}.
 *
 * @example
 * ```ts
 * const options: TracksProviderOptions = { trackSets: [DelayTracks, PricingTracks] };
 * await OpenFeature.setProviderAndWait(new TracksProvider(options));
 * ```
 */
export interface TracksProviderOptions {
  /** The track sets served as flags; each flag's key is the set's `static id`. */
  readonly trackSets: readonly TrackSetClass[];
}

/**
 * How tracks' reasons map to OpenFeature's resolution reasons (documented in the README).
 *
 * @example
 * ```ts
 * REASONS.assigned; // 'SPLIT'
 * REASONS.forced; // 'STATIC'
 * ```
 */
export const REASONS: Readonly<Record<Reason, string>> = {
  assigned: StandardResolutionReasons.SPLIT,
  ineligible: StandardResolutionReasons.DEFAULT,
  'not covered': StandardResolutionReasons.DEFAULT,
  // Held out (configure({ holdout })): the baseline, as for a key outside the test.
  holdout: StandardResolutionReasons.DEFAULT,
  stopped: StandardResolutionReasons.DISABLED,
  guardrail: StandardResolutionReasons.DISABLED,
  forced: StandardResolutionReasons.STATIC,
  // Shadow mode: everyone gets the baseline while candidates run beside it.
  shadow: StandardResolutionReasons.DEFAULT,
};

type RunnableClass = new (options: { key?: unknown; context?: unknown }) => TrackSet<unknown>;

/**
 * An OpenFeature provider whose flags are track sets: the flag key is the set's id, a string
 * evaluation returns the chosen track's name (`variant` too), an object evaluation returns a
 * ParamTrackSet track's params. The evaluation context maps to the run's options: its
 * `targetingKey` is the key (none: the tracks request scope's, else a fresh draw) and the rest
 * is the context (`this.context` in `isEligible`). Evaluations record exposures exactly as
 * `new` does, and `client.track(metric, context, { value })` records a conversion.
 *
 * @example
 * ```ts
 * import { OpenFeature } from '@openfeature/server-sdk';
 * import { TracksProvider } from 'tracks/openfeature';
 * await OpenFeature.setProviderAndWait(new TracksProvider({ trackSets: [DelayTracks, PricingTracks] }));
 * const client = OpenFeature.getClient();
 * const delay = await client.getStringValue('delay', 'control', { targetingKey: userId, plan: 'pro' });
 * client.track('purchase', { targetingKey: userId }, { value: 12.5 });
 * ```
 */
export class TracksProvider implements Provider {
  readonly metadata = { name: 'tracks' } as const;
  readonly runsOn = 'server' as const;
  readonly #sets = new Map<string, RunnableClass>();
  /**
   * A ParamTrackSet's params by track name, per flag, as JSON text: an object evaluation's value
   * is JSON (OpenFeature's JsonValue; a param's toJSON() applies), parsed anew for each caller,
   * who may change it without changing the set's params or another caller's value.
   */
  readonly #params = new Map<string, ReadonlyMap<string, string | undefined>>();

  constructor(options: TracksProviderOptions) {
    if (typeof options === 'object' && options !== null) checkOptionNames(options, PROVIDER_OPTIONS, 'TracksProvider');
    if (typeof options !== 'object' || options === null || !Array.isArray(options.trackSets)) {
      throw new TracksError('TracksProvider: pass { trackSets: [DelayTracks, ...] }, the track set classes to serve as flags');
    }
    if (options.trackSets.length === 0) {
      // Not refused: a list built at run time may be empty in some environment. Every flag is then FLAG_NOT_FOUND.
      process.emitWarning('TracksProvider: trackSets is empty, so every flag resolves to its default with FLAG_NOT_FOUND; list the track set classes to serve, e.g. { trackSets: [DelayTracks] }', {
        code: 'TRACKS_NO_FLAGS',
      });
    }
    for (const cls of options.trackSets) {
      const definition = definitionOf(cls); // a bad class throws its TracksError here
      const earlier = this.#sets.get(definition.id);
      if (earlier !== undefined && earlier !== (cls as unknown)) {
        throw new TracksError(`TracksProvider: two classes have the id ${quoted(definition.id)}; flag keys must be unique`);
      }
      this.#sets.set(definition.id, cls as unknown as RunnableClass);
      if (cls.prototype instanceof ParamTrackSet) {
        const param = cls as unknown as typeof ParamTrackSet;
        this.#params.set(definition.id, new Map(param.params.map((entry) => [param.trackName(entry), jsonTextOf(entry)] as const)));
      }
    }
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    const run = this.#run(flagKey, context);
    if ('errorCode' in run) return { value: defaultValue, ...run };
    return { value: run.name, ...this.#details(run) };
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    const params = this.#params.get(flagKey);
    if (params === undefined && this.#sets.has(flagKey)) {
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `${quoted(flagKey)} is a TrackSet: its value is a track name; read it with getStringValue` };
    }
    const run = this.#run(flagKey, context);
    if ('errorCode' in run) return { value: defaultValue, ...run };
    // The added no-op control has no params: the caller's default stands for it.
    if (!params!.has(run.name)) return { value: defaultValue, ...this.#details(run) };
    const json = params!.get(run.name);
    if (json === undefined) {
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `the params of ${quoted(flagKey)}'s track ${quoted(run.name)} are not JSON (a function, a cycle); an object flag's value is JSON: give params of plain data` };
    }
    const value = JSON.parse(json) as T;
    return { value, ...this.#details(run) };
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return this.#mismatch(flagKey, defaultValue, 'boolean');
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return this.#mismatch(flagKey, defaultValue, 'number');
  }

  /**
   * `OpenFeature.close()`: writes what is recorded so far (as `flush()`, within its bound), so
   * an application that closes OpenFeature and exits loses nothing. Recording stays on:
   * `configure()` owns it, and `close()` from tracks ends it.
   */
  async onClose(): Promise<void> {
    await flush();
  }

  /** `client.track(metric, context, { value })`: a conversion for the context's key (else the request scope's). */
  track(trackingEventName: string, context: EvaluationContext, details: TrackingEventDetails = {}): void {
    const key = context.targetingKey;
    convert({ ...(key === undefined || key === '' ? {} : { key }), metric: trackingEventName, ...(details.value === undefined ? {} : { value: details.value }) });
  }

  #run(flagKey: string, context: EvaluationContext): TrackSet<unknown> | { reason: string; errorCode: ErrorCode; errorMessage: string } {
    const cls = this.#sets.get(flagKey);
    if (cls === undefined) {
      return { reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND, errorMessage: `no track set has the id ${quoted(flagKey)}; this provider serves ${[...this.#sets.keys()].map(quoted).join(', ')}` };
    }
    const { targetingKey, ...rest } = context;
    const keyed = targetingKey !== undefined && targetingKey !== '';
    // Without a targeting key the run is the request scope's (as `new` in it would be): its
    // context, with the evaluation context's attributes (a global, client or invocation
    // context) added to it; an attribute of the same name wins, as the one given for this
    // evaluation (a scope whose context is not an object gives way to them).
    const scoped = keyed ? undefined : currentScope()?.context;
    const attributes = Object.keys(rest).length > 0;
    let given: { context?: unknown } = attributes ? { context: rest } : {};
    if (scoped !== undefined && !attributes) given = { context: scoped };
    else if (typeof scoped === 'object' && scoped !== null) given = { context: { ...scoped, ...rest } };
    return new cls({ ...(keyed ? { key: targetingKey } : {}), ...given });
  }

  #details(run: TrackSet<unknown>): Omit<ResolutionDetails<never>, 'value'> {
    return { variant: run.name, reason: REASONS[run.reason], flagMetadata: { trackSetId: run.id, inTest: run.inTest, tracksReason: run.reason } };
  }

  #mismatch<T>(flagKey: string, defaultValue: T, type: string): ResolutionDetails<T> {
    if (!this.#sets.has(flagKey)) {
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND, errorMessage: `no track set has the id ${quoted(flagKey)}` };
    }
    return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `${quoted(flagKey)} is a track set, not a ${type} flag: read its track with getStringValue (or a ParamTrackSet's params with getObjectValue)` };
  }
}

/** A params entry as JSON text, or undefined when it has none (a function, a cycle). */
function jsonTextOf(params: unknown): string | undefined {
  try {
    return JSON.stringify(params);
  } catch {
    return undefined;
  }
}
