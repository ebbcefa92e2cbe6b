/**
 * Issue 2, point 5: the hash and the assignment are the documented ones. Published
 * MurmurHash3 vectors, an independent byte-wise reference, and pinned key -> track vectors
 * (test/fixtures/assignment-vectors.json, generated once by generate-vectors.ts) that
 * docs/assignment.md shows verbatim.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MultiTrackSet, TrackSet, bucketOf, murmur3 } from '../../src/index.js';
import type { TrackSetClass } from '../../src/index.js';
import { fnv1aUnits, mix, mixScrambled, murmur3Units, scrambleLabel } from '../../src/core/murmur3.js';
import { docs } from './generate-vectors.js';
import type { Vectors } from './generate-vectors.js';
import { keys, referenceAssign, referenceMix, referenceMultiChoice, referenceMurmur3, referenceMurmur3Text } from './helpers.js';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/assignment-vectors.json', import.meta.url), 'utf8')) as Vectors;
const num = (h: string) => Number.parseInt(h, 16);

/** A TrackSet class with one static method per track of `tracks` (control comes from addControlTrack). */
function classOf(id: string, tracks: Record<string, number>, coverage: number, weight = 100): TrackSetClass {
  const Cls = class extends TrackSet {
    static override id = id;
    static override weights = tracks;
    static override coverage = coverage;
    static override weight = weight;
  };
  Object.defineProperty(Cls, 'name', { value: `Vectors_${id}` });
  for (const name of Object.keys(tracks)) {
    if (name !== 'control') Object.defineProperty(Cls, `${name}_track`, { value: () => name, configurable: true });
  }
  return Cls;
}

describe('MurmurHash3 x86_32', () => {
  test('published vectors (Appleby reference; seeds 0, 1, 0xffffffff, 1234, 0x9747b28c; UTF-8 input)', () => {
    const published: [string, number, number][] = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['hello', 0, 0x248bfa47],
      ['Hello, world!', 1234, 0xfaf6cdb3],
      ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['abc', 0, 0xb3dd93fa],
      ['héllo wörld ☃ 🥥', 0, 0xb850856c],
    ];
    for (const [input, seed, expected] of published) {
      assert.equal(murmur3(input, seed), expected, `murmur3(${JSON.stringify(input)}, ${seed})`);
      assert.equal(referenceMurmur3Text(input, seed), expected, `reference murmur3(${JSON.stringify(input)}, ${seed})`);
    }
  });

  test('fixture vectors', () => {
    for (const v of vectors.murmur3) assert.equal(murmur3(v.input, num(v.seed)), num(v.hash), v.input);
  });

  test('the ASCII fast path agrees with the byte-wise reference on every length 0..40 and mixed scripts', () => {
    const alphabet = ['a', 'Z', '0', '~', '\u007f', '\u0080', 'é', 'ß', '☃', '中', '🥥', '\u0000'];
    let seed = 1;
    const rand = () => ((seed = Math.imul(seed, 48271) % 0x7fffffff) >>> 0) / 0x7fffffff;
    for (let length = 0; length <= 40; length++) {
      for (let trial = 0; trial < 30; trial++) {
        // mostly ASCII, sometimes one non-ASCII character at a random position (the fast path's bail-outs)
        let s = '';
        for (let i = 0; i < length; i++) s += rand() < 0.9 ? String.fromCharCode(32 + Math.floor(rand() * 95)) : alphabet[Math.floor(rand() * alphabet.length)]!;
        const hashSeed = Math.floor(rand() * 2 ** 32);
        assert.equal(murmur3(s, hashSeed), referenceMurmur3Text(s, hashSeed), JSON.stringify(s));
      }
    }
  });

  test('a lone surrogate is hashed as its UTF-8 replacement character, like TextEncoder', () => {
    assert.equal(murmur3('a\ud800b'), referenceMurmur3(new TextEncoder().encode('a\ufffdb'), 0));
  });
});

describe('murmur3Units: MurmurHash3 x86_32 of the UTF-16LE bytes (for in-process fingerprints)', () => {
  test('equals the byte-wise reference over Buffer.from(text, "utf16le"), lone surrogates included', () => {
    const texts = ['', 'a', 'ab', 'abc', 'user-42', 'héllo wörld ☃ 🥥', '\uD800', '\uDC00', '\uFFFD', 'a\uD83D', 'x'.repeat(1001)];
    for (const text of texts) {
      for (const seed of [0, 1, 0x9747b28c]) {
        const expected = referenceMurmur3(Buffer.from(text, 'utf16le'), seed) | 0;
        assert.equal(murmur3Units(text, seed), expected, `murmur3Units(${JSON.stringify(text)}, ${seed})`);
      }
    }
  });

  test('lone surrogates, and the two hashes of a fingerprint, keep distinct strings apart', () => {
    const texts = ['\uD800', '\uDBFF', '\uDC00', '\uFFFD', 'a\uD83D', 'a\uD83C', 'é', 'e\u0301'];
    const pairs = new Set(texts.map((t) => `${murmur3Units(t, 7)}:${fnv1aUnits(t, 7)}`));
    assert.equal(pairs.size, texts.length);
    assert.notEqual(murmur3Units('user-1', 7), fnv1aUnits('user-1', 7));
  });
});

