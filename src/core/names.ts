import { firstControlCharacter, hasLoneSurrogate } from '../text.js';

/**
 * What a name (a track set id, a track, a metric) may be, so that every store holds it as
 * given and every terminal shows it as text: non-empty, at most {@link MAX_NAME_LENGTH}
 * UTF-16 code units and {@link MAX_NAME_BYTES} bytes of UTF-8, no control characters (C0, DEL,
 * C1) and no unpaired surrogates (which PostgreSQL would merge into U+FFFD while SQLite keeps
 * them apart).
 */

/** The longest name, in UTF-16 code units. */
const MAX_NAME_LENGTH = 200;

/**
 * The longest name, in bytes of UTF-8: 200 ASCII characters, 133 CJK ones. Names are parts of
 * PostgreSQL index keys, and PostgreSQL refuses a key over 2,704 bytes: the exposure counts'
 * key holds a set id, a track name, the phase and the stored dimensions (see
 * MAX_DIMENSIONS_BYTES), which with 400 bytes a name stay under 2,500 bytes whatever the text.
 * (200 characters alone allow 600 bytes: a CJK set id and track with 8 long dimensions made
 * a 3,144-byte key, refused by PostgreSQL while SQLite stored it.)
 */
export const MAX_NAME_BYTES = 400;

/**
 * Why `value` is not a usable name, or undefined when it is. The answer completes a sentence
 * such as "metric <answer>".
 *
 * @example
 * ```ts
 * nameProblem('purchase');   // undefined
 * nameProblem('a\u0000b');   // "contains the control character U+0000; ..."
 * ```
 */
export function nameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `is ${value === null ? 'null' : typeof value}, not a string`;
  if (value.trim() === '') return 'is empty';
  if (value.length > MAX_NAME_LENGTH) return `is ${value.length} characters long; use at most ${MAX_NAME_LENGTH}`;
  // Only a name of more than a third of the bound in code units can be over it in bytes.
  if (value.length * 3 > MAX_NAME_BYTES) {
    const bytes = utf8Length(value);
    if (bytes > MAX_NAME_BYTES) return `is ${bytes} bytes long in UTF-8 (${value.length} characters); use at most ${MAX_NAME_BYTES} bytes (${MAX_NAME_LENGTH} ASCII characters, ${Math.floor(MAX_NAME_BYTES / 3)} CJK ones)`;
  }
  const control = firstControlCharacter(value);
  if (control !== undefined) return `contains the control character ${control}; use printable characters`;
  if (hasLoneSurrogate(value)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode); use well-formed text';
  return undefined;
}

/**
 * How many bytes `text` takes in UTF-8 (an unpaired surrogate counted as the 3 bytes of
 * U+FFFD, which replaces it), without encoding it.
 *
 * @example
 * ```ts
 * utf8Length('prüfung-🥥'); // 13
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 2 code units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}
