/**
 * Shared helpers of the core tests: statistics (chi-square with its p-value), an independent
 * byte-wise MurmurHash3 reference, a from-the-docs reimplementation of assignment, and
 * hand-built definitions for the minimal-disruption tests (variants of one set are built as
 * definitions and fed to the core's own `assign`, which compares them key by key without a
 * class per variant).
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import { assign } from '../../src/core/assign.js';
import { saltOf } from '../../src/core/definition.js';
import type { TrackDefinition, TrackSetDefinition } from '../../src/core/definition.js';
import { mix, murmur3, scrambleLabel } from '../../src/core/murmur3.js';

export const N = 100_000;

/** Keys like real user ids: 'user-0' ... 'user-(n-1)'. */
export function keys(n = N, prefix = 'user-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/** Upper tail of the chi-square distribution: P(X >= stat) with `df` degrees of freedom. */
export function chiSquareP(stat: number, df: number): number {
  return gammainc(stat / 2, df / 2, true, true);
}

/** Goodness of fit of `observed` counts to expected shares (`shares` sum to 1). */
export function goodnessOfFit(observed: readonly number[], shares: readonly number[]): { stat: number; df: number; p: number } {
  const total = observed.reduce((a, b) => a + b, 0);
  let stat = 0;
  observed.forEach((o, i) => {
    const e = total * shares[i]!;
    stat += ((o - e) * (o - e)) / e;
  });
  const df = observed.length - 1;
  return { stat, df, p: chiSquareP(stat, df) };
}

/** Chi-square test of independence of a contingency table (rows x columns of counts). */
export function independence(table: readonly (readonly number[])[]): { stat: number; df: number; p: number } {
  const rows = table.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = table[0]!.map((_, j) => table.reduce((a, r) => a + r[j]!, 0));
  const total = rows.reduce((a, b) => a + b, 0);
  let stat = 0;
  table.forEach((row, i) =>
    row.forEach((o, j) => {
      const e = (rows[i]! * cols[j]!) / total;
      stat += ((o - e) * (o - e)) / e;
    }),
  );
  const df = (table.length - 1) * (table[0]!.length - 1);
  return { stat, df, p: chiSquareP(stat, df) };
}

/** Counts of `values` by the order of `labels` (throws on an unexpected value). */
export function countBy(values: readonly string[], labels: readonly string[]): number[] {
  const counts = labels.map(() => 0);
  for (const v of values) {
    const i = labels.indexOf(v);
    if (i < 0) throw new Error(`unexpected value ${v}`);
    counts[i]!++;
  }
  return counts;
}

/** A contingency table of two label sequences. */
export function crossTab(a: readonly string[], aLabels: readonly string[], b: readonly string[], bLabels: readonly string[]): number[][] {
  const table = aLabels.map(() => bLabels.map(() => 0));
  a.forEach((x, i) => table[aLabels.indexOf(x)]![bLabels.indexOf(b[i]!)]!++);
  return table;
}

/** MurmurHash3 x86_32 over bytes, written straight from the reference C code (no fast path). */
export function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  const mul = (a: number, b: number) => Math.imul(a, b) >>> 0;
  let h1 = seed >>> 0;
  const nblocks = Math.floor(bytes.length / 4);
  for (let i = 0; i < nblocks; i++) {
    let k1 = (bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) | (bytes[4 * i + 3]! << 24)) >>> 0;
    k1 = mul(k1, c1);
    k1 = rotl(k1, 15);
    k1 = mul(k1, c2);
    h1 = (h1 ^ k1) >>> 0;
    h1 = rotl(h1, 13);
    h1 = (mul(h1, 5) + 0xe6546b64) >>> 0;
  }
  const tail = nblocks * 4;
  let k1 = 0;
  const rest = bytes.length & 3;
  if (rest >= 3) k1 ^= bytes[tail + 2]! << 16;
  if (rest >= 2) k1 ^= bytes[tail + 1]! << 8;
  if (rest >= 1) {
    k1 ^= bytes[tail]!;
    k1 = mul(k1 >>> 0, c1);
    k1 = rotl(k1, 15);
    k1 = mul(k1, c2);
    h1 = (h1 ^ k1) >>> 0;
  }
  h1 = (h1 ^ bytes.length) >>> 0;
  h1 = (h1 ^ (h1 >>> 16)) >>> 0;
  h1 = mul(h1, 0x85ebca6b);
  h1 = (h1 ^ (h1 >>> 13)) >>> 0;
  h1 = mul(h1, 0xc2b2ae35);
  h1 = (h1 ^ (h1 >>> 16)) >>> 0;
  return h1;
}