describe('mix(h, label) = murmur3(le32(label), seed = h)', () => {
  test('fixture vectors and the byte-wise reference', () => {
    for (const v of vectors.mix) {
      assert.equal(mix(num(v.hash), num(v.label)), num(v.result));
      assert.equal(referenceMix(num(v.hash), num(v.label)), num(v.result));
    }
  });

  test('mix and mixScrambled agree with the reference on 10,000 pseudo-random pairs', () => {
    let x = 12345;
    for (let i = 0; i < 10_000; i++) {
      x = murmur3(String(i), x);
      const h = x;
      const label = murmur3(String(h));
      assert.equal(mix(h, label), referenceMix(h, label));
      assert.equal(mixScrambled(h, scrambleLabel(label)), referenceMix(h, label));
    }
  });

  test('for a fixed label, mix is a bijection of h (no two of 100,000 hashes collide)', () => {
    const label = murmur3('long');
    const seen = new Set<number>();
    for (let h = 0; h < 100_000; h++) seen.add(mix(h * 40503, label));
    assert.equal(seen.size, 100_000);
  });
});

describe('pinned assignment vectors (docs/assignment.md)', () => {
  for (const set of vectors.sets) {
    test(`track set '${set.id}' (${JSON.stringify(set.tracks)}, coverage ${set.coverage})`, () => {
      const Cls = classOf(set.id, set.tracks, set.coverage);
      for (const v of set.vectors) {
        assert.equal(murmur3(v.key), num(v.keyHash), `keyHash of ${v.key}`);
        assert.equal(mix(num(v.keyHash), murmur3(set.id)), num(v.setHash), `set hash of ${v.key}`);
        for (const [track, draw] of Object.entries(v.draws)) assert.equal(mix(num(v.setHash), murmur3(track)), num(draw), `draw of ${track}`);
        if (v.coverageDraw !== undefined) assert.equal(mix(num(v.setHash), murmur3('tracks:coverage', 1)), num(v.coverageDraw));
        assert.equal(bucketOf(Cls, v.key), v.track, `bucketOf ${v.key}`);
        const run = new (Cls as unknown as new (o: object) => TrackSet)({ key: v.key });
        assert.equal(run.name, v.track, `run of ${v.key}`);
        assert.equal(run.reason, v.covered ? 'assigned' : 'not covered');
        assert.equal(referenceAssign(v.key, set.id, set.tracks, set.coverage) ?? 'control', v.track, `reference of ${v.key}`);
      }
    });
  }

  for (const multi of vectors.multi) {
    test(`MultiTrackSet '${multi.multiId}' (${JSON.stringify(multi.sets)})`, () => {
      const sets = Object.entries(multi.sets).map(([id, weight]) => classOf(id, vectors.sets.find((s) => s.id === id)?.tracks ?? { control: 1, cheap: 1, expensive: 1 }, 1, weight));
      const Multi = class extends MultiTrackSet {
        static override id = multi.multiId === 'tracks:multi' ? undefined : multi.multiId;
        static override trackSets = sets;
      };
      for (const v of multi.vectors) {
        assert.equal(mix(num(v.keyHash), murmur3(multi.multiId)), num(v.multiHash));
        for (const [id, draw] of Object.entries(v.draws)) assert.equal(mix(num(v.multiHash), murmur3(id)), num(draw));
        assert.equal(new Multi({ key: v.key }).trackSet?.id, v.set, `set of ${v.key}`);
        assert.equal(referenceMultiChoice(v.key, multi.sets, multi.multiId), v.set);
      }
    });
  }

  test('docs/assignment.md shows exactly these vectors (generated from the fixture)', () => {
    const doc = readFileSync(new URL('../../docs/assignment.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(docs(vectors)), 'regenerate the tables with: node --import tsx test/core/generate-vectors.ts docs');
  });
});

describe('the docs, reimplemented from the text alone, agree with the core on 100,000 keys', () => {
  const ks = keys(100_000, 'doc-');
  const configs: [string, Record<string, number>, number][] = [
    ['ref-equal', { control: 1, short: 1, long: 1 }, 1],
    ['ref-weighted', { control: 5, a: 1, b: 2.5, c: 0 }, 1],
    ['ref-covered', { control: 1, x: 1 }, 0.3],
  ];
  for (const [id, tracks, coverage] of configs) {
    test(`${id}: ${JSON.stringify(tracks)}, coverage ${coverage}`, () => {
      const Cls = classOf(id, tracks, coverage);
      for (const key of ks) {
        const expected = referenceAssign(key, id, tracks, coverage) ?? 'control';
        const actual = bucketOf(Cls, key);
        if (actual !== expected) assert.fail(`key ${key}: core says ${actual}, the docs say ${expected}`);
      }
    });
  }
});
