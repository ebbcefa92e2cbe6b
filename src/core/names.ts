import { TracksError } from '../errors.js';

/**
 * What a name (a track set id, a track, a metric) may be, so that every store holds it as
 * given and every terminal shows it as text: non-empty, at most {@link MAX_NAME_LENGTH}
 * UTF-16 code units and {@link MAX_NAME_BYTES} bytes of UTF-8, no control characters (C0, DEL,
 * C1) and no unpaired surrogates (which PostgreSQL would merge into U+FFFD while SQLite keeps
 * them apart).
 */

/** The longest name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 200;

/**
 * The longest name, in bytes of UTF-8: 200 ASCII characters, 133 CJK ones. Names are parts of
 * PostgreSQL index keys, and PostgreSQL refuses a key over 2,704 bytes: the exposure counts'
 * key holds a set id, a track name, the phase and the stored dimensions (see
 * MAX_DIMENSIONS_BYTES), which with 400 bytes a name stay under 2,500 bytes whatever the text.
 * (200 characters alone allow 600 bytes: a CJK set id and track with 8 long dimensions made
 * a 3,144-byte key, refused by PostgreSQL while SQLite stored it.)
 */
export const MAX_NAME_BYTES = 400;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Bidirectional embeddings, overrides, isolates and marks (U+202A-202E, U+2066-2069, U+200E-200F, U+061C). */
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

/** Whether `text` holds a control character (C0, DEL or C1). */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** Whether `text` holds a UTF-16 surrogate without its pair (not valid Unicode). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

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
  const control = CONTROL.exec(value);
  if (control) return `contains the control character ${codePoint(control[0])}; use printable characters`;
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode); use well-formed text';
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

/**
 * `text` with control characters, bidirectional overrides and isolates, and unpaired
 * surrogates written as escapes (`\x00`, `\u{202e}`, `\u{d800}`), so that a name read back
 * from a store can never move a terminal's cursor, clear its screen, hide what follows or
 * reorder the text around it (a right-to-left override makes `txt.exe` of `exe.txt`).
 *
 * @example
 * ```ts
 * escapeControl('evil\u001b[2Jname'); // 'evil\\x1b[2Jname'
 * escapeControl('\u202eevil'); // '\\u{202e}evil'
 * ```
 */
export function escapeControl(text: string): string {
  if (!CONTROL.test(text) && !LONE_SURROGATE.test(text) && !BIDI.test(text)) return text;
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(new RegExp(`${LONE_SURROGATE.source}|${BIDI.source}`, 'g'), (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/** Describes a human-readable label for a value in a message: quoted and escaped. */
export function quoted(text: string): string {
  return `'${escapeControl(text.length > 60 ? `${text.slice(0, 57)}...` : text)}'`;
}

/**
 * A value the caller gave, for a message: a string as `the string '2'`, so that a number given
 * as text does not read as the number being refused (`weight is 2; use a number`); an object
 * or array as its JSON, cut at 60 characters.
 */
export function shown(value: unknown): string {
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) {
    // Not String(value), which says [object Object].
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    const kind = Array.isArray(value) ? 'an array' : 'an object';
    return json === undefined ? kind : `${kind} ${json.length > 60 ? `${json.slice(0, 57)}...` : json}`;
  }
  return String(value);
}

function codePoint(char: string): string {
  return `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Edits between two names (optimal string alignment: a character added, dropped or changed,
 * or two neighbours swapped, each counts one), for "did you mean" suggestions.
 *
 * @example
 * ```ts
 * editDistance('weigths', 'weights'); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The name of `known` nearest to `given` (by {@link editDistance}, letter case aside), if one is
 * within `within(name)` edits (2 by default): the one "did you mean" suggestion for a misspelt
 * option, a CLI flag or a static member.
 *
 * @example
 * ```ts
 * nearestName('flushIntervall', ['store', 'flushInterval']); // 'flushInterval'
 * ```
 */
export function nearestName(given: string, known: readonly string[], within: (name: string) => number = () => 2): string | undefined {
  let nearest: string | undefined;
  let best = Number.POSITIVE_INFINITY;
  const lower = given.toLowerCase();
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= within(name) && distance < best) [nearest, best] = [name, distance];
  }
  return nearest;
}

/**
 * Throws a TracksError for an option that is not in `known`, suggesting the nearest name: a
 * misspelt option (`flushIntervall`, `stor`) would otherwise be ignored in silence. `where`
 * names what took the options (`configure`, `tracks/express`, ...).
 *
 * @example
 * ```ts
 * checkOptionNames({ stor: 'tracks.db' }, ['store']); // TracksError: unknown option 'stor'; did you mean 'store'?
 * ```
 */
export function checkOptionNames(options: object, known: readonly string[], where = 'configure'): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const near = nearestName(name, known);
    throw new TracksError(`${where}: unknown option '${name}'${near ? `; did you mean '${near}'?` : `; the options are ${known.join(', ')}`}`);
  }
}
