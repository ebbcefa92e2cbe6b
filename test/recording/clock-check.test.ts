// A process whose clock is seconds off the store server's is told through onError: every event
// time is the recording process's, so a skewed pod makes other pods' conversions fall before
// their users' exposures. Against a store of the test's own (a shifted server clock) and real
// PostgreSQL (same machine: no report).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recorder, StoreError, memoryStore, postgresStore } from '../../src/index.js';
import type { Store } from '../../src/index.js';
import { ClockCheck } from '../../src/recording/clock-check.js';
import { ErrorReporter } from '../../src/recording/error-reporter.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';

const schemaFor = schemasFor('clk');

/** A memory store whose server clock is `offsetMs` off this process's. */
function serverClock(offsetMs: number): Store {
  const inner = memoryStore();
  return { ...inner, description: 'a store on a skewed server', serverTime: async () => Date.now() + offsetMs };
}

test('a clock 30 s ahead of the store server’s, or 30 s behind, is reported once with the difference and the fix', async () => {
  for (const [offset, way] of [[-30_000, 'ahead of'], [30_000, 'behind']] as const) {
    const errors: Error[] = [];
    const recorder = new Recorder(serverClock(offset), { onError: (e) => errors.push(e) });
    await recorder.ready();
    await recorder.close();
    const skew = errors.filter((e) => e instanceof StoreError && e.code === 'TRACKS_CLOCK_SKEW');
    assert.equal(skew.length, 1, errors.map((e) => e.message).join('\n'));
    assert.match(skew[0]!.message, new RegExp(`this process's clock is 30\\.\\d s ${way} the clock of a store on a skewed server; .*sync this machine's clock \\(NTP\\)`));
  }
});

test('within the tolerance, a store without a server clock, or one whose clock cannot be read: nothing reported', async () => {
  const errors: Error[] = [];
  const failing: Store = { ...memoryStore(), serverTime: async () => Promise.reject(new StoreError('down', { transient: true })) };
  for (const store of [serverClock(1_500), serverClock(-1_500), memoryStore(), failing]) {
    const check = new ClockCheck(store, new ErrorReporter((e) => errors.push(e)), { writeTimeout: 1_000 });
    await check.checked();
    check.stop();
  }
  assert.deepEqual(errors.map((e) => e.message), []);
});

test('PostgreSQL gives its server clock: on this machine, within a second of the process’s', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const store = postgresStore(postgresUrl!, { schema: schemaFor('now') });
  try {
    const before = Date.now();
    const server = await store.serverTime!();
    const after = Date.now();
    assert.ok(server >= before - 1_000 && server <= after + 1_000, `${server} against ${before}..${after}`);
  } finally {
    await store.close();
  }
});
