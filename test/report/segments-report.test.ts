// Segments end to end: a set's static dimensions(context) recorded with each exposure
// (bounded, hashed with hashKeys, a throwing function reported), and `tracks report --by`:
// each segment's lift with p-values corrected across segments, a sample-ratio check per
// segment, and Cochran's Q of whether the effect differs between segments.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, TracksError, buildReport, close, configure, convert, flush, heterogeneityTest, holm, memoryStore, readAnalysis, renderReport, sqliteStore } from '../../src/index.js';
import type { ExposureEvent, Report, Store } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { seededRandom } from '../support/random.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-segments-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

interface Shopper {
  readonly country: string;
  readonly plan: 'free' | 'pro';
}

class CheckoutTracks extends TrackSet<{ shopper: Shopper }> {
  static override id = 'checkout';
  static override dimensions(context: { shopper: Shopper }) {
    return { country: context.shopper.country, plan: context.shopper.plan };
  }
  static one_click_track() {}
}

const COUNTRIES = ['de', 'fr', 'us', 'jp'];

/** 8,000 shoppers: one-click lifts conversion from 10% to 20% in Germany only. */
async function record(store: Store, extra: Parameters<typeof configure>[0] = {}): Promise<void> {
  configure({ store, outbox: false, ...extra });
  const random = seededRandom(7);
  for (let i = 0; i < 8000; i++) {
    const key = `shopper-${i}`;
    const shopper: Shopper = { country: COUNTRIES[i % 4]!, plan: i % 3 ? 'free' : 'pro' };
    const track = new CheckoutTracks({ key, context: { shopper } }).name;
    const rate = track === 'one_click' && shopper.country === 'de' ? 0.2 : 0.1;
    if (random() < rate) convert({ key, metric: 'purchase' });
  }
  await flush();
  await close();
}

async function reportBy(store: Store, by: string): Promise<Report> {
  const { sums, metrics } = await readAnalysis(store, { by });
  return buildReport(sums, { metrics });
}

test('each exposure records the set dimensions; --by country gives each segment lift, p adjusted across segments, SRM and Cochran Q', async () => {
  const store = memoryStore();
  await record(store);
  const exposures = store.events.filter((e): e is ExposureEvent => e.kind === 'exposure');
  assert.equal(exposures.length, 8000);
  assert.deepEqual(exposures[0]!.dimensions, Object.assign(Object.create(null) as object, { country: 'de', plan: 'pro' }));

  const report = await reportBy(store, 'country');
  const set = report.trackSets[0]!;
  const segments = set.segments!;
  assert.equal(segments.dimension, 'country');
  assert.deepEqual(segments.values.map((v) => v.value).sort(), [...COUNTRIES].sort());
  assert.equal(segments.values.reduce((n, v) => n + v.users, 0), set.users, 'the segments partition the users');
  for (const v of segments.values) assert.ok(v.srm !== null && !v.srm.mismatch, `${v.value}: split as the weights say`);

  // p adjusted with Holm across every segment's comparisons together.
  const comparisons = segments.values.flatMap((v) => v.tracks.flatMap((t) => t.metrics.map((m) => m.comparison).filter((c) => c !== null)));
  assert.equal(comparisons.length, 4, 'one comparison per segment');
  const adjusted = holm(comparisons.map((c) => c!.pValue));
  comparisons.forEach((c, i) => assert.equal(c!.adjustedPValue, adjusted[i]));
  const de = segments.values.find((v) => v.value === 'de')!.tracks.find((t) => t.name === 'one_click')!.metrics[0]!.comparison!;
  assert.equal(de.verdict, 'better');
  for (const country of ['fr', 'us', 'jp']) {
    const c = segments.values.find((v) => v.value === country)!.tracks.find((t) => t.name === 'one_click')!.metrics[0]!.comparison!;
    assert.equal(c.verdict, 'inconclusive', country);
  }

  // Cochran's Q from the segments' estimates and standard errors.
  const expected = heterogeneityTest(
    segments.values.map((v) => {
      const c = v.tracks.find((t) => t.name === 'one_click')!.metrics[0]!.comparison!;
      return { estimate: c.absolute.estimate, standardError: c.absolute.standardError };
    }),
  );
  assert.ok(expected.ok);
  const h = segments.heterogeneity.find((x) => x.track === 'one_click' && x.metric === 'purchase')!;
  assert.equal(h.segments, 4);
  assert.ok(Math.abs(h.q! - expected.q) < 1e-9 && h.pValue! < 0.01, `Q ${h.q}, p ${h.pValue}`);

  const text = renderReport(report);
  assert.match(text, /By country \(4 segments; p adj across every segment\)/);
  assert.match(text, /one_click across country: Q = \d+\.\d \(df 3\), p [<\d. ]+, I² \d+%: effect differs by segment/);
  for (const line of text.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);

  // By plan: no difference between plans.
  const byPlan = (await reportBy(store, 'plan')).trackSets[0]!.segments!;
  assert.deepEqual(byPlan.values.map((v) => v.value).sort(), ['free', 'pro']);
  assert.ok(byPlan.heterogeneity[0]!.pValue! > 0.01);
});

