// Nothing poisons the pipeline: bad input is refused at the edge, an event the store refuses
// is narrowed down and quarantined while every other event is written, and a bad row in the
// outbox never blocks the rows behind it, across restarts. Against real SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { TrackSet, TracksError, callbackStore, close, configure, convert, flush, memoryStore, stats } from '../../src/index.js';
import type { RecordingOptions, Store } from '../../src/index.js';
import { eventually } from '../support/eventually.js';
import { outboxRows } from '../support/outbox-rows.js';
import { postgresUrl, schemasFor, sql } from '../support/postgres.js';

const url = postgresUrl;
const dir = mkdtempSync(join(tmpdir(), 'tracks-poison-'));
const schemaFor = schemasFor('p');
let n = 0;


after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

class PoisonTracks extends TrackSet {
  static override id = 'poison';
  static a_track() {}
}

/**
 * How the store is made to refuse value 13: a constraint, a trigger of the user's that raises,
 * or one that fails with an error of no data class (PostgreSQL XX000, SQLite's SQLITE_ERROR),
 * which recording first takes for a passing failure; 'everything': that error on every row.
 */
type Refusal = 'constraint' | 'trigger' | 'internal' | 'everything';

/** A store of each kind, with how to count its conversion rows and how to make it refuse value 13. */
interface Kind {
  readonly name: string;
  readonly skip?: string;
  fresh(): { spec: RecordingOptions; conversions(): Promise<number>; refuse13(how: Refusal): Promise<void>; accept(): Promise<void> };
}

