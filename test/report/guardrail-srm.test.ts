// A guardrail trip is not a sample-ratio mismatch. From the trip on, the tripped track's new
// keys are served the baseline and record no exposure, so the track stops gaining users while
// the others keep their weights' ratios: checked against the phase's weights, the split looks
// broken. Each phase's check leaves out the tracks tripped in it or before it and tests the
// rest against their own weights. Against the memory store, real SQLite and real PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildReport, memoryStore, postgresStore, renderReport, sqliteStore } from '../../src/index.js';
import type { RecordedEvent, Report, Store, TrackSetResult } from '../../src/index.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-guardrail-srm-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));
const schemaFor = schemasFor('gs');

const HOUR = 3_600_000;
const START = Date.UTC(2026, 5, 1);

interface Phase {
  readonly id: string;
  readonly start: number;
  readonly weights: Readonly<Record<string, number>>;
  /** Users per track, in order of exposure: those before `split` first, then the rest. */
  readonly users: Readonly<Record<string, number>>;
}

/** A definition per phase and its users' exposures, one a minute, tracks interleaved. */
function eventsOf(setId: string, phases: readonly Phase[], country?: (u: number) => string): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  let u = 0;
  for (const [index, p] of phases.entries()) {
    events.push({ kind: 'definition', eventId: `${setId}-def-${index}-${p.id}`, trackSetId: setId, weights: { ...p.weights }, coverage: 1, control: 'control', phase: p.id, sticky: false, at: p.start });
    const left = { ...p.users };
    for (let i = 0; Object.values(left).some((n) => n > 0); ) {
      for (const track of Object.keys(left)) {
        if (left[track]! === 0) continue;
        left[track]! -= 1;
        const dimensions = country === undefined ? {} : { dimensions: { country: country(u) } };
        events.push({ kind: 'exposure', eventId: `${setId}-x${u}`, trackSetId: setId, track, unit: `${setId}-u${u}`, at: p.start + i++ * 60_000, phase: p.id, ...dimensions });
        u++;
      }
    }
  }
  return events;
}

const trip = (setId: string, track: string, at: number): RecordedEvent => ({ kind: 'guardrail', eventId: `${setId}-trip-${track}`, trackSetId: setId, track, cause: 'error rate 50.0% vs control 0.0% over 60 s', at });

// 100 users a track until 'bad' trips, then 300 more each for control and ok and none for bad:
// 400 / 400 / 100 against weights 1:1:1 (p far below 0.001), a perfect 1:1 without bad.
const TRIPPED: Phase = { id: 'p1', start: START, weights: { control: 1, ok: 1, bad: 1 }, users: { control: 400, ok: 400, bad: 100 } };

async function storeOf(t: { skip(message: string): void }, kind: string, name: string): Promise<Store | undefined> {
  if (kind === 'memory') return memoryStore();
  if (kind === 'SQLite') return sqliteStore(join(dir, `${name}.db`));
  if (postgresUrl === undefined) {
    t.skip(POSTGRES_SKIP);
    return undefined;
  }
  const schema = schemaFor(name);
  return postgresStore(postgresUrl, { schema });
}

async function reportOf(store: Store, events: readonly RecordedEvent[], by?: string): Promise<Report> {
  await store.write(events);
  return buildReport(await store.summarize(by === undefined ? undefined : { by }), { now: new Date(START + 24 * HOUR) });
}

async function setsOf(store: Store, events: readonly RecordedEvent[], by?: string): Promise<Map<string, TrackSetResult>> {
  return new Map((await reportOf(store, events, by)).trackSets.map((s) => [s.id, s]));
}

