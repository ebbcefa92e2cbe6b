import type { TrackSetDefinition } from '../core/definition.js';
import { holdoutDefinition } from '../core/holdout.js';
import type { HoldoutOptions } from '../core/holdout.js';
import { knownTrackSetIds } from '../core/known-sets.js';
import { checkOptionNames } from '../core/suggest.js';
import { quoted, shown } from '../text.js';
import { TracksError } from '../errors.js';
import type { GuardrailEvent } from '../model/events.js';
import { checkMetrics } from '../model/metrics.js';
import type { MetricDeclaration, MetricDeclarations } from '../model/metrics.js';
import { GUARDRAIL_OPTIONS, Guardrails } from './guardrails.js';
import type { GuardrailOptions } from './guardrails.js';

/**
 * The secret `hashKeys` stores keys under (HMAC-SHA-256).
 *
 * @example
 * ```ts
 * const hashKeys: HashKeys = { secret: process.env.TRACKS_KEY_SECRET! };
 * configure({ store: 'tracks.db', hashKeys });
 * ```
 */
export interface HashKeys {
  /**
   * At least 16 characters (or bytes), kept out of the code (an environment variable, a secret
   * store). Keep it stable: a new secret makes every user a new unit.
   */
  readonly secret: string | Uint8Array;
}

/**
 * Keys hashed as tracks 0.1's `hashKeys: true` did: a plain SHA-256, with no secret. Only to
 * keep matching the units a 0.1 store holds: whoever can guess an id (an email, a number) can
 * hash it and find its rows, which a secret prevents (a process warning says so once).
 *
 * @example
 * ```ts
 * configure({ store: 'tracks.db', hashKeys: { unsalted: true } }); // a store written by tracks 0.1 with hashKeys: true
 * ```
 */
export interface UnsaltedHashKeys {
  readonly unsalted: true;
}

/**
 * How recording behaves; every option has a default. See {@link configure}.
 *
 * @example
 * ```ts
 * const recording: RecorderOptions = { flushInterval: 1_000, guardrails: { maxLatencyRatio: 3 }, onError: (e) => log.warn(e) };
 * configure({ store: 'tracks.db', ...recording });
 * ```
 */
