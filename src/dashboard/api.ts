import { promoteTrackSet, rampTrackSet, resumeTrackSet, stopTrackSet } from '../stores/control-state.js';
import { TracksError } from '../errors.js';
import { buildReport } from '../report/build-report.js';
import type { ReportOptions } from '../report/build-report.js';
import type { Report } from '../report/report-model.js';
import type { ControlState } from '../model/events.js';
import type { MetricDeclaration } from '../model/metrics.js';
import type { Store } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import { readAnalysis } from '../report/read-analysis.js';
import type { Analysis, AnalysisOptions } from '../report/read-analysis.js';
import { dimensionNameProblem } from '../model/dimensions.js';
import type { KnownSets } from './known-sets.js';

/**
 * What the page's JSON endpoints do. Every number comes from `buildReport`, the model behind
 * `tracks report --json`; stop, resume, ramp and promote are the functions `tracks stop`,
 * `tracks resume`, `tracks ramp` and `tracks promote` call.
 */

/** Report options the dashboard passes through (the same flags as `tracks report`). */
export type DashboardReportOptions = Pick<ReportOptions, 'alpha' | 'sequential' | 'correction' | 'baselines' | 'minUsers' | 'cuped'>;

/** A request the API refuses, with the HTTP status to answer with. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The report for the overview (every track set, no timeline: exactly the work of
 * `tracks report --json`), or for one track set with its cumulative lift by day. With `by`
 * (a dimension of the sets' `static dimensions`), each set is also broken down by it, as
 * `tracks report --by` does: `trackSets[i].segments`.
 */
export async function reportFor(store: Store, options: DashboardReportOptions, trackSetId?: string, by?: string): Promise<Report> {
  const segments = by === undefined ? {} : { by };
  if (trackSetId === undefined) return everySet(store, options, segments);
  const { sums, metrics, shadow } = await analysisOf(store, { trackSetId, daily: true, ...segments, ...cupedOf(options) });
  if (sums.length === 0) throw new ApiError(404, `unknown track set '${trackSetId}'`);
  return buildReport(sums, { ...options, metrics, shadow, store: store.description, timeline: true, allPhases: true });
}

/**
 * The list of track sets (the page's first view): each set's users, tracks, status and warnings
 * as `reportFor` gives them, read without the join of every exposure with its unit's
 * conversions (`summarize({ metrics: false })`), most of a big store's summary, since the list
 * shows no metric. Unless a declared metric is a guardrail: its warning needs the metric results
 * (and their correction across every metric), so the whole report is read then.
 */
export async function overviewFor(store: Store, options: DashboardReportOptions): Promise<Report> {
  const declared = (await store.readMetrics?.()) ?? new Map<string, MetricDeclaration>();
  const guarded = [...declared.values()].some((d) => d.guardrail === true);
  return everySet(store, options, guarded ? {} : { metrics: false });
}

/** The report of every set, with no timeline: `tracks report --json`'s work, less what `summarize` leaves out. */
async function everySet(store: Store, options: DashboardReportOptions, summarize: Pick<AnalysisOptions, 'by' | 'metrics'>): Promise<Report> {
  const { sums, metrics, shadow } = await analysisOf(store, { daily: false, ...summarize, ...cupedOf(options) });
  return buildReport(sums, { ...options, metrics, shadow, store: store.description });
}

/** The same CUPED window for the sums as for the report built from them. */
function cupedOf(options: DashboardReportOptions): Pick<AnalysisOptions, 'cuped'> {
  return options.cuped === undefined ? {} : { cuped: options.cuped };
}

/** The `by` query parameter: absent, or a dimension name; anything else is a 400. */
export function dimensionParam(value: string | null): string | undefined {
  if (value === null) return undefined;
  if (dimensionNameProblem(value) !== undefined) {
    throw new ApiError(400, 'by must be a dimension name from the set\'s static dimensions(), like country or plan: a letter or _, then letters, digits or _ (at most 40)');
  }
  return value;
}

/**
 * The dimensions a set's exposures carry (`static dimensions(context)`), sorted: the page's
 * "Break down by" choices. None for a set without any, or a store that cannot list them
 * (`readDimensions` is optional; `by` still works for a name you know). An unknown set is a
 * 404, as on the other per-set endpoints: an empty list would pass a typo off as a set with none.
 * A set in `known` (listed by a report this dashboard served) is not looked up again.
 */
export async function dimensionsOf(store: Store, trackSetId: string, known?: KnownSets): Promise<string[]> {
  await checkKnownSet(store, trackSetId, known);
  try {
    return (await store.readDimensions?.(trackSetId)) ?? [];
  } catch (error) {
    if (error instanceof StoreError && (error.code === 'TRACKS_NO_DATA' || error.code === 'TRACKS_SCHEMA')) throw new ApiError(404, error.message);
    throw error;
  }
}