test('the recorder bounds dimensions: 50 values per dimension (then other), bad names and values reported, a throwing function reported', async () => {
  class Noisy extends TrackSet<{ id: number; bad?: boolean }> {
    static override id = 'noisy';
    static override dimensions(context: { id: number; bad?: boolean }) {
      if (context.bad) throw new Error('no country today');
      return { user: context.id, 'not a name': 'x', nested: { a: 1 } as unknown as string, nothing: undefined, long: 'y'.repeat(100), control: 'a\u0000b' };
    }
    static loud_track() {}
  }
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e) });
  // First (onError is passed at most 100 failures of a kind per minute, then a summary).
  void new Noisy({ key: 'bad', context: { id: 0, bad: true } }).name;
  for (let i = 0; i < 120; i++) void new Noisy({ key: `k${i}`, context: { id: i } }).name;
  await flush();
  await close();
  const exposures = store.events.filter((e): e is ExposureEvent => e.kind === 'exposure' && e.trackSetId === 'noisy');
  assert.equal(exposures.length, 121, 'every exposure is recorded');
  const users = new Set(exposures.map((e) => e.dimensions?.user));
  assert.equal(users.size, 52, '50 values, other, and the exposure without dimensions');
  assert.ok(users.has('other'));
  assert.equal(exposures.find((e) => e.unit === 'bad')?.dimensions, undefined);
  const first = exposures.find((e) => e.unit === 'k0')!.dimensions!;
  assert.equal(first.long, 'y'.repeat(64));
  assert.equal(first.control, 'a\ufffdb');
  assert.ok(!('not a name' in first) && !('nested' in first) && !('nothing' in first));
  assert.ok(errors.some((e) => e instanceof TracksError && /Noisy\.dimensions\(context\) threw, so the exposure is recorded without dimensions: no country today/.test(e.message)));
  assert.ok(errors.some((e) => /Noisy\.dimensions: the name is 'not a name'; a dimension is named like an identifier/.test(e.message)));
  assert.ok(errors.some((e) => /Noisy\.dimensions: 'nested' is object; give a string, number or boolean/.test(e.message)));
});

test('blank dimension values are no values: not recorded, not counted toward the 8 dimensions, and all-blank is none', async () => {
  class Blank extends TrackSet<{ all: boolean }> {
    static override id = 'blank-dimensions';
    static override dimensions(context: { all: boolean }) {
      const blanks = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`blank${i}`, i % 2 ? '   ' : '\t']));
      return context.all ? { country: '  ' } : { ...blanks, real: 'x' };
    }
    static a_track() {}
  }
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e) });
  void new Blank({ key: 'all-blank', context: { all: true } }).name;
  void new Blank({ key: 'one-real', context: { all: false } }).name;
  await flush();
  await close();
  const exposures = store.events.filter((e): e is ExposureEvent => e.kind === 'exposure' && e.trackSetId === 'blank-dimensions');
  assert.equal(exposures.find((e) => e.unit === 'all-blank')!.dimensions, undefined);
  assert.deepEqual({ ...exposures.find((e) => e.unit === 'one-real')!.dimensions }, { real: 'x' });
  assert.deepEqual(errors, []);
});