export interface RecorderOptions {
  /**
   * Store each key hashed (`h:` and 43 characters), so the store never holds raw ids (default:
   * keys are stored as they are). `{ secret }` hashes with HMAC-SHA-256 under your secret, so
   * nobody can recover an id by hashing guesses: use it. `true` is the same with the secret
   * taken from the environment variable `TRACKS_KEY_SECRET` (a TracksError when it is not set).
   * `{ unsalted: true }` ({@link UnsaltedHashKeys}) hashes with a plain SHA-256 and no secret, as
   * tracks 0.1's `hashKeys: true` did, only to keep matching such a store's units: anyone who
   * can guess an id can find its rows (a process warning says so, once).
   *
   * @example
   * ```ts
   * configure({ store: 'tracks.db', hashKeys: { secret: process.env.TRACKS_KEY_SECRET! } });
   * ```
   */
  readonly hashKeys?: HashKeys | UnsaltedHashKeys | boolean | undefined;
  /**
   * Most events written in one batch (default 2,000, or a tenth of `maxBuffered` when that is
   * less; at most a quarter of it). Small batches keep few events alive in memory (short
   * garbage-collection pauses) and little work per message to the store's thread.
   */
  readonly batchSize?: number | undefined;
  /** How often buffered events are written, in ms (default 250; a full batch is written at once). */
  readonly flushInterval?: number | undefined;
  /**
   * Most events held in memory (default 100,000). From half of it, events spill to the outbox;
   * at it, the oldest tenth spills at once, on the recording thread; only when the outbox cannot
   * take them are new events dropped (counted, reported) until the store or the outbox takes some.
   */
  readonly maxBuffered?: number | undefined;
  /** Most bytes held in memory, estimated, with the same rules as `maxBuffered` (default 32 MiB). */
  readonly maxBufferedBytes?: number | undefined;
  /**
   * The deadline of every store and outbox call (connecting, writing, reading controls, sticky
   * lookups), in ms (default 5,000). A call past it counts as a failure: the store discards the
   * connection, and the events are tried again or spilled.
   */
  readonly writeTimeout?: number | undefined;
  /** First wait after a failed write, in ms; doubles up to `maxRetryDelay` (default 100). */
  readonly retryDelay?: number | undefined;
  /** Longest wait between retries, in ms (default 5,000); while `flush()` or `close()` waits, retries come within its window. */
  readonly maxRetryDelay?: number | undefined;
  /**
   * How long `flush()` waits for the store before spilling what is left to the outbox, in ms
   * (default 10,000). `flush()` and `close()` resolve within `flushTimeout + writeTimeout`.
   */
  readonly flushTimeout?: number | undefined;
  /** How often stop/resume changes are picked up from the store, in ms (default 10,000). */
  readonly controlInterval?: number | undefined;
  /** Keys remembered per process to skip repeat exposures (default 1,000,000). */
  readonly dedupeSize?: number | undefined;
  /** Bytes those keys may take, estimated (default 64 MiB). */
  readonly dedupeBytes?: number | undefined;
  /** Sticky assignments cached per process (default 1,000,000). */
  readonly stickyCacheSize?: number | undefined;
  /** Bytes the sticky cache may take, estimated (default 64 MiB). */
  readonly stickyCacheBytes?: number | undefined;
  /** Switch tracks off in this process when they do much worse than control; off unless given. */
  readonly guardrails?: GuardrailOptions | false | undefined;
  /**
   * Called for recording's failures (a write that failed or timed out, an event refused or
   * quarantined, a spill that failed, events dropped); recording never throws. Events spilled
   * to the outbox because the store is slow are not a failure: they are counted in
   * `stats().spilled`, and written from there. At most 100 calls per kind of failure per 10 s;
   * the rest are summed up in one call. Without it, one line per kind per minute goes to
   * stderr. An async hook may reject: the rejection is ignored.
   */
  readonly onError?: ((error: Error) => void) | undefined;
  /**
   * Called when a guardrail switches a track off, and when a shadow set's guardrail stops a
   * candidate's shadow runs (its `cause` then begins with `shadow candidate`).
   */
  readonly onGuardrail?: ((event: Omit<GuardrailEvent, 'kind' | 'eventId'>) => void) | undefined;
  /**
   * How each metric is analysed, declared once: published to the store with the first event
   * this process records, so `tracks report` and the dashboard use it with no flags. Metrics
   * not declared are inferred (a rate while every user converts at most once, else a mean).
   *
   * @example
   * ```ts
   * configure({ store, metrics: { purchase: { kind: 'conversion' }, revenue: { kind: 'sum' } } });
   * ```
   */
  readonly metrics?: MetricDeclarations | undefined;
  /**
   * Hold a share of keys out of every test: they get every track set's baseline (reason
   * `'holdout'`, not in the test, no exposure of the set), chosen by the holdout's own salt,
   * independent of every set's assignment. Each keyed unit that reaches a set records one
   * exposure of the holdout, as a pseudo track set whose id is `id`, with track `holdout` or
   * `general`, so the report compares the two on every metric: the cumulative effect of
   * everything shipped. Raising `share` only moves keys into the holdout. Forced runs still
   * get their forced track; runs without a key are never held out. Off unless given.
   *
   * @example
   * ```ts
   * configure({ store: 'tracks.db', holdout: { id: 'h2026q4', share: 0.05 } });
   * ```
   */
  readonly holdout?: HoldoutOptions | false | undefined;
}

