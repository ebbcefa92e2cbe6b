import { TracksError } from '../errors.js';
import { escapeControl } from '../text.js';

/**
 * Turns any supported key into the canonical string that assignment hashes.
 *
 * - strings are used as they are;
 * - numbers, bigints and booleans become their decimal or `true`/`false` text, so `42`,
 *   `42n` and `'42'` are the same key (ids often travel as both);
 * - Dates become their ISO 8601 text (`toISOString()`);
 * - arrays and plain objects become canonical JSON: object keys sorted by code unit, no
 *   white space, properties whose value is `undefined` left out, Dates as ISO strings,
 *   bigints as JSON numbers, so `{ country, articleId }` is one key in any property order;
 * - an object with a `toJSON()` method (a URL, a Decimal, your own class) is serialized
 *   as what `toJSON()` returns.
 *
 * Functions, symbols, `NaN` and infinities, cyclic structures and class instances without a
 * `toJSON()` get a {@link TracksError}: they have no stable text and would assign at random.
 *
 * @example
 * ```ts
 * serializeKey({ country: 'NL', articleId: 7 }); // '{"articleId":7,"country":"NL"}'
 * serializeKey(42);                               // '42'
 * ```
 */
export function serializeKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return key;
    case 'number':
      return numberText(key, 'key');
    case 'bigint':
      return key.toString();
    case 'boolean':
      return key ? 'true' : 'false';
    case 'object':
      if (key === null) break;
      try {
        // Inside the try: `instanceof` on a revoked Proxy throws.
        if (key instanceof Date) return dateText(key, 'key');
        if (!Array.isArray(key) && hasToJson(key)) {
          // The key is what toJSON() returns, serialized as a key: a URL is its href, as a Date is its ISO text.
          const json: unknown = (key as { toJSON(): unknown }).toJSON();
          if (json === key) throw new TracksError('key: toJSON() returns the object itself, a cycle; return a plain value');
          return topJson(json, 1);
        }
        return topJson(key, 0);
      } catch (error) {
        throw stackRanOut(error);
      }
  }
  throw new TracksError(
    `key: cannot serialize ${describe(key)}; use a string, number, bigint, boolean, Date, array or plain object`,
  );
}

/**
 * A failure serializing a nested key, with a stack that ran out as a TracksError: the nesting
 * bound keeps well inside Node's stack, but a caller already deep in recursion has less left.
 */
function stackRanOut(error: unknown): unknown {
  if (error instanceof TracksError) return error;
  // V8's own words for a stack that ran out; any other error came from the key's own code.
  if (error instanceof RangeError && error.message === 'Maximum call stack size exceeded') {
    return new TracksError('key: nested too deeply to serialize from here (the call stack ran out); pass a flatter key (a few ids, say)');
  }
  // The key's toJSON(), a getter or a Proxy threw: say so, keeping the error as the cause.
  return new TracksError(`key: serializing it threw ${escapeControl(thrownText(error))} (from its toJSON(), a getter or a Proxy); pass a plain key, or make that code return one`, { cause: error });
}

/** What was thrown, as text, whatever it is (an object with no prototype has no toString). */
function thrownText(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return `a value of type ${typeof error}`;
  }
}

function numberText(value: number, path: string): string {
  if (!Number.isFinite(value)) {
    throw new TracksError(`${path}: ${value} is not a usable key; pass a finite number`);
  }
  return Object.is(value, -0) ? '0' : String(value);
}

function dateText(value: Date, path: string): string {
  if (Number.isNaN(value.getTime())) {
    throw new TracksError(`${path}: Invalid Date is not a usable key; pass a valid Date`);
  }
  return value.toISOString();
}

/** {@link canonicalJson} of the key itself, whose undefined (from a toJSON()) is refused as a key's is. */
function topJson(value: unknown, depth: number): string {
  return canonicalJson(value, 'key', new Set(), depth, true) ?? serializeKey(undefined);
}

/** Deepest nesting of arrays and objects in a key (deeper, the stack could run out first). */
const MAX_KEY_NESTING = 1_000;

/** Most toJSON() results a key may go through: past it, a toJSON() that makes a new object each time. */
const MAX_KEY_DEPTH = 200;

/**
 * A key value as canonical JSON text; `top` marks the key itself, whose string, number or
 * boolean (as what a top-level toJSON() returns) is written bare, as serializeKey writes it.
 */
