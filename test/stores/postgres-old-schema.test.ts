// Reads never migrate: a PostgreSQL store one schema version behind (9: before the phases'
// shadow column) is read as it is, as SQLite's are; an older one says it must be recorded to
// first. A review saw every read of a version-9 schema refused once migration 10 came.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postgresStore } from '../../src/index.js';
import { POSTGRES_MIGRATIONS } from '../../src/stores/schema.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';

const schemaFor = schemasFor('oldschema');

async function schemaAt(version: number): Promise<string> {
  const schema = schemaFor(`v${version}`);
  const s = `"${schema}"`;
  await sql(`CREATE SCHEMA ${s}`);
  await sql(`CREATE TABLE ${s}.tracks_schema_version (version integer NOT NULL)`);
  for (let i = 0; i < version; i++) {
    await sql(POSTGRES_MIGRATIONS[i]!.replaceAll('{s}', s));
    await sql(`INSERT INTO ${s}.tracks_schema_version (version) VALUES (${i + 1})`);
  }
  const day = Date.UTC(2026, 10, 2);
  for (let i = 0; i < 12; i++) {
    await sql(`INSERT INTO ${s}.tracks_exposures (track_set_id, unit, track, at, event_id) VALUES ($1, $2, $3, $4, $5)`, ['old-reads', `u${i}`, i % 3 ? 'a' : 'b', day + i, `e${i}`]);
  }
  return schema;
}

test('a PostgreSQL store of schema version 9 is read as it is; one of version 8 must be recorded to first', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const nine = await schemaAt(9);
  const store = postgresStore(postgresUrl!, { schema: nine });
  try {
    const sums = await store.summarize({ trackSetId: 'old-reads', daily: false });
    assert.deepEqual(Object.fromEntries(sums[0]!.tracks.map((t) => [t.track, t.users])), { a: 8, b: 4 });
  } finally {
    await store.close();
  }
  const version = await sql<{ v: number }>(`SELECT MAX(version)::int AS v FROM "${nine}".tracks_schema_version`);
  assert.equal(version[0]!.v, 9, 'the read migrated nothing');

  const eight = postgresStore(postgresUrl!, { schema: await schemaAt(8) });
  try {
    await assert.rejects(eight.summarize({ daily: false }), /schema version 8, older than this tracks \(\d+\); it is upgraded when a process of this version first records to it/);
  } finally {
    await eight.close();
  }
});