/** Options with their defaults, checked. */
export interface ResolvedOptions {
  /** The `hashKeys` secret (given, or `TRACKS_KEY_SECRET`'s for `true`), `true` to hash without one (`{ unsalted: true }`), or undefined to store keys as they are. */
  readonly secret: string | Uint8Array | true | undefined;
  readonly batchSize: number;
  readonly flushInterval: number;
  readonly maxBuffered: number;
  readonly maxBufferedBytes: number;
  readonly writeTimeout: number;
  readonly retryDelay: number;
  readonly maxRetryDelay: number;
  readonly flushTimeout: number;
  readonly controlInterval: number;
  readonly dedupeSize: number;
  readonly dedupeBytes: number;
  readonly stickyCacheSize: number;
  readonly stickyCacheBytes: number;
  readonly guardrails: GuardrailOptions | undefined;
  readonly onError: ((error: Error) => void) | undefined;
  readonly onGuardrail: RecorderOptions['onGuardrail'];
  readonly metrics: ReadonlyMap<string, MetricDeclaration>;
  /** The holdout's pseudo track set, or undefined without a holdout. */
  readonly holdout: TrackSetDefinition | undefined;
}

const MIB = 1024 * 1024;
const MAX_MS = 2_147_483_647;

/** Every option `RecorderOptions` has, for spotting a misspelt one. */
export const RECORDER_OPTIONS = [
  'hashKeys',
  'batchSize',
  'flushInterval',
  'maxBuffered',
  'maxBufferedBytes',
  'writeTimeout',
  'retryDelay',
  'maxRetryDelay',
  'flushTimeout',
  'controlInterval',
  'dedupeSize',
  'dedupeBytes',
  'stickyCacheSize',
  'stickyCacheBytes',
  'guardrails',
  'onError',
  'onGuardrail',
  'metrics',
  'holdout',
] as const satisfies readonly (keyof RecorderOptions)[];

/** Checks the options and fills in the defaults; a bad or unknown option is a TracksError naming it and the fix. */
export function resolveOptions(options: RecorderOptions): ResolvedOptions {
  checkOptionNames(options, RECORDER_OPTIONS);
  const n = (name: keyof RecorderOptions, fallback: number) => positive(options[name], name, fallback);
  // Counts of events, entries and bytes: 1.5 events is a typo, said as one.
  const count = (name: keyof RecorderOptions, fallback: number) => {
    const value = n(name, fallback);
    if (!Number.isInteger(value)) throw new TracksError(`configure: ${name} is ${value}; use a whole number (default ${fallback})`);
    return value;
  };
  // A time past a timer's range (2^31 - 1 ms, 24.8 days) would fire at once.
  const ms = (name: keyof RecorderOptions, fallback: number) => {
    const value = n(name, fallback);
    if (value > MAX_MS) throw new TracksError(`configure: ${name} is ${value} ms; use at most ${MAX_MS} (24.8 days)`);
    return value;
  };
  const resolved = {
    secret: secretOf(options.hashKeys),
    // A batch being written still counts in memory: a tenth of the bound leaves room to spill.
    batchSize: count('batchSize', Math.max(1, Math.min(2_000, Math.floor(positive(options.maxBuffered, 'maxBuffered', 100_000) / 10)))),
    flushInterval: ms('flushInterval', 250),
    maxBuffered: count('maxBuffered', 100_000),
    maxBufferedBytes: count('maxBufferedBytes', 32 * MIB),
    writeTimeout: ms('writeTimeout', 5_000),
    retryDelay: ms('retryDelay', 100),
    // The longest wait is at least the first (a retryDelay given alone above 5 s raises it).
    maxRetryDelay: options.maxRetryDelay === undefined ? Math.max(5_000, ms('retryDelay', 100)) : ms('maxRetryDelay', 5_000),
    flushTimeout: ms('flushTimeout', 10_000),
    controlInterval: ms('controlInterval', 10_000),
    dedupeSize: count('dedupeSize', 1_000_000),
    dedupeBytes: count('dedupeBytes', 64 * MIB),
    stickyCacheSize: count('stickyCacheSize', 1_000_000),
    stickyCacheBytes: count('stickyCacheBytes', 64 * MIB),
    guardrails: guardrailsOf(options.guardrails),
    onError: hook(options.onError, 'onError'),
    onGuardrail: hook(options.onGuardrail, 'onGuardrail'),
    metrics: options.metrics === undefined ? new Map<string, MetricDeclaration>() : checkMetrics(options.metrics),
    holdout: holdoutOf(options.holdout),
  };
  // A bound of a few bytes holds no event at all: every one would be dropped, with a message
  // about memory being full. Said here instead.
  if (resolved.maxBufferedBytes < MIN_BUFFERED_BYTES) {
    throw new TracksError(
      `configure: maxBufferedBytes (${resolved.maxBufferedBytes}) holds almost no events (one takes about 200 bytes in memory); ` +
        `use at least ${MIN_BUFFERED_BYTES.toLocaleString('en-US')} (the default is 32 MiB), and maxBuffered to bound the events' number`,
    );
  }
  if (resolved.maxRetryDelay < resolved.retryDelay) {
    throw new TracksError(
      `configure: maxRetryDelay (${resolved.maxRetryDelay}) is less than retryDelay (${resolved.retryDelay}), the first wait it doubles up to; ` +
        'raise maxRetryDelay or lower retryDelay',
    );
  }
  if (resolved.batchSize * 4 > resolved.maxBuffered) {
    throw new TracksError(
      `configure: batchSize (${resolved.batchSize}) is more than a quarter of maxBuffered (${resolved.maxBuffered}); ` +
        'a batch being written stays in memory, so leave room for the rest: lower batchSize or raise maxBuffered',
    );
  }
  return resolved;
}