function canonicalJson(value: unknown, path: string, seen: Set<object>, depth: number, top = false): string | undefined {
  if (depth > MAX_KEY_DEPTH) {
    throw new TracksError(`${path}: the key goes through more than ${MAX_KEY_DEPTH} toJSON() results (a toJSON() that returns a new object each time?); return a plain value`);
  }
  // At the top (what the key's toJSON() returned), a Date or a primitive is written bare and
  // null is refused, as serializeKey does: a key's text never changes with this path.
  if (top && (typeof value !== 'object' || value === null || value instanceof Date)) return serializeKey(value);
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return numberText(value, path);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      // Left out of an object, null in an array (the callers), as JSON.stringify writes it.
      return undefined;
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof Date) return JSON.stringify(dateText(value, path));
      if (seen.has(value)) {
        throw new TracksError(`${path}: the key contains a cycle; pass a key without circular references`);
      }
      // `seen` holds the value's enclosing objects: far past any real key, and before the stack runs out.
      if (seen.size >= MAX_KEY_NESTING) {
        throw new TracksError(`key: arrays and objects nested more than ${MAX_KEY_NESTING} deep; pass a flatter key (a few ids, say)`);
      }
      seen.add(value);
      try {
        return objectJson(value, path, seen, depth, top);
      } finally {
        seen.delete(value);
      }
    }
  }
  throw new TracksError(
    `${path}: cannot serialize ${describe(value)} in a key; use strings, numbers, booleans, Dates, arrays and plain objects`,
  );
}

function objectJson(value: object, path: string, seen: Set<object>, depth: number, top: boolean): string | undefined {
  if (Array.isArray(value)) {
    // Array.from visits holes too (as undefined, written null), where map would skip them.
    return `[${Array.from(value, (item: unknown, i) => canonicalJson(item, `${path}[${i}]`, seen, depth) ?? 'null').join(',')}]`;
  }
  // An object with a toJSON() is what it returns, as in JSON.stringify: a class instance's, or
  // a plain object's own enumerable one (a hidden one was skipped before, and still is).
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  const plain = Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null;
  if (typeof toJSON === 'function' && (!plain || Object.prototype.propertyIsEnumerable.call(value, 'toJSON'))) {
    const json: unknown = toJSON.call(value);
    if (json === value) throw new TracksError(`${path}: toJSON() returns the object itself, a cycle; return a plain value`);
    return canonicalJson(json, path, seen, depth + 1, top);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TracksError(
      `${path}: cannot serialize ${describe(value)} in a key; pass a plain object or give the class a toJSON() method`,
    );
  }
  // JSON.stringify skips symbol-named properties: two keys differing in one would be one key.
  for (const symbol of Object.getOwnPropertySymbols(value)) {
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) {
      throw new TracksError(`${path}: the key has a property keyed by a symbol (${escapeControl(symbol.toString())}), which has no text; use string names for a key's properties`);
    }
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const name of Object.keys(record).sort()) {
    // Left out when undefined, or when its toJSON() returns undefined, as in JSON.stringify.
    const text = canonicalJson(record[name], `${path}.${escapeControl(name)}`, seen, depth);
    if (text !== undefined) parts.push(`${JSON.stringify(name)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

/** What a value that cannot be a key is (its kind, not its content: a key may be a secret). */
function describe(value: unknown): string {
  if (typeof value === 'function') return `a function (${escapeControl(value.name || 'anonymous')})`;
  if (typeof value === 'symbol') return `a symbol (${escapeControl(value.toString())})`;
  if (value === null) return 'null';
  if (typeof value === 'object') {
    // Object.create(proto) inherits Object as its constructor, which would read as a plain object.
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== null && proto !== Object.prototype && Object.getPrototypeOf(proto) === Object.prototype && !Object.hasOwn(proto as object, 'constructor')) {
      return 'an object whose prototype is another object (made with Object.create?)';
    }
    const ctor = (value as { constructor?: { name?: string } }).constructor;
    return `an instance of ${escapeControl(ctor?.name || 'an unknown class')}`;
  }
  return typeof value;
}

/** Whether the key's own toJSON() decides it: a class instance's, or a plain object's own enumerable one. */
function hasToJson(value: object): boolean {
  if (typeof (value as { toJSON?: unknown }).toJSON !== 'function') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto !== Object.prototype && proto !== null) || Object.prototype.propertyIsEnumerable.call(value, 'toJSON');
}