/** A 404 for a set the store holds nothing of; a set in `known` is not looked up (a summary of the whole set). */
async function checkKnownSet(store: Store, trackSetId: string, known: KnownSets | undefined): Promise<void> {
  if (known?.has(trackSetId) === true) return;
  const [found] = (await analysisOf(store, { trackSetId, daily: false, cuped: false })).sums;
  if (found === undefined) throw new ApiError(404, `unknown track set '${trackSetId}'`);
}

/** The store's sums and declarations; a store that holds no tracks data is a 404 that says so, not a 500. */
async function analysisOf(store: Store, options: AnalysisOptions): Promise<Analysis> {
  try {
    return await readAnalysis(store, options);
  } catch (error) {
    if (error instanceof StoreError && (error.code === 'TRACKS_NO_DATA' || error.code === 'TRACKS_SCHEMA')) throw new ApiError(404, error.message);
    throw error;
  }
}

/** A stop, resume, ramp or promote request from the page. */
export interface ControlRequest {
  readonly action: ControlAction;
  readonly trackSetId: string;
  /** The track to serve while stopped (stop only; default control). */
  readonly serve?: string | undefined;
  /** A ramp's new coverage, 0 to 1 (ramp only). */
  readonly coverage?: number | undefined;
  /** A ramp's new weights by track (ramp only); tracks not named keep theirs. */
  readonly weights?: Readonly<Record<string, number>> | undefined;
}

/** What the page can change: each is a POST to `/api/<action>`. */
export type ControlAction = 'stop' | 'resume' | 'ramp' | 'promote';

/** The control actions, as the routes match them. */
export const CONTROL_ACTIONS: readonly ControlAction[] = ['stop', 'resume', 'ramp', 'promote'];

/** The body fields each state-changing request takes. */
const CONTROL_FIELDS: Readonly<Record<ControlAction, readonly string[]>> = {
  stop: ['trackSetId', 'serve'],
  resume: ['trackSetId'],
  ramp: ['trackSetId', 'coverage', 'weights'],
  promote: ['trackSetId'],
};

/** Parses and checks a control request's JSON body. */
export function parseControlRequest(action: ControlAction, body: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ApiError(400, 'the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, 'the body must be a JSON object');
  // A misspelt field is refused rather than left out: { trackSetId, server: 'long' } would
  // otherwise stop the set serving the baseline to everyone, which the caller did not ask for.
  const fields = CONTROL_FIELDS[action];
  const unknown = Object.keys(value).find((key) => !fields.includes(key));
  if (unknown !== undefined) {
    throw new ApiError(400, `${action} takes ${fields.map((f) => `'${f}'`).join(', ')}, not '${unknown.slice(0, 100)}'`);
  }
  const { trackSetId, serve, coverage, weights } = value as { trackSetId?: unknown; serve?: unknown; coverage?: unknown; weights?: unknown };
  if (typeof trackSetId !== 'string' || trackSetId === '') throw new ApiError(400, 'trackSetId must be a non-empty string');
  // Resume and promote take nothing but the set: promote applies the set's declared weights.
  if (action === 'resume' || action === 'promote') return { action, trackSetId };
  if (action === 'ramp') {
    if (coverage !== undefined && typeof coverage !== 'number') throw new ApiError(400, 'coverage must be a number from 0 to 1');
    if (weights !== undefined && (typeof weights !== 'object' || weights === null || Array.isArray(weights) || Object.values(weights).some((w) => typeof w !== 'number'))) {
      throw new ApiError(400, 'weights must be an object of numbers by track name');
    }
    return {
      action,
      trackSetId,
      ...(coverage === undefined ? {} : { coverage }),
      ...(weights === undefined ? {} : { weights: Object.assign(Object.create(null) as Record<string, number>, weights) }),
    };
  }
  if (serve !== undefined && typeof serve !== 'string') throw new ApiError(400, 'serve must be a track name');
  return serve === undefined ? { action, trackSetId } : { action, trackSetId, serve };
}

/**
 * Stops, resumes, ramps or promotes a recorded track set through the same functions as the
 * CLI. Unlike the CLI (which may act on a set before any process recorded it, with --force),
 * the page only acts on sets it shows: an unknown set is a 404, and promoting a set without
 * shadow runs is a 400 with promoteTrackSet's message. A set in `known` is not looked up again.
 */
export async function applyControl(store: Store, request: ControlRequest, known?: KnownSets): Promise<ControlState> {
  await checkKnownSet(store, request.trackSetId, known);
  try {
    if (request.action === 'ramp') {
      const ramp = { ...(request.coverage === undefined ? {} : { coverage: request.coverage }), ...(request.weights === undefined ? {} : { weights: request.weights }) };
      return await rampTrackSet(store, request.trackSetId, ramp);
    }
    if (request.action === 'promote') return await promoteTrackSet(store, request.trackSetId);
    return request.action === 'stop'
      ? await stopTrackSet(store, request.trackSetId, request.serve)
      : await resumeTrackSet(store, request.trackSetId);
  } catch (error) {
    if (error instanceof TracksError) throw new ApiError(400, error.message);
    throw error;
  }
}
