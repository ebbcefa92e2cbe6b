// Shadow runs under network faults between recording and a real PostgreSQL: the proxy resets
// or blackholes connections in the middle of paced traffic of a shadow set. Runs in, counts
// out: every candidate run is counted once (matches + mismatches = runs), the mismatches are
// exactly the differing inputs, and no shadow row is written twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, close, configure, flush, stats } from '../../src/index.js';
import type { ShadowOptions } from '../../src/index.js';
import { paced } from '../support/pace.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';

const url = postgresUrl;
const dir = mkdtempSync(join(tmpdir(), 'tracks-shadow-faults-'));
const schemaFor = schemasFor('sf');
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

class PriceShadow extends TrackSet {
  static override id = 'shadow-faults';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 1_000, maxConcurrent: 10_000, samples: { perMinute: 10 } };
  static old_track(i: number) {
    return { i, price: 100 };
  }
  static async new_track(i: number) {
    await Promise.resolve();
    return { i, price: i % 25 === 0 ? 101 : 100 };
  }
}

const RUNS = 8_000;
const PER_SECOND = 4_000;

for (const fault of ['reset', 'blackhole'] as const) {
  test(`shadow runs under a PostgreSQL ${fault} for 0.8 s: every run counted once, mismatches exact`, { skip: url === undefined ? POSTGRES_SKIP : false }, async () => {
    const schema = schemaFor(fault);
    const proxy = await TcpProxy.start(new URL(url!).hostname, Number(new URL(url!).port || 5432));
    const errors: Error[] = [];
    try {
      configure({
        store: proxy.url(url!),
        schema,
        outbox: join(dir, `${fault}.outbox`),
        writeTimeout: 500,
        flushTimeout: 2_000,
        retryDelay: 20,
        maxRetryDelay: 200,
        flushInterval: 50,
        onError: (e) => errors.push(e),
      });
      await paced(RUNS, PER_SECOND, (i) => void new PriceShadow({ key: `u-${i}` }).run(i), [
        [500, () => proxy.set(fault)],
        [1_300, () => proxy.set('pass')],
      ]);
      await flush();
      const final = stats();
      await close();
      const [rows] = await sql<{ runs: string; mismatches: string; rows: string; ids: string; samples: string }>(
        `SELECT (SELECT SUM(matches + mismatches) FROM "${schema}".tracks_shadow) AS runs,
                (SELECT SUM(mismatches) FROM "${schema}".tracks_shadow) AS mismatches,
                (SELECT COUNT(*) FROM "${schema}".tracks_shadow) AS rows,
                (SELECT COUNT(DISTINCT event_id) FROM "${schema}".tracks_shadow) AS ids,
                (SELECT COUNT(*) FROM "${schema}".tracks_shadow_samples) AS samples`,
      );
      assert.equal(Number(rows!.runs), RUNS, 'every candidate run counted once');
      assert.equal(Number(rows!.mismatches), RUNS / 25, 'mismatches: exactly the differing inputs');
      assert.equal(Number(rows!.rows), Number(rows!.ids), 'no row written twice');
      assert.ok(Number(rows!.samples) >= 10, 'samples kept');
      assert.equal(final.dropped, 0);
      assert.ok(errors.length > 0, 'the fault reached onError');
    } finally {
      await close();
      await proxy.close();
    }
  });
}