test('users without the dimension are always their own row, (none), even when they are few and the values many', async () => {
  class Many extends TrackSet<{ country?: string }> {
    static override id = 'many-countries';
    static override dimensions(context: { country?: string }) {
      return { country: context.country };
    }
    static a_track() {}
    static b_track() {}
  }
  const store = memoryStore();
  configure({ store, outbox: false });
  // 12 countries of 40 + 2c users (c00 largest), and 5 users without a country.
  for (let c = 0; c < 12; c++) for (let i = 0; i < 40 + 2 * (12 - c); i++) void new Many({ key: `c${c}-${i}`, context: { country: `c${String(c).padStart(2, '0')}` } }).name;
  for (let i = 0; i < 5; i++) void new Many({ key: `none-${i}`, context: {} }).name;
  await flush();
  await close();
  const values = (await reportBy(store, 'country')).trackSets[0]!.segments!.values;
  const users = Object.fromEntries(values.map((v) => [v.value, v.users]));
  assert.equal(values.length, 10);
  assert.equal(users['(none)'], 5);
  // Eight countries shown; the four smallest (c08..c11: 48 + 46 + 44 + 42) added up as other.
  assert.deepEqual(Object.keys(users).filter((v) => v.startsWith('c')), ['c00', 'c01', 'c02', 'c03', 'c04', 'c05', 'c06', 'c07']);
  assert.equal(users.other, 48 + 46 + 44 + 42);
});

test('a value recorded as the text "(none)" joins the users without the dimension: one (none) row, never two of one name', async () => {
  class Literal extends TrackSet<{ country?: string }> {
    static override id = 'literal-none';
    static override dimensions(context: { country?: string }) {
      return { country: context.country };
    }
    static a_track() {}
  }
  const store = memoryStore();
  configure({ store, outbox: false });
  for (const [country, n] of [['(none)', 30], [undefined, 20], ['us', 60], ['other', 10]] as const) {
    for (let i = 0; i < n; i++) void new Literal({ key: `${country ?? 'missing'}-${i}`, context: country === undefined ? {} : { country } }).name;
  }
  await flush();
  await close();
  const values = (await reportBy(store, 'country')).trackSets[0]!.segments!.values;
  assert.deepEqual(
    values.map((v) => [v.value, v.users]),
    [
      ['us', 60],
      ['(none)', 50],
      ['other', 10],
    ],
  );
  assert.equal(new Set(values.map((v) => v.value)).size, values.length);
});

test('dimensions named __proto__, constructor or toString are kept and reported like any other, on SQLite', async () => {
  class Odd extends TrackSet<{ v: string }> {
    static override id = 'odd-dimensions';
    static override dimensions(context: { v: string }) {
      // A computed key: an own property named __proto__, as JSON.parse makes one.
      return { ['__proto__']: context.v, constructor: context.v, toString: 'x' };
    }
    static a_track() {}
    static b_track() {}
  }
  const path = join(dir, 'odd-dimensions.db');
  const errors: Error[] = [];
  configure({ store: path, outbox: false, onError: (e) => errors.push(e) });
  for (let i = 0; i < 40; i++) void new Odd({ key: `u${i}`, context: { v: i % 2 ? 'even' : 'odd' } }).name;
  await flush();
  await close();
  assert.deepEqual(errors, []);
  const store = sqliteStore(path);
  try {
    for (const by of ['__proto__', 'constructor']) {
      const segments = (await reportBy(store, by)).trackSets[0]!.segments!.values.map((v) => v.value).sort();
      assert.deepEqual(segments, ['even', 'odd'], by);
    }
  } finally {
    await store.close();
  }
});

test('with hashKeys, dimension values are stored hashed as keys are', async () => {
  const store = memoryStore();
  await record(store, { hashKeys: { secret: 'a test secret of 32 characters!!' } });
  const exposure = store.events.find((e): e is ExposureEvent => e.kind === 'exposure')!;
  assert.match(exposure.dimensions!.country!, /^h:[A-Za-z0-9_-]{43}$/);
  assert.ok(!JSON.stringify(store.events).includes('"de"'), 'no raw value stored');
});

