// flush() during a PostgreSQL outage (nothing listens: every connection refused) while the
// application goes on recording: what memory holds spills to the outbox, and flush() waits for
// the outbox to drain only by yielding, never by running on promises alone. A drain loop that
// kicked a pump backing off from a failure before the flush spun on microtasks until the flush's
// deadline, and no timer or I/O of the application's ran meanwhile (up to 2.9 s, measured).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { TrackSet, close, configure, flush, stats } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-flush-outage-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

class OutageTracks extends TrackSet {
  static override id = 'flush-outage';
  static a_track() {
    return 1;
  }
  static b_track() {
    return 2;
  }
}

/** A 127.0.0.1 port nothing listens on (taken, then freed): connections to it are refused. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('flush() while PostgreSQL refuses every connection and traffic goes on: it resolves, everything is spilled or held, and the event loop is never stalled', async (t) => {
  const port = await refusedPort();
  const errors: Error[] = [];
  configure({
    store: `postgres://postgres@127.0.0.1:${port}/test?schema=flush_outage`,
    outbox: join(dir, 'outbox.db'),
    handleSignals: false,
    onError: (e) => errors.push(e),
  });
  let runs = 0;
  const traffic = setInterval(() => {
    for (let i = 0; i < 30; i++) new OutageTracks({ key: `u${runs++}` }).run();
  }, 10);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const flushed = await flush();
  loop.disable();
  clearInterval(traffic);
  const final = stats();
  await close();
  const maxMs = loop.max / 1e6;
  t.diagnostic(`fault-table ${JSON.stringify({ fault: 'flush-during-refused-outage', in: runs, eventLoopMaxMs: maxMs, final })}`);
  assert.deepEqual(flushed, { complete: true, pending: 0 });
  assert.ok(maxMs < 1_000, `the event loop stalled for ${maxMs.toFixed(0)} ms during flush()`);
  assert.ok(final.spilled > 0, 'the outage spilled to the outbox');
  assert.equal(final.dropped, 0);
  assert.ok(errors.length > 0 && errors.every((e) => /ECONNREFUSED|connect|refused/i.test(e.message)), errors.map((e) => e.message).join(' | '));
});