const kinds: Kind[] = [
  {
    name: 'SQLite',
    fresh: () => {
      const path = join(dir, `poison-${n++}.db`);
      const open = () => new BetterSqlite3(path);
      return {
        spec: { store: path },
        conversions: async () => {
          const db = open();
          try {
            return (db.prepare('SELECT COUNT(*) AS n FROM tracks_conversions').get() as { n: number }).n;
          } finally {
            db.close();
          }
        },
        refuse13: async (how) => {
          const db = open();
          if (how === 'constraint') {
            // SQLite cannot add a CHECK to a table: a trigger whose RAISE(ABORT) fails as a constraint does.
            db.exec(`CREATE TRIGGER refuse13 BEFORE INSERT ON tracks_conversions WHEN NEW.value = 13 BEGIN SELECT RAISE(ABORT, 'thirteen is refused'); END`);
          } else if (how === 'internal' || how === 'everything') {
            // json() of text that is not JSON: SQLITE_ERROR, a code of no data class.
            db.exec(`CREATE TRIGGER refuse13 BEFORE INSERT ON tracks_conversions ${how === 'internal' ? 'WHEN NEW.value = 13 ' : ''}BEGIN SELECT json('thirteen is refused'); END`);
          } else {
            db.exec(`CREATE TRIGGER refuse13 BEFORE INSERT ON tracks_conversions WHEN NEW.value = 13 BEGIN SELECT RAISE(FAIL, 'thirteen is refused'); END`);
          }
          db.close();
        },
        accept: async () => {
          const db = open();
          db.exec('DROP TRIGGER IF EXISTS refuse13');
          db.close();
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    ...(url === undefined ? { skip: 'TRACKS_TEST_POSTGRES_URL is not set' } : {}),
    fresh: () => {
      const schema = schemaFor(String(n++));
      return {
        spec: { store: url!, schema },
        conversions: async () => Number((await sql<{ n: string }>(`SELECT COUNT(*) AS n FROM "${schema}".tracks_conversions`))[0]!.n),
        refuse13: async (how) => {
          if (how === 'constraint') await sql(`ALTER TABLE "${schema}".tracks_conversions ADD CONSTRAINT refuse13 CHECK (value <> 13)`);
          else {
            // A plain RAISE EXCEPTION: SQLSTATE P0001, not a constraint's class 23; or XX000, an internal error.
            const when = how === 'everything' ? 'TRUE' : 'NEW.value = 13';
            const code = how === 'trigger' ? '' : ` USING ERRCODE = 'XX000'`;
            await sql(`CREATE FUNCTION "${schema}".refuse13() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN IF ${when} THEN RAISE EXCEPTION 'thirteen is refused'${code}; END IF; RETURN NEW; END $$`);
            await sql(`CREATE TRIGGER refuse13 BEFORE INSERT ON "${schema}".tracks_conversions FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse13()`);
          }
        },
        accept: async () => {
          await sql(`DROP TRIGGER IF EXISTS refuse13 ON "${schema}".tracks_conversions`);
          await sql(`ALTER TABLE "${schema}".tracks_conversions DROP CONSTRAINT IF EXISTS refuse13`);
        },
      };
    },
  },
];

/** Every malformed convert() the issue met in production, and what the edge makes of it. */
const POISON: Array<[string, Parameters<typeof convert>[0], 'rejected' | 'stored']> = [
  ['at NaN', { key: 'p', metric: 'buy', at: Number.NaN }, 'rejected'],
  ['a fractional at (Date.now() + 0.5), rounded', { key: 'p', metric: 'buy', at: Date.now() + 0.5 }, 'stored'],
  ['at a Date', { key: 'p', metric: 'buy', at: new Date() }, 'stored'],
  ['at a string', { key: 'p', metric: 'buy', at: String(Date.now()) as unknown as number }, 'rejected'],
  ['at 1e20', { key: 'p', metric: 'buy', at: 1e20 }, 'rejected'],
  ['at Infinity', { key: 'p', metric: 'buy', at: Number.POSITIVE_INFINITY }, 'rejected'],
  ['at in seconds', { key: 'p', metric: 'buy', at: Math.floor(Date.now() / 1000) }, 'rejected'],
  ['a NUL in the metric', { key: 'p', metric: 'b\u0000uy', at: Date.now() }, 'rejected'],
  ['a 3,000-character metric', { key: 'p', metric: 'm'.repeat(3000) }, 'rejected'],
  ['a metric of 134 CJK characters (402 bytes of UTF-8: PostgreSQL index keys are bounded in bytes)', { key: 'p', metric: '\u6f22'.repeat(134) }, 'rejected'],
  ['a metric of 133 CJK characters (399 bytes)', { key: 'p', metric: '\u6f22'.repeat(133) }, 'stored'],
  ['an unpaired surrogate in the metric', { key: 'p', metric: 'buy\ud800' }, 'rejected'],
  ['a NUL in the key, stored in canonical form', { key: 'k\u0000ey', metric: 'buy' }, 'stored'],
  ['a 3,000-character key, stored in canonical form', { key: 'k'.repeat(3000), metric: 'buy' }, 'stored'],
  ['an unpaired surrogate in the key', { key: 'key\udc00', metric: 'buy' }, 'stored'],
  ['a value of Infinity', { key: 'p', metric: 'buy', value: Number.POSITIVE_INFINITY }, 'rejected'],
];

for (const kind of kinds) {
  describe(`poison, ${kind.name}`, { skip: kind.skip ?? false }, () => {
    test('each poison input of the issue, then 100 good events: the edge refuses what no store takes, every good event is stored', async () => {
      const store = kind.fresh();
      const errors: Error[] = [];
      configure({ ...store.spec, outbox: join(dir, `edge-${n}.outbox`), onError: (e) => errors.push(e) });
      let stored = 0;
      let rejected = 0;
      for (const [what, call, fate] of POISON) {
        const before = errors.length;
        assert.doesNotThrow(() => convert(call), what);
        if (fate === 'stored') stored++;
        else {
          rejected++;
          assert.ok(errors[before] instanceof TracksError, `${what}: ${String(errors[before])}`);
          assert.match(errors[before]!.message, /^convert: /, what);
        }
      }
      for (let i = 0; i < 100; i++) convert({ key: `good-${i}`, metric: 'buy', value: i });
      await flush();
      const final = stats();
      await close();
      assert.equal(await store.conversions(), stored + 100);
      assert.equal(final.rejected, rejected);
      assert.equal(final.quarantined, 0);
      assert.equal(final.dropped, 0);
    });

    for (const how of ['constraint', 'trigger', 'internal'] as const) {
      test(`an event the store refuses for good (${how}) is narrowed down and quarantined; every other event is written`, async () => {
        const store = kind.fresh();
        const errors: Error[] = [];
        const outbox = join(dir, `refused-${n}.outbox`);
        // 'internal' is retried first (it could pass): a short retry delay keeps the test short.
        configure({ ...store.spec, outbox, batchSize: 500, retryDelay: 10, onError: (e) => errors.push(e) });
        convert({ key: 'create-the-tables', metric: 'buy' });
        await flush();
        await store.refuse13(how);
        for (let i = 0; i < 1000; i++) convert({ key: `u-${i}`, metric: 'buy', value: i % 500 === 13 ? 13 : 1 });
        await flush();
        const final = stats();
        await close();
        assert.equal(await store.conversions(), 1 + 998, 'all but the two refused events');
        assert.equal(final.quarantined, 2);
        assert.equal(final.buffered, 0);
        const quarantined = quarantineOf(outbox);
        assert.equal(quarantined.length, 2);
        for (const row of quarantined) {
          assert.equal((JSON.parse(row.event) as { value: number }).value, 13);
          assert.match(row.error, /thirteen is refused|refuse13|malformed JSON/);
          if (how === 'internal') assert.match(row.error, /refused alone on every try, while the events written beside it were taken/);
        }
        assert.ok(errors.some((e) => /quarantined conversion/.test(e.message)));
      });
    }

    test('a store that refuses every write with such an error quarantines nothing: the events wait, and are all written once it takes them', async () => {
      const store = kind.fresh();
      const outbox = join(dir, `refuses-all-${n}.outbox`);
      configure({ ...store.spec, outbox, batchSize: 100, retryDelay: 10, flushTimeout: 1_500 });
      convert({ key: 'create-the-tables', metric: 'buy' });
      await flush();
      await store.refuse13('everything');
      for (let i = 0; i < 300; i++) convert({ key: `w-${i}`, metric: 'buy', value: 1 });
      await flush();
      const during = stats();
      await close();
      assert.equal(during.quarantined, 0, 'nothing set aside: no part of any batch was written');
      assert.equal(during.dropped, 0);
      assert.equal(during.spilled, 300, 'they wait in the outbox');
      assert.equal(quarantineOf(outbox).length, 0);
      await store.accept();
      configure({ ...store.spec, outbox });
      await flush();
      const after = stats();
      await close();
      assert.equal(await store.conversions(), 1 + 300);
      assert.equal(after.drained, 300);
    });
  });
}

function quarantineOf(outbox: string): Array<{ event: string; error: string }> {
  const db = new BetterSqlite3(outbox, { readonly: true });
  try {
    return db.prepare('SELECT event, error FROM tracks_quarantine ORDER BY id').all() as Array<{ event: string; error: string }>;
  } finally {
    db.close();
  }
}

test('an event in the outbox that the store refuses on every try with an error of no data class is quarantined after a few; the rows behind it drain', async () => {
  const outbox = join(dir, 'refused-in-outbox.outbox');
  const at = Date.now() - 60_000;
  // Spilled by an earlier process: the refused event first, at the head.
  seedOutbox(outbox, ['refused', ...Array.from({ length: 50 }, (_, i) => `ok-${i}`)].map((id) => JSON.stringify({ kind: 'conversion', eventId: id, unit: `u-${id}`, metric: 'buy', value: 1, at })));
  const taken: string[] = [];
  // A pipeline that answers its own error (no code, so taken for one that may pass) for that event alone.
  const store = callbackStore((events) => {
    if (events.some((e) => e.eventId === 'refused')) throw new Error('the pipeline refuses refused');
    taken.push(...events.map((e) => e.eventId));
  });
  configure({ store, outbox, retryDelay: 10 });
  // Retried as a failure that may pass (a flush stops at the first), then narrowed down in the background.
  await eventually(() => stats().quarantined === 1 && stats().drained === 50, 'the refused event quarantined and the rest drained');
  const final = stats();
  await close();
  assert.equal(final.quarantined, 1);
  assert.equal(new Set(taken).size, 50, 'every row behind it was written');
  assert.equal(final.drained, 50);
  const [row] = quarantineOf(outbox);
  assert.equal((JSON.parse(row!.event) as { eventId: string }).eventId, 'refused');
  assert.match(row!.error, /the pipeline refuses refused \(refused alone on every try/);
  assert.equal(outboxRows(outbox), 0);
});

/** An outbox file as an earlier process (or version) left it: these rows, as text, in order. */
function seedOutbox(path: string, rows: readonly string[]): void {
  const db = new BetterSqlite3(path);
  try {
    db.exec('CREATE TABLE tracks_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO tracks_outbox (event) VALUES (?)');
    for (const row of rows) insert.run(row);
  } finally {
    db.close();
  }
}


test('bad rows at the head of the outbox (an older version, a damaged file) never block the rows behind them, across restarts', async () => {
  const outbox = join(dir, 'old.outbox');
  const at = Date.now() - 60_000;
  seedOutbox(outbox, [
    '{ this is not json',
    JSON.stringify({ kind: 'conversion', eventId: 'nul', unit: 'u', metric: 'b\u0000uy', value: 1, at }),
    JSON.stringify({ kind: 'conversion', eventId: 'nan', unit: 'u', metric: 'buy', value: 1, at: 'yesterday' }),
    ...Array.from({ length: 50 }, (_, i) => JSON.stringify({ kind: 'conversion', eventId: `ok-${i}`, unit: `u${i}`, metric: 'buy', value: 1, at })),
  ]);
  const store = memoryStore();
  configure({ store, outbox });
  await flush();
  const final = stats();
  await close();
  assert.equal(store.events.length, 50, 'every readable row behind the bad ones was written');
  assert.equal(final.quarantined, 3);
  assert.equal(final.drained, 50);
  assert.equal(outboxRows(outbox), 0);
  assert.equal(quarantineOf(outbox).length, 3);
});

test('with no outbox, a refused event is quarantined in memory (recorder.quarantinedInMemory) and reported', async () => {
  const inner = memoryStore();
  const store: Store = {
    ...inner,
    description: 'refusing',
    async write(events) {
      if (events.some((e) => e.kind === 'conversion' && e.value === 13)) throw Object.assign(new Error('no thirteens'), { transient: false });
      await inner.write(events);
    },
  };
  const errors: Error[] = [];
  const recorder = configure({ store, outbox: false, onError: (e) => errors.push(e) })!;
  for (let i = 0; i < 20; i++) convert({ key: `u${i}`, metric: 'buy', value: i === 7 ? 13 : 1 });
  new PoisonTracks({ key: 'u1' }).run();
  await flush();
  assert.equal(inner.events.filter((e) => e.kind === 'conversion').length, 19);
  assert.equal(stats().quarantined, 1);
  assert.equal(recorder.quarantinedInMemory.length, 1);
  assert.match(recorder.quarantinedInMemory[0]!.error, /no thirteens/);
  assert.ok(errors.some((e) => /quarantined conversion .* in memory/.test(e.message)));
  await close();
});