for (const kind of ['memory', 'SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: a guardrail trip raises no sample-ratio alarm; the tripped track is left out of the check`, async (t) => {
    const store = await storeOf(t, kind, 'trip');
    if (store === undefined) return;
    try {
      const sets = await setsOf(store, [
        ...eventsOf('tripped', [TRIPPED]),
        trip('tripped', 'bad', START + 150 * 60_000),
        // The same users without the trip: a real mismatch, as before.
        ...eventsOf('untripped', [TRIPPED]),
        // A trip does not hide a broken split of the other tracks.
        ...eventsOf('broken', [{ ...TRIPPED, users: { control: 500, ok: 300, bad: 100 } }]),
        trip('broken', 'bad', START + 150 * 60_000),
      ]);
      const tripped = sets.get('tripped')!;
      assert.deepEqual(tripped.guardrails.map((g) => g.track), ['bad']);
      assert.equal(tripped.srm?.mismatch, false, `control and ok are split 1:1: p = ${tripped.srm?.pValue}`);
      assert.equal(tripped.srm!.pValue, 1);
      assert.deepEqual(tripped.srmExcluded, ['bad']);
      assert.deepEqual(tripped.phases.map((p) => [p.srm?.pValue, p.srmExcluded]), [[1, ['bad']]]);
      assert.ok(!tripped.warnings.some((w) => w.kind === 'sample-ratio-mismatch'), JSON.stringify(tripped.warnings));
      assert.ok(tripped.warnings.some((w) => w.kind === 'guardrail'));
      assert.deepEqual(tripped.tracks.map((x) => [x.name, x.users, x.expectedShare]), [['control', 400, 1 / 3], ['ok', 400, 1 / 3], ['bad', 100, 1 / 3]], 'the tracks and their shares are unchanged');

      const untripped = sets.get('untripped')!;
      assert.equal(untripped.srm?.mismatch, true);
      assert.deepEqual(untripped.srmExcluded, []);
      assert.deepEqual(untripped.phases[0]!.srmExcluded, []);
      assert.ok(untripped.warnings.some((w) => w.kind === 'sample-ratio-mismatch'));

      const broken = sets.get('broken')!;
      assert.deepEqual(broken.srmExcluded, ['bad']);
      assert.equal(broken.srm?.mismatch, true, '500 / 300 is no 1:1 split');
      assert.ok(broken.warnings.some((w) => w.kind === 'sample-ratio-mismatch'));
    } finally {
      await store.close();
    }
  });
}

test('the text report names the tracks left out beside the sample ratio, as a note, not an alarm', async () => {
  const text = renderReport(await reportOf(memoryStore(), [...eventsOf('tripped', [TRIPPED]), trip('tripped', 'bad', START + 150 * 60_000)]));
  const first = text.split('\n')[0]!;
  assert.match(first, /, sample ratio p = 1\.0* without bad \(guardrail\)$/);
  assert.doesNotMatch(text, /sample-ratio mismatch/);
  assert.match(text, /! guardrail switched 'bad' off/);
});

test('with fewer than 2 tracks left there is no check, and the report says why', async () => {
  const phase: Phase = { id: 'p1', start: START, weights: { control: 1, bad: 1 }, users: { control: 400, bad: 100 } };
  const report = await reportOf(memoryStore(), [...eventsOf('pair', [phase]), trip('pair', 'bad', START + 150 * 60_000)]);
  const pair = report.trackSets[0]!;
  assert.equal(pair.srm, null);
  assert.deepEqual(pair.srmExcluded, ['bad']);
  assert.deepEqual(pair.phases.map((p) => [p.srm, p.srmExcluded]), [[null, ['bad']]]);
  assert.ok(!pair.warnings.some((w) => w.kind === 'sample-ratio-mismatch'));
  const text = renderReport(report);
  assert.match(text.split('\n').slice(0, 2).join(' '), /no sample-ratio check: fewer than 2 tracks left without bad \(guardrail\)/);
});

