import { createHash, timingSafeEqual } from 'node:crypto';
import { definitionOf } from '../core/track-set.js';
import type { TrackSetClass } from '../core/track-set.js';
import { knownTrackSetIds, knownTracksOf } from '../core/known-sets.js';
import { quoted, shown } from '../text.js';
import { lazyScopeState } from '../core/request-scope.js';
import type { ScopeState } from '../core/request-scope.js';
import { TracksError } from '../errors.js';
import { MIN_DISTINCT_SECRET_UNITS } from '../recording/recorder-options.js';
import { checkOptionNames, nearestName } from '../core/suggest.js';
import { visitorId } from './visitor-id.js';

/**
 * What every framework adapter does per request, whatever the framework: the key (the user's,
 * else an anonymous visitor's cookie, else none), the context, and QA forcing through a header.
 * Each adapter only reads the request and writes the response in its framework's terms.
 */

/** The header QA uses to force tracks on one request: `delay=long,pricing=price_adjusted_by_0`. */
export const FORCE_HEADER = 'x-tracks-force';
/** The header carrying the adapter's `forceSecret`, without which the force header is refused. */
const FORCE_SECRET_HEADER = 'x-tracks-force-secret';

/**
 * The anonymous-visitor cookie's options.
 *
 * @example
 * ```ts
 * const anonymousKey: AnonymousKeyOptions = { cookie: 'coconut_visitor', maxAgeDays: 180, secure: true };
 * app.use(tracks({ key: (req) => req.get('x-user-id'), anonymousKey }));
 * ```
 */
export interface AnonymousKeyOptions {
  /** The cookie's name (default `tracks_visitor`). */
  readonly cookie?: string | undefined;
  /** How long a visitor keeps their key, in days (default 365). */
  readonly maxAgeDays?: number | undefined;
  /**
   * The cookie's Secure flag: by default set when the request came over https (as the
   * framework sees it: Express's `trust proxy`, Fastify's `trustProxy`; Hono reads the URL
   * only). `true` sets it always, as behind a proxy that ends TLS; `false` never.
   */
  readonly secure?: boolean | undefined;
}

/**
 * Options every adapter takes; `Req` is the framework's request (or context).
 *
 * @example
 * ```ts
 * const options: TracksAdapterOptions<Request> = { key: (req) => req.get('x-user-id'), forceSecret: process.env.TRACKS_FORCE_SECRET };
 * app.use(tracks(options)); // tracks/express
 * ```
 */
export interface TracksAdapterOptions<Req, Context = unknown> {
  /** The request's key: the user's id; undefined or null when not logged in. */
  readonly key?: ((request: Req) => unknown) | undefined;
  /** The context runs of this request see (`this.context` in `isEligible`). */
  readonly context?: ((request: Req) => Context) | undefined;
  /**
   * Opt-in: visitors without a key get a random id in a first-party cookie (HttpOnly,
   * SameSite=Lax, Secure on https), so they keep their tracks across requests.
   */
  readonly anonymousKey?: boolean | AnonymousKeyOptions | undefined;
  /**
   * Enables QA forcing: a request may carry `x-tracks-force: delay=long` with this secret in
   * `x-tracks-force-secret`. Without it, or with a wrong secret, the header is refused (403).
   */
  readonly forceSecret?: string | undefined;
  /**
   * The track sets QA may force: known from the start, so a wrong track of theirs is refused
   * with 400 before they first run, and so is a force header naming an id that is neither
   * listed nor run by this process yet. Left out, an unknown id is forced all the same (the set
   * may first run in that request), and named in a warning if no set has it by the request's end.
   */
  readonly trackSets?: readonly TrackSetClass[] | undefined;
}

/**
 * How an adapter reads a request and writes its response, in its framework's terms: one
 * constant object per adapter, so a request costs no closures. `Res` is whatever the adapter
 * passes as the response (the framework's, or a holder of its own).
 */
export interface RequestReader<Req, Res> {
  /** A header's value, lower-case name; undefined when absent. */
  readonly header: (request: Req, name: string) => string | undefined;
  /** Whether the request came over https (sets the cookie's Secure flag); asked only when a cookie is set, as frameworks compute it on every read. */
  readonly https: (request: Req) => boolean;
  /** Adds a Set-Cookie header to the response (a new anonymous visitor's id); false when the response's headers are gone already. */
  readonly setCookie: (request: Req, response: Res, cookie: string) => boolean;
}

