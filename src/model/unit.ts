/**
 * Units: how a key is stored. Every store holds the same unit for the same key, and distinct
 * keys always get distinct units:
 *
 * - a key of at most {@link MAX_RAW_UNIT_LENGTH} characters, with no control character, no
 *   unpaired surrogate, and not starting with a reserved prefix (`k:`, `h:`, `run:`), is
 *   stored as it is;
 * - any other key is stored as `k:` and the base64url SHA-256 of its UTF-8 bytes (WTF-8 for
 *   unpaired surrogates, so even those stay distinct): never truncated, never merged;
 * - with `hashKeys: { secret }`, every key is stored as `h:` and the base64url HMAC-SHA-256 of
 *   its bytes under your secret, so nobody can recover an id by hashing guesses;
 * - with `hashKeys: { unsalted: true }` (tracks 0.1's `hashKeys: true`), every key is stored as `h:` and the base64url SHA-256 of its bytes:
 *   no raw id in the store, but anyone who can guess an id (an email, a number) can hash the
 *   guess and find its rows, which a secret prevents;
 * - a run without a key is its own unit, `run:<runId>`.
 */
import { createHash, createHmac, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { nameProblem } from '../core/names.js';
import { hasControlCharacter, hasLoneSurrogate } from '../text.js';
import { TracksError } from '../errors.js';

/** The longest key stored as it is; longer keys are stored as `k:<sha256>`. */
const MAX_RAW_UNIT_LENGTH = 200;

const RESERVED = /^(?:k:|h:|run:)/;
const DIGEST = /^[A-Za-z0-9_-]{43}$/;

/**
 * Turns keys into units, the form every store holds them in: raw, `k:<sha256>` for unusual
 * keys, `h:<hmac>` under a secret, or `h:<sha256>` with `hashKeys: { unsalted: true }` (see the module
 * comment). Use it to find a key's rows with your own SQL.
 *
 * @example
 * ```ts
 * new UnitOfKey().of('user-42');                        // 'user-42'
 * new UnitOfKey().of('x'.repeat(300));                  // 'k:…' (43 base64url characters)
 * new UnitOfKey(process.env.TRACKS_KEY_SECRET).of(id);  // 'h:…', as hashKeys: { secret } stores it
 * new UnitOfKey(true).of(id);                           // 'h:…', as hashKeys: { unsalted: true } stores it
 * ```
 */
export class UnitOfKey {
  readonly #secret: KeyObject | undefined;
  readonly #hashed: boolean;

  /** `secret`: the `hashKeys` secret, `true` to hash keys without one, or undefined to store keys as they are. */
  constructor(secret?: string | Uint8Array | true) {
    if (secret !== undefined && secret !== true && typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
      throw new TracksError(`UnitOfKey: the secret is ${secret === null ? 'null' : typeof secret}; give the hashKeys secret (a string or bytes), true to hash without one, or nothing`);
    }
    this.#hashed = secret !== undefined;
    this.#secret = secret === undefined || secret === true ? undefined : createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
  }

  /** Whether keys are hashed (with a secret or without). */
  get hashed(): boolean {
    return this.#hashed;
  }

  /** The unit of a serialized key (`serializeKey(key)` for a number or an object). */
  of(key: string): string {
    if (typeof key !== 'string') {
      throw new TracksError(
        `UnitOfKey.of: the key is ${key === null ? 'null' : `a ${typeof key}`}; give it as recording serializes it, a string: new UnitOfKey().of(serializeKey(key))`,
      );
    }
    if (this.#secret !== undefined) return `h:${createHmac('sha256', this.#secret).update(bytesOf(key)).digest('base64url')}`;
    // Every key hashed, a short plain one too: `h:` and 43 characters, never the raw id.
    if (this.#hashed) return `h:${createHash('sha256').update(bytesOf(key)).digest('base64url')}`;
    return isPlainKey(key) ? key : `k:${createHash('sha256').update(bytesOf(key)).digest('base64url')}`;
  }
}

/** Whether a key is stored as it is (short, printable, well-formed, no reserved prefix). */
function isPlainKey(key: string): boolean {
  return key.length <= MAX_RAW_UNIT_LENGTH && key !== '' && !hasControlCharacter(key) && !RESERVED.test(key) && !hasLoneSurrogate(key);
}

/** The unit of a run without a key. */
export function unitOfRun(runId: string): string {
  return `run:${runId}`;
}

/**
 * Why `unit` is not a unit recording could have produced, or undefined when it is. Stores
 * refuse the others, so that what one store holds every store holds.
 */
export function unitProblem(unit: unknown): string | undefined {
  if (typeof unit !== 'string') return `is ${typeof unit}, not a string`;
  if (unit.startsWith('k:') || unit.startsWith('h:')) {
    return DIGEST.test(unit.slice(2)) ? undefined : `starts with the reserved prefix '${unit.slice(0, 2)}' but is not a 43-character digest`;
  }
  if (unit.startsWith('run:')) {
    const problem = nameProblem(unit.slice(4));
    return problem === undefined ? undefined : `is a run unit whose run id ${problem}`;
  }
  if (!isPlainKey(unit)) {
    return unit === '' ? 'is empty' : `is not in canonical form (longer than ${MAX_RAW_UNIT_LENGTH}, or holding a control character or unpaired surrogate); store it as new UnitOfKey().of(key) gives it`;
  }
  return undefined;
}

/**
 * The key's bytes: UTF-8, or WTF-8 when it holds unpaired surrogates (each then encoded on its
 * own as UTF-8 would encode its code point), so that no two strings share bytes.
 */
function bytesOf(key: string): Buffer {
  if (!hasLoneSurrogate(key)) return Buffer.from(key, 'utf8');
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    let cp = key.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < key.length) {
      const next = key.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Buffer.from(bytes);
}