export function referenceMurmur3Text(text: string, seed = 0): number {
  return referenceMurmur3(new TextEncoder().encode(text), seed);
}

/** `mix(h, label)` as docs/assignment.md defines it: murmur3 of the 4 little-endian bytes of label, seeded with h. */
export function referenceMix(h: number, label: number): number {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, label >>> 0, true);
  return referenceMurmur3(bytes, h);
}

const TWO_32 = 2 ** 32;

/**
 * docs/assignment.md reimplemented from the text alone (only the reference hash above): the
 * track of a serialized key in a set with `tracks` (name -> weight, control included when the
 * set adds it) and `coverage`; null when not covered.
 */
export function referenceAssign(key: string, id: string, tracks: Record<string, number>, coverage = 1): string | null {
  const keyHash = referenceMurmur3Text(key, 0);
  const h = referenceMix(keyHash, referenceMurmur3Text(id, 0));
  if (coverage < 1) {
    const draw = referenceMix(h, referenceMurmur3Text('tracks:coverage', 1));
    if (!(draw < coverage * TWO_32)) return null;
  }
  return referenceRendezvous(h, tracks);
}

/** The weighted rendezvous choice of the docs among `candidates` (name -> weight); null if none positive. */
export function referenceRendezvous(h: number, candidates: Record<string, number>): string | null {
  const entries = Object.entries(candidates);
  const equal = entries.every(([, w]) => w === entries[0]![1]);
  let best: string | null = null;
  let bestX = -1;
  let bestScore = Infinity;
  for (const [name, weight] of entries) {
    const x = referenceMix(h, referenceMurmur3Text(name, 0));
    if (equal) {
      if (x > bestX || (x === bestX && best !== null && name < best)) [best, bestX] = [name, x];
    } else {
      if (!(weight > 0)) continue;
      const score = -Math.log((x + 0.5) / TWO_32) / weight;
      if (score < bestScore || (score === bestScore && best !== null && name < best)) [best, bestScore] = [name, score];
    }
  }
  return best;
}

/** The MultiTrackSet set choice of the docs, from the text: among eligible set ids (id -> weight). */
export function referenceMultiChoice(key: string, sets: Record<string, number>, multiId = 'tracks:multi'): string | null {
  const keyHash = referenceMurmur3Text(key, 0);
  return referenceRendezvous(referenceMix(keyHash, referenceMurmur3Text(multiId, 0)), sets);
}

/**
 * A definition of a track set built by hand, as buildDefinition would build it for a class
 * with these tracks (name -> weight, in order) and coverage: lets a test compare variants of
 * one id that the id registry would not let two classes declare in one process.
 */
export function handDefinition(id: string, tracks: Record<string, number>, coverage = 1): TrackSetDefinition {
  const list: TrackDefinition[] = Object.entries(tracks).map(([name, weight]) => ({
    name,
    weight,
    scrambled: scrambleLabel(murmur3(name)),
    origin: `${name}_track()`,
    invoke: () => name,
  }));
  const byName = new Map(list.map((t) => [t.name, t] as const));
  return {
    className: `Hand(${id})`,
    id,
    salt: saltOf(id),
    tracks: list,
    byName,
    control: byName.get('control') ?? { name: 'control', weight: 0, scrambled: scrambleLabel(murmur3('control')), origin: 'added', invoke: () => undefined },
    baseline: byName.has('control') ? 'control' : null,
    equalWeights: list.every((t) => t.weight === list[0]!.weight),
    coverage,
    weight: 100,
    hasEligibilityRule: false,
    owner: handOwner,
    sticky: false,
    shadow: null,
    instanceFieldsChecked: true,
  };
}

const handOwner = {};

/** The track names `definition` gives to each key (null when not covered), through the core's `assign`. */
export function assignAll(definition: TrackSetDefinition, keyList: readonly string[]): (string | null)[] {
  return keyList.map((k) => assign(definition, murmur3(k))?.name ?? null);
}

export { mix, murmur3 };
