// Sticky assignments across a restart with changed weights, on
// SQLite and PostgreSQL, and on units: runs without a key, keys that look like stored units.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, close, configure, convert, flush, memoryStore, ready, stats } from '../../src/index.js';
import type { ConversionEvent, ExposureEvent } from '../../src/index.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';

// PostgreSQL parts run when TRACKS_TEST_POSTGRES_URL is set (README, Development).
const PG = postgresUrl ?? '';
const dir = mkdtempSync(join(tmpdir(), 'g3-sticky-'));
/** Schemas of this file's own, dropped when it ends (test/support/postgres.ts). */
const schemaFor = schemasFor('sticky');
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

function versions(id: string) {
  class V1 extends TrackSet {
    static override id = id;
    static override sticky = true;
    static override weights = { control: 1, a: 1, b: 1 };
    static a_track() {}
    static b_track() {}
  }
  class V2 extends TrackSet {
    static override id = id;
    static override sticky = true;
    static override weights = { control: 1, a: 0, b: 5 };
    static a_track() {}
    static b_track() {}
  }
  return { V1, V2 };
}

async function stickyAcrossRestart(store: string, schema?: string) {
  const id = `g2-sticky-${schema ?? 'sqlite'}`;
  const { V1, V2 } = versions(id);
  const errors: Error[] = [];
  const opts = { store, ...(schema ? { schema } : {}), outbox: join(dir, `${id}.outbox`), handleSignals: false, onError: (e: Error) => errors.push(e) };
  configure(opts);
  await ready();
  const first = new Map<string, string>();
  for (let i = 0; i < 300; i++) {
    const r = new V1({ key: `s-${i}` });
    r.run();
    first.set(`s-${i}`, r.name);
  }
  assert.ok([...first.values()].filter((t) => t === 'a').length > 50);
  await close();
  // A new process (configuration) with new weights: a weighs 0 now.
  configure(opts);
  await ready();
  let moved = 0;
  for (let i = 0; i < 300; i++) {
    const r = new V2({ key: `s-${i}` });
    r.run();
    if (r.name !== first.get(`s-${i}`)) moved++;
  }
  let newOnA = 0;
  for (let i = 0; i < 300; i++) if (new V2({ key: `new-${i}` }).name === 'a') newOnA++;
  await close();
  assert.equal(moved, 0, `${moved} returning keys moved to another track`);
  assert.equal(newOnA, 0, 'new keys follow the new weights');
  assert.deepEqual(errors.map((e) => e.message), []);
  assert.equal(stats().dropped, 0);
}

test('sticky on SQLite: returning keys keep their track after the weights change, from the first run of a new configuration', async () => {
  await stickyAcrossRestart(join(dir, 'sticky.db'));
});

test('sticky on PostgreSQL: the same, after ready()', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const schema = schemaFor('sticky');
  await stickyAcrossRestart(PG, schema);
});

class G2Units extends TrackSet {
  static override id = 'g2-units';
  static b_track() {}
}

test('a run without a key is its own unit; convert({ runId }) credits it; a key spelled like a run unit is a different unit', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, handleSignals: false });
  const keyless = new G2Units();
  keyless.run();
  convert({ runId: keyless.runId, metric: 'clicked', value: 3 });
  const impostor = new G2Units({ key: `run:${keyless.runId}` });
  impostor.run();
  convert({ key: `run:${keyless.runId}`, metric: 'clicked', value: 100 });
  const again = new G2Units(); // another keyless run is another unit
  again.run();
  await flush();
  const exposures = store.events.filter((e): e is ExposureEvent => e.kind === 'exposure');
  assert.equal(exposures.length, 3);
  assert.equal(new Set(exposures.map((e) => e.unit)).size, 3);
  const conversions = store.events.filter((e): e is ConversionEvent => e.kind === 'conversion');
  assert.equal(conversions.length, 2);
  assert.notEqual(conversions[0]!.unit, conversions[1]!.unit);
  const [sums] = await store.summarize({ trackSetId: 'g2-units' });
  const total = sums!.tracks.reduce((n, t) => n + (t.metrics.get('clicked')?.sum ?? 0), 0);
  assert.equal(total, 103);
  const keylessTrack = sums!.tracks.find((t) => t.track === keyless.name)!;
  assert.ok((keylessTrack.metrics.get('clicked')?.sum ?? 0) >= 3);
  await close();
});
