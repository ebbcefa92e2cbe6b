// A soak audit stepped the wall clock an hour forward and back under traffic: PostgreSQL
// cancelled writes under way ("canceling statement due to statement timeout", 57014), since
// their server-side timeouts were the deadline's epoch ms less Date.now() at each BEGIN; 20,203
// events were retried and 58,000 spilled. Those timeouts now run on the monotonic clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postgresStore } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';

const schemaFor = schemasFor('pgclock');

test('a write under way when the wall clock steps an hour forward is stored, not cancelled by the server', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const schema = schemaFor('step');
  const store = postgresStore(postgresUrl!, { schema });
  const at = Date.UTC(2026, 11, 1);
  const exposures = (prefix: string, n: number): RecordedEvent[] =>
    Array.from({ length: n }, (_, i) => ({ kind: 'exposure', eventId: `${prefix}-${i}`, trackSetId: 'clock-step', track: i % 2 ? 'a' : 'b', unit: `${prefix}-${i}`, at }));
  const realNow = Date.now;
  try {
    await store.write(exposures('warm', 10)); // the schema made, a connection open
    for (let round = 0; round < 3; round++) {
      const deadline = realNow() + 10_000;
      const writing = store.write(exposures(`step${round}`, 20_000), { deadline, signal: AbortSignal.timeout(10_000) });
      // The step comes after the call took its deadline, before its statements run.
      Date.now = () => realNow() + 3_600_000;
      try {
        await writing;
      } finally {
        Date.now = realNow;
      }
    }
    const [row] = await sql<{ n: string }>(`SELECT COUNT(*) AS n FROM "${schema}".tracks_exposures`);
    assert.equal(Number(row!.n), 10 + 3 * 20_000);
  } finally {
    Date.now = realNow;
    await store.close();
  }
});