/** What the adapter does with a request: refuse it, or run it in a scope (whose first run may set a cookie). */
export type RequestPlan =
  | { readonly refuse: { readonly status: 400 | 403; readonly message: string } }
  | {
      readonly refuse?: undefined;
      readonly scope: ScopeState;
      readonly forced: Readonly<Record<string, string>> | undefined;
      /**
       * Forced set ids this process had not run yet when the request came (checked when the set
       * runs; see {@link reportUnknownForced}); undefined when there are none.
       */
      readonly unknownSets?: readonly string[] | undefined;
    };

const ADAPTER_OPTIONS = ['key', 'context', 'anonymousKey', 'forceSecret', 'trackSets'] as const satisfies readonly (keyof TracksAdapterOptions<unknown>)[];
const ANONYMOUS_KEY_OPTIONS = ['cookie', 'maxAgeDays', 'secure'] as const satisfies readonly (keyof AnonymousKeyOptions)[];

/** The key and context functions the errors show, in each framework's terms (as the adapters' docs write them). */
const EXAMPLES: Readonly<Record<string, { readonly key: string; readonly context: string }>> = {
  'tracks/express': { key: '(req) => req.user?.id', context: '(req) => ({ user: req.user })' },
  'tracks/fastify': { key: "(request) => request.headers['x-user-id']", context: "(request) => ({ plan: request.headers['x-plan'] })" },
  'tracks/hono': { key: "(c) => c.req.header('x-user-id')", context: "(c) => ({ plan: c.req.header('x-plan') })" },
};

const VISITOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Checks an adapter's options once, when the middleware is made; returns the per-request planner. */
export function requestPlanner<Req, Res, Context>(
  adapter: string,
  options: TracksAdapterOptions<Req, Context> = {},
  reader: RequestReader<Req, Res>,
): (request: Req, response: Res) => RequestPlan {
  const example = EXAMPLES[adapter] ?? EXAMPLES['tracks/express']!;
  if (typeof options !== 'object' || options === null) throw new TracksError(`${adapter}: pass an options object, e.g. { key: ${example.key} }`);
  checkOptionNames(options, ADAPTER_OPTIONS, adapter);
  const anonymousKey: unknown = options.anonymousKey;
  // null is off, as undefined and false are.
  if (anonymousKey !== undefined && anonymousKey !== null && typeof anonymousKey !== 'boolean' && (typeof anonymousKey !== 'object' || Array.isArray(anonymousKey))) {
    throw new TracksError(`${adapter}: anonymousKey is ${shown(anonymousKey)}; give true, false, or { cookie, maxAgeDays, secure }`);
  }
  if (typeof anonymousKey === 'object' && anonymousKey !== null) checkOptionNames(anonymousKey, ANONYMOUS_KEY_OPTIONS, `${adapter}: anonymousKey`);
  for (const field of ['key', 'context'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'function') {
      throw new TracksError(`${adapter}: ${field} must be a function of the request, e.g. ${field}: ${example[field]}`);
    }
  }
  if (options.forceSecret !== undefined && (typeof options.forceSecret !== 'string' || options.forceSecret === '')) {
    throw new TracksError(`${adapter}: forceSecret must be a non-empty string (a random secret QA sends in ${FORCE_SECRET_HEADER}; generate one with openssl rand -hex 32)`);
  }
  if (options.forceSecret !== undefined) warnIfWeak(adapter, options.forceSecret);
  const anonymous = options.anonymousKey === true ? {} : options.anonymousKey || undefined;
  const cookieName = anonymous?.cookie ?? 'tracks_visitor';
  if (anonymous !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(cookieName)) {
    throw new TracksError(`${adapter}: anonymousKey.cookie is ${quoted(cookieName)}; use a cookie name of letters, digits and -_.`);
  }
  const days: unknown = anonymous?.maxAgeDays ?? 365;
  // Browsers keep a cookie 400 days at most (RFC 6265bis); past that, or not a finite number
  // (Max-Age=Infinity), they would keep it for the session only, and visitors change tracks.
  if (anonymous !== undefined && !(typeof days === 'number' && days > 0 && days <= 400)) {
    throw new TracksError(`${adapter}: anonymousKey.maxAgeDays is ${shown(days)}; give a number of days above 0 and at most 400 (browsers keep a cookie 400 days at most)`);
  }
  const maxAge = Math.max(1, Math.round((days as number) * 86_400));
  if (anonymous?.secure !== undefined && typeof anonymous.secure !== 'boolean') {
    throw new TracksError(`${adapter}: anonymousKey.secure must be true, false or left out (then set on https requests)`);
  }
  if (anonymous?.secure === false && /^__(Host|Secure)-/i.test(cookieName)) {
    throw new TracksError(`${adapter}: anonymousKey.cookie ${quoted(cookieName)} has a prefix browsers accept only on a Secure cookie; leave secure out (set on https) or set it to true`);
  }
  if (options.trackSets !== undefined && !Array.isArray(options.trackSets)) {
    throw new TracksError(`${adapter}: trackSets is ${shown(options.trackSets)}; give an array of track set classes, e.g. trackSets: [DelayTracks]`);
  }
  for (const cls of options.trackSets ?? []) {
    // Known from now on; a bad class throws here, named as the adapter's option.
    try {
      definitionOf(cls);
    } catch (error) {
      if (error instanceof TracksError) throw new TracksError(`${adapter}: trackSets: ${error.message}`);
      throw error;
    }
  }
  const secret = options.forceSecret === undefined ? undefined : digest(options.forceSecret);

  return (request, response) => {
    let forced: Record<string, string> | undefined;
    let unknownSets: string[] | undefined;
    const header = reader.header(request, FORCE_HEADER);
    if (header !== undefined) {
      if (secret === undefined) return { refuse: { status: 403, message: `${FORCE_HEADER} is refused: this service did not enable QA forcing (forceSecret)` } };
      const given = reader.header(request, FORCE_SECRET_HEADER);
      // Compared in constant time, on digests so lengths match too.
      if (given === undefined || !timingSafeEqual(digest(given), secret)) {
        return { refuse: { status: 403, message: `${FORCE_HEADER} is refused: ${FORCE_SECRET_HEADER} is missing or wrong` } };
      }
      const parsed = parseForce(header, options.trackSets !== undefined);
      if (typeof parsed === 'string') return { refuse: { status: 400, message: parsed } };
      forced = parsed.forced;
      if (parsed.unknownSets.length > 0) unknownSets = parsed.unknownSets;
    }
    // Read when the first run needs them, so that authentication hooks running after this one count.
    const context = options.context;
    const scope = lazyScopeState(() => {
      let key = options.key?.(request);
      if ((key === undefined || key === null || key === '') && anonymous !== undefined) {
        // The first well-formed id: a stale cookie of the same name on a longer path comes first.
        const values = cookiesOf(reader.header(request, 'cookie'), cookieName);
        // An id as tracks writes it first; else one a proxy quoted or put in capitals (RFC 6265
        // allows quotes): still the visitor's id, the same key as before.
        const existing = values.find((value) => VISITOR_ID.test(value)) ?? values.map(unquotedLowerCase).find((value) => VISITOR_ID.test(value));
        if (existing !== undefined) {
          key = existing;
        } else {
          key = visitorId();
          const secure = anonymous.secure ?? reader.https(request);
          // Headers already sent (a first run in a streamed response): the visitor cannot be
          // remembered, so this request runs as one without a key; reported once per process.
          if (!reader.setCookie(request, response, `${cookieName}=${key}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`)) {
            key = undefined;
            lateCookie(adapter);
          }
        }
      }
      // An empty key is no key (as OpenFeature's empty targetingKey): never one shared assignment.
      return key === '' ? undefined : key;
    }, context === undefined ? undefined : () => context(request));
    return unknownSets === undefined ? { scope, forced } : { scope, forced, unknownSets };
  };
}

