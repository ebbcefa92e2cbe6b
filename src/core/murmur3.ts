/**
 * MurmurHash3 x86_32 (Austin Appleby's public-domain reference, `MurmurHash3_x86_32`) over the
 * UTF-8 bytes of a string, plus the one-block form tracks uses to mix a 32-bit hash with a
 * 32-bit label. Both are specified, with test vectors, in docs/assignment.md. Also, sharing
 * their mixing steps, two hashes over UTF-16 code units (`murmur3Units`, `fnv1aUnits`) that are
 * not the assignment hash: the halves of the in-process fingerprint of recording/seen-units.ts.
 */
import { TracksError } from '../errors.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const utf8 = new TextEncoder();

/** The block scramble of MurmurHash3: `rotl(k * c1, 15) * c2`. */
function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * The MurmurHash3 finalizer: every input bit affects every output bit. Internal hashes stay
 * signed int32 (`>>> 0` only at the public edge): V8 keeps int32 values unboxed, while
 * unsigned values above 2^31 become heap numbers when they cross a function boundary.
 */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function murmur3Bytes(bytes: Uint8Array, seed: number): number {
  const length = bytes.length;
  const blocks = length & ~3;
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  let k = 0;
  switch (length & 3) {
    case 3:
      k ^= bytes[blocks + 2]! << 16;
    // falls through
    case 2:
      k ^= bytes[blocks + 1]! << 8;
    // falls through
    case 1:
      k ^= bytes[blocks]!;
      h ^= scramble(k);
  }
  return fmix32(h ^ length);
}

/**
 * MurmurHash3 x86_32 of the UTF-8 encoding of `text`, as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * murmur3('hello'); // 0x248bfa47
 * ```
 */
export function murmur3(text: string, seed = 0): number {
  // The public entry is checked; murmur3Int, on the hot path, is only called with strings.
  if (typeof text !== 'string') throw new TracksError(`murmur3: the text is ${typeof text === 'object' ? (text === null ? 'null' : 'an object') : typeof text}; give a string`);
  if (typeof seed !== 'number') throw new TracksError(`murmur3: the seed is ${typeof seed}; give a number (an unsigned 32-bit integer, 0 by default)`);
  return murmur3Int(text, seed) >>> 0;
}

/** {@link murmur3} as a signed int32 (the same 32 bits), for the hot path. */
export function murmur3Int(text: string, seed = 0): number {
  const length = text.length;
  // Fast path for ASCII, the common case for user ids: hash the char codes directly,
  // with no encoding and no allocation.
  const blocks = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    const c = text.charCodeAt(i + 2);
    const d = text.charCodeAt(i + 3);
    if ((a | b | c | d) > 0x7f) return murmur3Bytes(utf8.encode(text), seed) | 0;
    h = mixBlock(h, a | (b << 8) | (c << 16) | (d << 24));
  }
  let k = 0;
  switch (length & 3) {
    case 3: {
      const c = text.charCodeAt(i + 2);
      if (c > 0x7f) return murmur3Bytes(utf8.encode(text), seed) | 0;
      k ^= c << 16;
    }
    // falls through
    case 2: {
      const b = text.charCodeAt(i + 1);
      if (b > 0x7f) return murmur3Bytes(utf8.encode(text), seed) | 0;
      k ^= b << 8;
    }
    // falls through
    case 1: {
      const a = text.charCodeAt(i);
      if (a > 0x7f) return murmur3Bytes(utf8.encode(text), seed) | 0;
      k ^= a;
      h ^= scramble(k);
    }
  }
  return fmix32(h ^ length);
}

/**
 * MurmurHash3 x86_32 of a string's UTF-16LE bytes (two code units to a block), as a signed
 * int32: no encoding and no allocation, and strings that differ only in lone surrogates hash
 * apart (UTF-8 would turn each into U+FFFD). Not the assignment hash: for in-process tables.
 *
 * @example
 * ```ts
 * murmur3Units('\uD800', 7) !== murmur3Units('\uFFFD', 7); // true
 * ```
 */
export function murmur3Units(text: string, seed: number): number {
  const length = text.length;
  let h = seed | 0;
  let i = 0;
  for (; i + 1 < length; i += 2) h = mixBlock(h, text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
  if (i < length) h ^= scramble(text.charCodeAt(i));
  return fmix32(h ^ (length * 2));
}

/**
 * FNV-1a over a string's UTF-16 code units, finished with MurmurHash3's mix, as a signed int32:
 * a hash unrelated to {@link murmur3Units}, for a second half of a 64-bit fingerprint.
 *
 * @example
 * ```ts
 * const fingerprint = [murmur3Units(key, seedA), fnv1aUnits(key, seedB)];
 * ```
 */
export function fnv1aUnits(text: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return fmix32(h ^ text.length);
}

/**
 * The scrambled form of a 32-bit label, `rotl(label * c1, 15) * c2`: precomputed once per
 * label so that {@link mixScrambled} costs a handful of integer operations per candidate.
 */
export function scrambleLabel(label: number): number {
  return scramble(label);
}

/**
 * `murmur3(le32(label), seed = hash)` given `scrambleLabel(label)`: MurmurHash3 x86_32 of the
 * four little-endian bytes of `label`, seeded with `hash`. A bijection of `hash` for a fixed
 * label, so each label sees uniformly distributed outputs.
 */
export function mixScrambled(hash: number, scrambledLabel: number): number {
  return mixInt(hash, scrambledLabel) >>> 0;
}

/** {@link mixScrambled} as a signed int32 (the same 32 bits), for the hot path. */
export function mixInt(hash: number, scrambledLabel: number): number {
  let h = hash ^ scrambledLabel;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  return fmix32(h ^ 4);
}

/**
 * `murmur3(le32(label), seed = hash)`: mixes a 32-bit hash with a 32-bit label.
 *
 * @example
 * ```ts
 * const perTrack = mix(keyHash, murmur3('long'));
 * ```
 */
export function mix(hash: number, label: number): number {
  return mixInt(hash, scramble(label)) >>> 0;
}
