// A pg.Pool of the user's own: each postgresStore() over it takes its listeners off at close(),
// so a process that configures and closes recording repeatedly does not pile them up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { postgresStore } from '../../src/index.js';
import { POSTGRES_SKIP, postgresUrl } from '../support/postgres.js';

test('stores over a user pool, used and closed twelve times, leave no listener on it', { skip: postgresUrl === undefined ? POSTGRES_SKIP : false }, async () => {
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  const before = { acquire: pool.listenerCount('acquire'), error: pool.listenerCount('error') };
  try {
    for (let i = 0; i < 12; i++) {
      const store = postgresStore(pool);
      await store.readControls().catch(() => {});
      await store.close();
    }
    assert.deepEqual({ acquire: pool.listenerCount('acquire'), error: pool.listenerCount('error') }, before);
  } finally {
    await pool.end();
  }
});