/**
 * The guardrails option, checked here with the others: the Recorder builds its Guardrails only
 * after configure() has closed the configuration it replaces, so a bad value found there left
 * the process recording nothing (and a misspelt name, such as `maxErrorRate`, was ignored in
 * silence, the guardrail judging by its default).
 */
function guardrailsOf(guardrails: unknown): GuardrailOptions | undefined {
  if (guardrails === undefined || guardrails === false || guardrails === null) return undefined;
  if (guardrails === true) return {}; // on, with the defaults
  if (typeof guardrails !== 'object' || Array.isArray(guardrails)) {
    throw new TracksError(
      `configure: guardrails is ${shown(guardrails)}; ` +
        'pass an object of bounds, e.g. guardrails: { maxErrorRateIncrease: 0.05, maxLatencyRatio: 2 }, or leave it out for none',
    );
  }
  checkOptionNames(guardrails, GUARDRAIL_OPTIONS, 'configure: guardrails');
  new Guardrails(guardrails as GuardrailOptions); // throws a TracksError naming a bad bound
  return guardrails as GuardrailOptions;
}

/** The least maxBufferedBytes: a few hundred events. */
const MIN_BUFFERED_BYTES = 64 * 1024;

/** The holdout option, checked: its pseudo set's definition, or undefined for none. */
function holdoutOf(holdout: unknown): TrackSetDefinition | undefined {
  if (holdout === undefined || holdout === false) return undefined;
  const definition = holdoutDefinition(holdout);
  // The sets this process has read so far; a set read later with the holdout's id is refused
  // when recording first meets it (Exposures).
  if (knownTrackSetIds().includes(definition.id)) {
    throw new TracksError(
      `configure: holdout.id ${quoted(definition.id)} is the id of a track set; give the holdout an id of its own ` +
        "(such as 'h2026q4'): its exposures are recorded as a track set's, under its id",
    );
  }
  return definition;
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new TracksError(`configure: ${name} is ${shown(value)}; use a positive number (default ${fallback})`);
  }
  return value;
}

function hook<F>(value: F | undefined, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new TracksError(`configure: ${name} is ${typeof value}; pass a function, e.g. ${name}: (error) => log.warn(error)`);
  }
  return value;
}

let warnedUnsalted = false;

/**
 * One process warning (code TRACKS_UNSALTED_KEYS) for `hashKeys: { unsalted: true }`,
 * however often a recorder starts with it: a guessed id finds its rows, which a secret prevents.
 */
export function warnUnsaltedOnce(): void {
  if (warnedUnsalted) return;
  warnedUnsalted = true;
  process.emitWarning(
    'hashKeys: { unsalted: true } stores keys as a plain SHA-256: anyone who can guess an id (an email, a number) can hash it and find its rows. ' +
      'Pass hashKeys: { secret: process.env.TRACKS_KEY_SECRET } to hash with HMAC-SHA-256 under a secret instead',
    { type: 'TracksWarning', code: 'TRACKS_UNSALTED_KEYS' },
  );
}

