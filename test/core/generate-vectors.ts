/**
 * Generates test/fixtures/assignment-vectors.json from the implementation (run once, then
 * pinned: the tests check the implementation against the file, never the reverse), and prints
 * the Markdown tables of docs/assignment.md from that file.
 *
 *   node --import tsx test/core/generate-vectors.ts write   # (re)writes the fixture
 *   node --import tsx test/core/generate-vectors.ts docs    # prints the doc tables
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { assign } from '../../src/core/assign.js';
import { COVERAGE_LABEL } from '../../src/core/definition.js';
import { mix, mixScrambled, murmur3 } from '../../src/core/murmur3.js';
import { rendezvous } from '../../src/core/rendezvous.js';
import { handDefinition, referenceMix, referenceMurmur3Text } from './helpers.js';

const FIXTURE = new URL('../fixtures/assignment-vectors.json', import.meta.url);
const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

export interface Vectors {
  murmur3: { input: string; seed: string; hash: string; source: string }[];
  mix: { hash: string; label: string; result: string }[];
  sets: {
    id: string;
    tracks: Record<string, number>;
    coverage: number;
    vectors: { key: string; keyHash: string; setHash: string; coverageDraw?: string; draws: Record<string, string>; track: string; covered: boolean }[];
  }[];
  multi: { multiId: string; sets: Record<string, number>; vectors: { key: string; keyHash: string; multiHash: string; draws: Record<string, string>; set: string }[] }[];
}

const PUBLISHED = 'published MurmurHash3 x86_32 vector';
const murmurInputs: [string, number, string][] = [
  ['', 0, PUBLISHED],
  ['', 1, PUBLISHED],
  ['', 0xffffffff, PUBLISHED],
  ['hello', 0, PUBLISHED],
  ['Hello, world!', 1234, PUBLISHED],
  ['The quick brown fox jumps over the lazy dog', 0, PUBLISHED],
  ['aaaa', 0x9747b28c, PUBLISHED],
  ['abc', 0, PUBLISHED],
  ['héllo wörld ☃ 🥥', 0, PUBLISHED + ' (UTF-8)'],
  ['delay', 0, 'label of the set id delay'],
  ['control', 0, 'label of the track control'],
  ['tracks:multi', 0, 'default MultiTrackSet salt id'],
  ['tracks:coverage', 1, 'coverage label (seed 1)'],
];

const setSpecs: { id: string; tracks: Record<string, number>; coverage: number }[] = [
  { id: 'delay', tracks: { control: 1, short: 1, long: 1 }, coverage: 1 },
  { id: 'checkout', tracks: { control: 2, fast: 1, slow: 1 }, coverage: 1 },
  { id: 'search', tracks: { control: 1, semantic: 1 }, coverage: 0.5 },
];
const vectorKeys = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6', 'user-7', 'user-8', '42', '', 'héllo', '{"articleId":7,"country":"NL"}'];

function generate(): Vectors {
  const vectors: Vectors = { murmur3: [], mix: [], sets: [], multi: [] };
  for (const [input, seed, source] of murmurInputs) {
    const hash = murmur3(input, seed);
    if (hash !== referenceMurmur3Text(input, seed)) throw new Error(`murmur3 disagrees with the reference on ${input}`);
    vectors.murmur3.push({ input, seed: hex(seed), hash: hex(hash), source });
  }
  for (const [h, label] of [[0, 0], [1, 2], [0x12345678, 0x9abcdef0], [0xffffffff, 0xffffffff], [murmur3('user-1'), murmur3('delay')]] as const) {
    const result = mix(h, label);
    if (result !== referenceMix(h, label)) throw new Error('mix disagrees with the reference');
    vectors.mix.push({ hash: hex(h), label: hex(label), result: hex(result) });
  }
  for (const spec of setSpecs) {
    const definition = handDefinition(spec.id, spec.tracks, spec.coverage);
    const set: Vectors['sets'][number] = { ...spec, vectors: [] };
    for (const key of vectorKeys) {
      const keyHash = murmur3(key);
      const setHash = mix(keyHash, murmur3(spec.id));
      const draws = Object.fromEntries(Object.keys(spec.tracks).map((t) => [t, hex(mix(setHash, murmur3(t)))]));
      const track = assign(definition, keyHash);
      const entry: Set['vectors'][number] = { key, keyHash: hex(keyHash), setHash: hex(setHash), draws, track: track?.name ?? 'control', covered: track !== undefined };
      if (spec.coverage < 1) entry.coverageDraw = hex(mixScrambled(setHash, COVERAGE_LABEL));
      set.vectors.push(entry);
    }
    vectors.sets.push(set);
  }
  const multiSpecs = [{ multiId: 'tracks:multi', sets: { delay: 1000, pricing: 100 } }, { multiId: 'coconut-tests', sets: { delay: 100, pricing: 100 } }];
  for (const spec of multiSpecs) {
    const candidates = handDefinition('unused', spec.sets).tracks;
    const equal = candidates.every((c) => c.weight === candidates[0]!.weight);
    const multi: Vectors['multi'][number] = { ...spec, vectors: [] };
    for (const key of vectorKeys) {
      const keyHash = murmur3(key);
      const multiHash = mix(keyHash, murmur3(spec.multiId));
      const draws = Object.fromEntries(Object.keys(spec.sets).map((s) => [s, hex(mix(multiHash, murmur3(s)))]));
      multi.vectors.push({ key, keyHash: hex(keyHash), multiHash: hex(multiHash), draws, set: candidates[rendezvous(multiHash, candidates, equal)]!.name });
    }
    vectors.multi.push(multi);
  }
  return vectors;
}
type Set = Vectors['sets'][number];

const code = (s: string) => (s === '' ? '*(empty)*' : `\`${s.replace(/\|/g, '\\|')}\``);

export function docs(v: Vectors): string {
  const out: string[] = [];
  out.push('### MurmurHash3 x86_32 (UTF-8 bytes)', '', '| input | seed | hash | note |', '|---|---|---|---|');
  for (const m of v.murmur3) out.push(`| ${code(m.input)} | ${m.seed} | ${m.hash} | ${m.source} |`);
  out.push('', '### mix(h, label) = murmur3(le32(label), seed = h)', '', '| h | label | mix(h, label) |', '|---|---|---|');
  for (const m of v.mix) out.push(`| ${m.hash} | ${m.label} | ${m.result} |`);
  for (const s of v.sets) {
    const names = Object.keys(s.tracks);
    out.push('', `### Track set \`${s.id}\`: ${names.map((n) => `${n} (weight ${s.tracks[n]})`).join(', ')}; coverage ${s.coverage}`, '');
    out.push(`| key | keyHash | h | ${s.coverage < 1 ? 'coverage draw | ' : ''}${names.map((n) => `x(${n})`).join(' | ')} | track |`);
    out.push(`|---|---|---|${s.coverage < 1 ? '---|' : ''}${names.map(() => '---|').join('')}---|`);
    for (const r of s.vectors) {
      const cov = s.coverage < 1 ? `${r.coverageDraw} | ` : '';
      out.push(`| ${code(r.key)} | ${r.keyHash} | ${r.setHash} | ${cov}${names.map((n) => r.draws[n]).join(' | ')} | ${r.covered ? r.track : `${r.track} (not covered)`} |`);
    }
  }
  for (const m of v.multi) {
    const names = Object.keys(m.sets);
    out.push('', `### MultiTrackSet, salt id \`${m.multiId}\`: ${names.map((n) => `${n} (weight ${m.sets[n]})`).join(', ')}`, '');
    out.push(`| key | keyHash | multi h | ${names.map((n) => `x(${n})`).join(' | ')} | set |`, `|---|---|---|${names.map(() => '---|').join('')}---|`);
    for (const r of m.vectors) out.push(`| ${code(r.key)} | ${r.keyHash} | ${r.multiHash} | ${names.map((n) => r.draws[n]).join(' | ')} | ${r.set} |`);
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === 'write') writeFileSync(FIXTURE, `${JSON.stringify(generate(), null, 2)}\n`);
  else if (process.argv[2] === 'docs') console.log(docs(JSON.parse(readFileSync(FIXTURE, 'utf8')) as Vectors));
  else console.error('usage: generate-vectors.ts write|docs');
}