const warnedUnknown = new Set<string>();

/**
 * Once a forced request is done: a set id of its QA header that no set in this process has run
 * even now is most likely a typo; said once per adapter and id (the response is gone, so it
 * cannot be a 400). A set first run during the request was checked then: a track it does not
 * have is a TracksError from the run.
 */
export function reportUnknownForced(adapter: string, ids: readonly string[]): void {
  for (const id of ids) {
    if (knownTracksOf(id) !== undefined || warnedUnknown.has(`${adapter}\u0000${id}`)) continue;
    warnedUnknown.add(`${adapter}\u0000${id}`);
    const known = knownTrackSetIds();
    process.emitWarning(
      `${adapter}: ${FORCE_HEADER} named the track set ${quoted(id)}, which no set in this process has run, even by the end of the request` +
        `${known.length > 0 ? ` (it knows ${known.map(quoted).join(', ')})` : ''}; check the id (the static id of the class). Give the adapter its sets (trackSets: [...]) to have a wrong id, or a wrong track of a set not run yet, refused with 400`,
      { code: 'TRACKS_UNKNOWN_FORCED_SET' },
    );
  }
}

const warnedWeak = new Set<string>();

/**
 * A short or placeholder forceSecret ('secret', 'aaaa...', as hashKeys.secret counts them) is
 * said once per adapter, not refused: it only lets a guesser choose their own tracks (forced
 * runs are left out of the test), and a test's or a demo's literal secret should not stop an app.
 */