test('SQLite and the CLI: tracks report --by country, --json carries segments; a bad --by is refused', async () => {
  const path = join(dir, 'segments.db');
  await record(sqliteStore(path));
  const run = async (...args: string[]) => {
    let out = '';
    const code = await runCli(['report', '--store', path, ...args], { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
    return { code, out };
  };
  const json = JSON.parse((await run('--json', '--by', 'country')).out) as Report;
  assert.deepEqual(json.trackSets[0]!.segments!.values.map((v) => v.value).sort(), [...COUNTRIES].sort());
  assert.match((await run('--by', 'country')).out, /By country/);
  assert.equal(JSON.parse((await run('--json')).out).trackSets[0].segments, undefined, 'no --by, no segments');
  const bad = await run('--by', 'country;');
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--by is 'country;'; give a dimension name/);
  const unknown = await run('--by', 'platform');
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /--by 'platform': no exposure of the set '\S+' records that dimension; recorded dimensions are 'country', 'plan'/);
});

test('tracks report --by: a reported set that does not record the dimension is not broken down into one segment "(none)", and the report says so', async () => {
  const path = join(dir, 'segments-mixed.db');
  await record(sqliteStore(path));
  class PlainTracks extends TrackSet {
    static override id = 'plain-no-dimensions';
    static fast_track() {}
  }
  configure({ store: path, outbox: false });
  for (let i = 0; i < 200; i++) void new PlainTracks({ key: `plain-${i}` }).name;
  await close();
  const run = async (...args: string[]) => {
    let out = '';
    const code = await runCli(['report', '--store', path, ...args], { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
    return { code, out };
  };
  const json = JSON.parse((await run('--json', '--by', 'country')).out) as Report;
  const plain = json.trackSets.find((set) => set.id === 'plain-no-dimensions')!;
  const checkout = json.trackSets.find((set) => set.id !== 'plain-no-dimensions')!;
  assert.equal(plain.segments, undefined, 'no breakdown for a set without the dimension');
  assert.deepEqual(checkout.segments!.values.map((v) => v.value).sort(), [...COUNTRIES].sort());
  const text = await run('--by', 'country');
  assert.equal(text.code, 0);
  assert.equal(text.out.match(/By country/g)?.length, 1, 'one breakdown, the set that records the dimension');
  assert.doesNotMatch(text.out, /\(none\)/);
  assert.match(text.out, /--by 'country': 'plain-no-dimensions' records no such dimension; not broken down/);
});

test('a value cut at 64 characters never splits an emoji: every exposure reaches SQLite with its dimensions', async () => {
  class Emoji extends TrackSet<{ label: string }> {
    static override id = 'emoji-cut';
    static override dimensions(context: { label: string }) {
      return { label: context.label };
    }
    static wide_track() {}
  }
  const path = join(dir, 'emoji.db');
  const errors: Error[] = [];
  configure({ store: path, outbox: false, onError: (e) => errors.push(e) });
  // 63 characters, then a coconut (two UTF-16 units): a cut at 64 would keep half of it.
  for (let i = 0; i < 20; i++) void new Emoji({ key: `k${i}`, context: { label: `${'a'.repeat(63)}🥥${i}` } }).name;
  await flush();
  await close();
  assert.deepEqual(errors, []);
  const store = sqliteStore(path);
  const [sums] = await store.summarize({ by: 'label' });
  await store.close();
  assert.equal(sums!.tracks.reduce((n, t) => n + t.users, 0), 20, '20 exposures in, 20 rows out');
  assert.deepEqual([...sums!.segments!.values.keys()], ['a'.repeat(63)], 'the half emoji is dropped, not stored');
});

test('a Δ in a segment row alone still gets the footnote that says what Δ is', async () => {
  const store = memoryStore();
  await record(store);
  const report = await reportBy(store, 'country');
  const footnote = /Δ = the absolute difference/;
  assert.doesNotMatch(renderReport(report), footnote, 'no row shows Δ in these data');
  // One segment's comparison as a small segment's can be: the relative interval crosses zero, the absolute one does not.
  const edited = structuredClone(report) as { -readonly [K in keyof Report]: unknown } & Report;
  const set = edited.trackSets.find((s) => s.id === 'checkout')!;
  const row = set.segments!.values.flatMap((v) => v.tracks).flatMap((t) => t.metrics).find((m) => m.comparison !== null)!;
  Object.assign(row.comparison!, {
    absolute: { ...row.comparison!.absolute, estimate: 0.147, interval: [0.048, 0.246] },
    relative: { ...row.comparison!.relative!, estimate: 1.253, interval: [-0.505, 3.01] },
  });
  const text = renderReport(edited);
  assert.match(text, /Δ\+0\.147/);
  assert.match(text.replace(/\s+/g, ' '), footnote);
});

test('--by before any conversion: the text report still shows each segment’s users per track and its sample-ratio check', async () => {
  const store = memoryStore();
  configure({ store, outbox: false });
  for (let i = 0; i < 2000; i++) new CheckoutTracks({ key: `early-${i}`, context: { shopper: { country: COUNTRIES[i % 4]!, plan: 'free' } } }).run();
  await flush();
  await close();
  const report = await reportBy(store, 'country');
  const segments = report.trackSets[0]!.segments!;
  const text = renderReport(report);
  assert.match(text, /By country \(4 segments; p adj across every segment\)/);
  const heading = text.split('\n').findIndex((line) => /^\s+country\s+track\s+users\s+SRM p\s*$/.test(line));
  assert.ok(heading > 0, `a table of segments, tracks, users and SRM p:\n${text}`);
  for (const v of segments.values) {
    for (const t of v.tracks) {
      const row = new RegExp(`^\\s+${v.value}\\s+${t.name}\\s+${t.users.toLocaleString('en-US')}\\b`, 'm');
      assert.match(text, row, `${v.value} / ${t.name}`);
    }
  }
  assert.equal(segments.values.reduce((n, v) => n + v.users, 0), 2000);
});

test('long segment values that differ only at their end stay apart in the text report', async () => {
  class Campaigns extends TrackSet<{ campaign: string }> {
    static override id = 'campaigns';
    static override dimensions(context: { campaign: string }) {
      return { campaign: context.campaign };
    }
    static a_track() {}
  }
  const store = memoryStore();
  configure({ store, outbox: false });
  for (let i = 0; i < 400; i++) {
    const key = `c-${i}`;
    void new Campaigns({ key, context: { campaign: `newsletter_spring_2025_${i % 2 ? 'a' : 'b'}` } }).name;
    if (i % 4 === 0) convert({ key, metric: 'purchase' });
  }
  await flush();
  await close();
  const text = renderReport(await reportBy(store, 'campaign'));
  for (const line of text.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
  // Cut to 20 characters they would read the same: numbered in the tables, named in full below.
  const rows = text.split('\n').filter((line) => /^\s+\d\. newsletter_spri…\s+a\s/.test(line));
  assert.deepEqual(rows.map((line) => line.trim().slice(0, 2)).sort(), ['1.', '2.']);
  assert.match(text, /^ {2}segments:\n {4}1\. newsletter_spring_2025_[ab]\n {4}2\. newsletter_spring_2025_[ab]$/m);
  for (const value of ['newsletter_spring_2025_a', 'newsletter_spring_2025_b']) assert.ok(text.includes(value), value);
});

test('segment values differing only in the middle (URLs of 64 characters) keep the tables within 100 columns', async () => {
  class Pages extends TrackSet<{ page: string }> {
    static override id = 'pages';
    static override dimensions(context: { page: string }) {
      return { page: context.page };
    }
    static a_track() {}
  }
  const store = memoryStore();
  configure({ store, outbox: false });
  // Ten values of 64 characters, cut to the same 20: numbered, each named on a line of its own.
  const pages = 'qrstuvwxyz'.split('').map((c) => `https://shop.example.com/${'a'.repeat(10)}${c}${'b'.repeat(17)}/index.html`);
  for (let i = 0; i < 2000; i++) {
    void new Pages({ key: `p-${i}`, context: { page: pages[i % 10]! } }).name;
    if (i % 5 === 0) convert({ key: `p-${i}`, metric: 'purchase' });
  }
  await flush();
  await close();
  const text = renderReport(await reportBy(store, 'page'));
  for (const line of text.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  for (const page of pages) assert.match(text, new RegExp(`^ {4}\\d+\\. ${page.replaceAll('.', '\\.')}$`, 'm'), `named in full: ${page}`);
});