const HASH_KEYS_OPTIONS = ['secret', 'unsalted'] as const satisfies readonly (keyof HashKeys | keyof UnsaltedHashKeys)[];

/** The fewest distinct characters (or bytes) a secret may hold: hashKeys.secret, and an adapter's forceSecret. */
export const MIN_DISTINCT_SECRET_UNITS = 8;

/** Where `hashKeys: true` takes its secret from. */
export const KEY_SECRET_VARIABLE = 'TRACKS_KEY_SECRET';

function secretOf(hashKeys: unknown): string | Uint8Array | true | undefined {
  if (hashKeys === undefined || hashKeys === false) return undefined;
  // `true` (tracks 0.1's switch) hashes under the secret in the environment: a plain SHA-256,
  // which 0.1 stored, lets anyone who guesses an id find its rows, so it is said explicitly.
  if (hashKeys === true) return secretFromEnvironment();
  if (typeof hashKeys === 'object' && hashKeys !== null && !Array.isArray(hashKeys)) {
    checkOptionNames(hashKeys, HASH_KEYS_OPTIONS, 'configure: hashKeys');
    const { unsalted, secret } = hashKeys as { unsalted?: unknown; secret?: unknown };
    if (unsalted !== undefined) {
      if (unsalted !== true || secret !== undefined) {
        throw new TracksError('configure: hashKeys is either { secret } (HMAC-SHA-256 under your secret) or { unsalted: true } (the plain SHA-256 of tracks 0.1), not both');
      }
      // SHA-256 without a secret (see UnitOfKey); the Recorder says once what that leaves open.
      return true;
    }
  }
  const secret = (hashKeys as { secret?: unknown } | null)?.secret;
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new TracksError(
      'configure: hashKeys needs a secret, e.g. hashKeys: { secret: process.env.TRACKS_KEY_SECRET }. With a secret, keys are stored as their ' +
        'HMAC-SHA-256 under it, so nobody can recover an id by hashing guesses',
    );
  }
  return checkedSecret(secret, 'hashKeys.secret');
}

/** The secret of `hashKeys: true`, from the environment; a TracksError saying how to give one when it is not there. */
function secretFromEnvironment(): string {
  const secret = process.env[KEY_SECRET_VARIABLE];
  if (secret === undefined || secret === '') {
    throw new TracksError(
      `configure: hashKeys: true hashes keys under the secret in the environment variable ${KEY_SECRET_VARIABLE}, which is ${secret === undefined ? 'not set' : 'empty'}; ` +
        `set it to at least 16 random characters (e.g. openssl rand -base64 24), or pass hashKeys: { secret }. A store whose keys tracks 0.1 hashed ` +
        'with hashKeys: true (a plain SHA-256, no secret) keeps matching them with hashKeys: { unsalted: true }',
    );
  }
  return checkedSecret(secret, KEY_SECRET_VARIABLE);
}

/** `secret` when it is long and varied enough to be a random secret; else a TracksError naming `name`. */
function checkedSecret<Secret extends string | Uint8Array>(secret: Secret, name: string): Secret {
  const length = typeof secret === 'string' ? Buffer.byteLength(secret) : secret.byteLength;
  if (length < 16) {
    throw new TracksError(`configure: ${name} is ${length} bytes long; use at least 16 random characters (e.g. openssl rand -base64 24)`);
  }
  // Sixteen spaces, or Buffer.alloc(16), pass a length check and protect nothing.
  const units: Iterable<string | number> = secret;
  const distinct = new Set(units).size;
  if (distinct < MIN_DISTINCT_SECRET_UNITS) {
    throw new TracksError(
      `configure: ${name} holds only ${distinct} distinct ${typeof secret === 'string' ? 'character' : 'byte'}${distinct === 1 ? '' : 's'}, which is not a random secret ` +
        '(an unset variable padded, or a zeroed buffer?); use at least 16 random characters (e.g. openssl rand -base64 24)',
    );
  }
  return secret;
}
