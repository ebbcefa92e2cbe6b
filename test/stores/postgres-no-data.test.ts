// A report on a PostgreSQL URL without ?schema= reads the schema "public"; an application that
// records elsewhere (its own schema) then got "holds no tracks data" with no hint of why. The
// error now names the schema it looked in and the schemas of the database that hold tracks data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreError, postgresStore } from '../../src/index.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';

const schemaFor = schemasFor('aaanodata');

test('summarize() on a schema with no tracks tables names that schema and the schemas that have them, with ?schema= to pick one', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const withData = schemaFor('recorded');
  const empty = schemaFor('empty');
  await sql(`CREATE SCHEMA "${withData}"`);
  await sql(`CREATE TABLE "${withData}".tracks_exposures (unit text)`);
  await sql(`CREATE SCHEMA "${empty}"`);
  const store = postgresStore(postgresUrl!, { schema: empty });
  try {
    await assert.rejects(store.summarize(), (error: unknown) => {
      assert.ok(error instanceof StoreError && error.code === 'TRACKS_NO_DATA', String(error));
      assert.match(error.message, new RegExp(`holds no tracks data \\(no tracks_ tables\\); it looked in the schema '${empty}'; tracks data is in the schemas? `));
      assert.match(error.message, /of this database: pick one with \?schema=[^ ]+ in the URL \(or the schema option\)$/);
      // Up to five are named, in name order; this file's come before the other test files'.
      assert.ok(error.message.includes(`'${withData}'`) || error.message.includes(', ...'), error.message);
      assert.ok(!error.message.includes(`'${empty}',`), 'the schema it looked in is not offered');
      return true;
    });
    assert.equal((await sql(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1`, [empty])).length, 0, 'the read created nothing');
  } finally {
    await store.close();
  }
});
