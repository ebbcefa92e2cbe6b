/**
 * How text given by users, or read back from a store, reads in messages and terminals: every
 * layer writes its errors and output with these, so a name holding a control character or a
 * right-to-left override shows as escapes everywhere, and a value given reads the same way in
 * every message.
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Bidirectional embeddings, overrides, isolates and marks (U+202A-202E, U+2066-2069, U+200E-200F, U+061C). */
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
/** The line and paragraph separators (U+2028, U+2029): a new line in many terminals and logs. */
const SEPARATOR = /[\u2028\u2029]/;

/** Whether `text` holds a control character (C0, DEL or C1). */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** Whether `text` holds a UTF-16 surrogate without its pair (not valid Unicode). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * `text` with control characters, bidirectional overrides, isolates and marks, line and
 * paragraph separators, and unpaired surrogates written as escapes (`\x00`, `\u{202e}`, `\u{d800}`), so that a name read back
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
  if (!CONTROL.test(text) && !LONE_SURROGATE.test(text) && !BIDI.test(text) && !SEPARATOR.test(text)) return text;
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(new RegExp(`${LONE_SURROGATE.source}|${BIDI.source}|${SEPARATOR.source}`, 'g'), (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/**
 * A name or label in a message: quoted, escaped, cut at 60 characters.
 *
 * @example
 * ```ts
 * quoted('delay'); // "'delay'"
 * ```
 */
export function quoted(text: string): string {
  return `'${escapeControl(text.length > 60 ? `${cutAt(text, 57)}...` : text)}'`;
}

/** The first `units` UTF-16 code units of `text`, one fewer when the cut would split a surrogate pair. */
function cutAt(text: string, units: number): string {
  const last = text.charCodeAt(units - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? units - 1 : units);
}

/**
 * A value the caller gave, for a message: a string as `the string '2'`, so that a number given
 * as text does not read as the number being refused (`weight is 2; use a number`); a plain object
 * or array as its JSON, cut at 60 characters; a class instance by its class; always escaped.
 *
 * @example
 * ```ts
 * shown('2');       // "the string '2'"
 * shown(new Map()); // 'an instance of Map'
 * shown(5n);        // '5n' (a bigint is refused for its type, which 5 would hide)
 * ```
 */
export function shown(value: unknown): string {
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return `a symbol (${escapeControl(value.description ?? '')})`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : `the Date ${value.toISOString()}`;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    // A class instance's JSON ({} for a Map) says less than its class.
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
    if (proto !== null && proto !== Object.prototype && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
      const name = proto.constructor?.name;
      return `an instance of ${typeof name === 'string' && name !== '' ? escapeControl(name) : 'a class'}`;
    }
  }
  if (typeof value === 'object' && value !== null) {
    // Not String(value), which says [object Object].
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    const kind = Array.isArray(value) ? 'an array' : 'an object';
    return json === undefined ? kind : `${kind} ${escapeControl(json.length > 60 ? `${cutAt(json, 57)}...` : json)}`;
  }
  return String(value);
}

/**
 * The first control character of `text` as a code point (`U+0000`), or undefined when it has none.
 *
 * @example
 * ```ts
 * firstControlCharacter('a\u0000b'); // 'U+0000'
 * ```
 */
export function firstControlCharacter(text: string): string | undefined {
  const found = CONTROL.exec(text);
  return found === null ? undefined : `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * `text` with each control character and unpaired surrogate replaced by U+FFFD: for values
 * stored and shown as given (a segment's value), which must stay printable and valid Unicode.
 *
 * @example
 * ```ts
 * printable('NL\u0000'); // 'NL\ufffd'
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '\ufffd');
}

/**
 * `text` with each unpaired surrogate replaced by U+FFFD (what PostgreSQL would do, and what
 * UTF-8 cannot hold), the rest as it is.
 *
 * @example
 * ```ts
 * wellFormed('a\ud800b'); // 'a\ufffdb'
 * ```
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, '\ufffd');
}

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
const UNPRINTABLE = new RegExp(`${CONTROL.source}|${LONE_SURROGATE.source}`, 'g');