test('a trip leaves the track out of its own phase only: a phase that ended before it, or began after it, is checked whole', async () => {
  // Phase 1 splits 1:1:1 (bad short: broken, as nothing excuses it); phase 2 runs 1:1:2, and bad trips in it.
  const phases: Phase[] = [
    { id: 'a', start: START, weights: { control: 1, ok: 1, bad: 1 }, users: { control: 300, ok: 300, bad: 200 } },
    { id: 'b', start: START + 24 * HOUR, weights: { control: 1, ok: 1, bad: 2 }, users: { control: 300, ok: 300, bad: 100 } },
  ];
  const later = await setsOf(memoryStore(), [...eventsOf('later', phases), trip('later', 'bad', START + 25 * HOUR)]);
  const set = later.get('later')!;
  assert.deepEqual(set.phases.map((p) => p.srmExcluded), [[], ['bad']]);
  assert.equal(set.phases[0]!.srm?.mismatch, true, 'phase 1 ended before the trip: bad stays in its check');
  assert.deepEqual([set.phases[1]!.srm?.pValue, set.phases[1]!.srm?.mismatch], [1, false]);
  assert.deepEqual(set.srmExcluded, ['bad']);
  assert.equal(set.srm?.mismatch, true, "phase 1's broken split still shows in the set's check");

  // Tripped in phase 1: left out of phase 1 only. Phase 2 is checked whole (a trip lasts until
  // its process restarts), and its skewed split warns, naming the earlier trip as the likely cause.
  const fine: Phase[] = [{ ...phases[0]!, users: { control: 300, ok: 300, bad: 50 } }, phases[1]!];
  const earlier = await setsOf(memoryStore(), [...eventsOf('earlier', fine), trip('earlier', 'bad', START + 2 * HOUR)]);
  const both = earlier.get('earlier')!;
  assert.deepEqual(both.phases.map((p) => p.srmExcluded), [['bad'], []]);
  assert.equal(both.phases[0]!.srm?.pValue, 1);
  assert.equal(both.phases[1]!.srm?.mismatch, true, 'phase 2 began after the trip: checked whole, never left without a check');
  const warning = both.warnings.find((w) => w.kind === 'sample-ratio-mismatch');
  assert.match(warning?.message ?? '', /a guardrail tripped 'bad' in an earlier phase/);

  // A two-track set tripped in phase 1 keeps a check in phase 2, which catches a real skew there.
  const two: Phase[] = [
    { id: 'a', start: START, weights: { control: 1, b: 1 }, users: { control: 300, b: 200 } },
    { id: 'b', start: START + 24 * HOUR, weights: { control: 1, b: 3 }, users: { control: 600, b: 400 } },
  ];
  const blind = (await setsOf(memoryStore(), [...eventsOf('two', two), trip('two', 'b', START + 2 * HOUR)])).get('two')!;
  assert.equal(blind.phases[0]!.srm, null, 'phase 1: one track left, no check');
  assert.equal(blind.phases[1]!.srm?.mismatch, true, 'phase 2: checked, and the 6:4 split against 1:3 is flagged');
});

test("each segment's check leaves out the tracks the set's leaves out", async () => {
  const sets = await setsOf(memoryStore(), [...eventsOf('seg', [TRIPPED], (u) => (Math.floor(u / 10) % 2 === 0 ? 'de' : 'fr')), trip('seg', 'bad', START + 150 * 60_000)], 'country');
  const segments = sets.get('seg')!.segments!;
  assert.deepEqual(segments.values.map((v) => v.value).sort(), ['de', 'fr']);
  for (const v of segments.values) assert.ok(v.srm !== null && !v.srm.mismatch, `${v.value}: p = ${v.srm?.pValue}`);
});

test('a phase that comes back (a rollback) is left out for a trip between its stretches, not in them: it is checked, and flagged', async () => {
  // Phase a (1:1), then b (1:3) where 'b' trips, then a again; a's users are badly skewed, 2,000 vs 1,400.
  const phases: Phase[] = [
    { id: 'a', start: START, weights: { control: 1, b: 1 }, users: { control: 1000, b: 700 } },
    { id: 'b', start: START + 48 * HOUR, weights: { control: 1, b: 3 }, users: { control: 400, b: 1100 } },
    { id: 'a', start: START + 96 * HOUR, weights: { control: 1, b: 1 }, users: { control: 1000, b: 700 } },
  ];
  const set = (await setsOf(memoryStore(), [...eventsOf('rb', phases), trip('rb', 'b', START + 50 * HOUR)])).get('rb')!;
  const [a, b] = ['a', 'b'].map((id) => set.phases.find((p) => p.id === id)!);
  assert.deepEqual([a!.srmExcluded, b!.srmExcluded], [[], ['b']], 'the trip was in b: a, in force before and after it, is checked whole');
  assert.equal(a!.srm?.mismatch, true);
  assert.match(set.warnings.find((w) => w.kind === 'sample-ratio-mismatch')?.message ?? '', /a guardrail tripped 'b' in an earlier phase/);
});