function warnIfWeak(adapter: string, secret: string): void {
  if ((secret.length >= MIN_SECRET_LENGTH && new Set(secret).size >= MIN_DISTINCT_SECRET_UNITS) || warnedWeak.has(adapter)) return;
  warnedWeak.add(adapter);
  process.emitWarning(
    `${adapter}: forceSecret is ${secret.length < MIN_SECRET_LENGTH ? `${secret.length} characters long` : `made of fewer than ${MIN_DISTINCT_SECRET_UNITS} distinct characters`}, ` +
      `easy to guess: anyone who guesses it can force their own tracks. Use a random secret of at least ${MIN_SECRET_LENGTH} characters (openssl rand -hex 32)`,
    { code: 'TRACKS_WEAK_FORCE_SECRET' },
  );
}

/** The least length of a forceSecret that is not warned about. */
const MIN_SECRET_LENGTH = 16;

const warnedLate = new Set<string>();

/** Says once per adapter that a visitor's first run came too late to set their cookie. */
function lateCookie(adapter: string): void {
  if (warnedLate.has(adapter)) return;
  warnedLate.add(adapter);
  process.emitWarning(
    `${adapter}: a visitor's first run came after the response's headers were sent (a streamed response), so the visitor cookie could not be set; ` +
      'such a request runs as one without a key. Run a track before the response starts (or in a middleware) to keep anonymous visitors.',
    { code: 'TRACKS_LATE_VISITOR_COOKIE' },
  );
}

/**
 * `delay=long,pricing=price_adjusted_by_0` as tracks by set id, or what is wrong. A set this
 * process knows has its track checked now. An id it does not know is refused when the adapter
 * was given its sets (`listed`: trackSets names what QA may force before a first run);
 * otherwise the set may be first used in this request (a QA request to a freshly started
 * service), so it is let through, as `forceTracks` lets it, and listed in `unknownSets`.
 */
function parseForce(header: string, listed: boolean): { forced: Record<string, string>; unknownSets: string[] } | string {
  const forced = Object.create(null) as Record<string, string>;
  const unknownSets: string[] = [];
  if (header.replace(/[\s,]/g, '') === '') return `${FORCE_HEADER} is empty; write set=track pairs, like delay=long,pricing=price_adjusted_by_0`;
  for (const part of header.split(',')) {
    const pair = part.trim();
    if (pair === '') return `${FORCE_HEADER} has an empty pair in ${quoted(header)}; write set=track pairs separated by commas, like delay=long,pricing=price_adjusted_by_0`;
    const at = pair.indexOf('=');
    const id = at < 0 ? '' : pair.slice(0, at).trim();
    const track = at < 0 ? '' : pair.slice(at + 1).trim();
    if (id === '' || track === '') return `${FORCE_HEADER} has ${quoted(pair)}; write set=track pairs, like delay=long,pricing=price_adjusted_by_0`;
    const tracks = knownTracksOf(id);
    if (tracks === undefined) {
      const refused = unknownSetProblem(id, listed);
      if (refused !== undefined) return refused;
      unknownSets.push(id);
    } else if (!tracks.includes(track)) return `${FORCE_HEADER}: ${quoted(id)} has no track ${quoted(track)}; its tracks are ${tracks.map(quoted).join(', ')}`;
    if (forced[id] !== undefined) return `${FORCE_HEADER} names the track set ${quoted(id)} twice; force one track per set`;
    forced[id] = track;
  }
  return { forced, unknownSets };
}

/**
 * Why an id no set of this process has is refused up front, or undefined when it may be a set
 * not run yet. Only with the adapter's sets listed: a near miss of a known id is no proof of a
 * typo (delay and delay2, checkout_v1 and checkout_v2 are both real), and a rule that hung on
 * what the process happened to run first would refuse a request today that it forced yesterday.
 */
function unknownSetProblem(id: string, listed: boolean): string | undefined {
  if (!listed) return undefined;
  const known = knownTrackSetIds();
  // Edits allowed grow with the id: 'xy' is no misspelling of 'ab'.
  const near = nearestName(id, known, (name) => (name.length < 4 ? 0 : name.length < 8 ? 1 : 2));
  return (
    `${FORCE_HEADER}: no track set has the id ${quoted(id)}${near === undefined ? '.' : `; did you mean ${quoted(near)}?`} ` +
    `The sets QA can force here are ${known.length === 0 ? 'none yet' : known.map(quoted).join(', ')} (the adapter's trackSets and those this process has run). ` +
    'Check the id (the static id of the class), or list its class in trackSets'
  );
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Every value of one cookie in a Cookie header, in order (a browser sends the longest path first). */
function cookiesOf(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) values.push(part.slice(at + 1).trim());
  }
  return values;
}

/** A cookie value without its double quotes, in lower case. */
function unquotedLowerCase(value: string): string {
  return (value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value).toLowerCase();
}
