// Fault injection between recording and a real PostgreSQL: a TCP proxy of the test's own
// resets, refuses, blackholes, goes silent on open connections, or delays every packet, for
// a while in the middle of paced traffic. For each fault: N events in, exactly N stored, none
// doubled; memory within its bound; flush() and close() resolved within their documented time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import pg from 'pg';
import { after, test } from 'node:test';
import { TrackSet, close, configure, convert, flush, postgresStore, stats } from '../../src/index.js';
import { eventually } from '../support/eventually.js';
import { paced } from '../support/pace.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sslProxy } from '../support/ssl-proxy.js';
import { listenOnLoopback } from '../support/loopback-proxy.js';
import type { LoopbackProxy } from '../support/loopback-proxy.js';
import type { ProxyFault } from '../support/tcp-proxy.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';

const url = postgresUrl;
const SKIP = POSTGRES_SKIP;
const dir = mkdtempSync(join(tmpdir(), 'tracks-pg-faults-'));
const schemaFor = schemasFor('f');


after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

class FaultTracks extends TrackSet {
  static override id = 'pg-faults';
  static a_track() {}
  static b_track() {}
}

/** The bounds every scenario runs with: small, so the faults reach them within seconds. */
const OPTIONS = {
  writeTimeout: 500,
  flushTimeout: 2_000,
  retryDelay: 20,
  maxRetryDelay: 200,
  maxBuffered: 20_000,
  batchSize: 1_000,
  flushInterval: 50,
  controlInterval: 200,
} as const;

const UNITS = 12_000; // each: one exposure and one conversion
const PER_SECOND = 6_000; // units a second: two seconds of traffic

type Scenario = ProxyFault | 'delay';

const scenarios: Array<[Scenario, string]> = [
  ['reset', 'every connection reset, and new ones too, for 0.8 s'],
  ['refuse', 'connections refused (the server is down) for 0.8 s'],
  ['blackhole', 'connections accepted but never answered, open ones silent, for 0.8 s'],
  ['silent', 'open connections go silent for good (new ones work)'],
  ['delay', 'every packet delayed 400 ms (a slow link) for 0.8 s'],
];

for (const [fault, what] of scenarios) {
  test(`PostgreSQL fault, ${fault}: ${what}: N in, N stored once, memory bounded, flush and close in time`, async (t) => {
    if (url === undefined) return t.skip(SKIP);
    const schema = schemaFor(fault);
    const proxy = await TcpProxy.start(new URL(url).hostname, Number(new URL(url).port || 5432));
    const errors: Error[] = [];
    try {
      configure({ store: proxy.url(url), schema, outbox: join(dir, `${fault}.outbox`), ...OPTIONS, onError: (e) => errors.push(e) });
      const start = (): Promise<void> => (fault === 'delay' ? ((proxy.delayMs = 400), Promise.resolve()) : proxy.set(fault));
      // Time to recover: from the fault's end until the backlog (in memory and in the outbox) is written.
      let recoverMs = Number.NaN;
      const end = async (): Promise<void> => {
        proxy.delayMs = 0;
        if (fault !== 'silent') await proxy.set('pass');
        const ended = Date.now();
        void eventually(() => {
          const s = stats();
          return s.drained >= s.spilled && s.buffered <= OPTIONS.batchSize;
        }, 'the backlog written').then(() => (recoverMs = Date.now() - ended));
      };
      const { peakBuffered, peakBytes } = await paced(
        UNITS,
        PER_SECOND,
        (i) => {
          new FaultTracks({ key: `u-${i}` }).run();
          convert({ key: `u-${i}`, metric: 'purchase', value: i });
        },
        [
          [500, start],
          [1_300, end],
        ],
      );
      const flushStart = Date.now();
      await flush();
      const flushMs = Date.now() - flushStart;
      const closeStart = Date.now();
      const final = stats();
      await close();
      const closeMs = Date.now() - closeStart;

      const [rows] = await sql<{ exposures: string; units: string; conversions: string; ids: string }>(
        `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures) AS exposures,
                (SELECT COUNT(DISTINCT unit) FROM "${schema}".tracks_exposures) AS units,
                (SELECT COUNT(*) FROM "${schema}".tracks_conversions) AS conversions,
                (SELECT COUNT(DISTINCT event_id) FROM "${schema}".tracks_conversions) AS ids`,
      );
      t.diagnostic(
        `fault-table ${JSON.stringify({ fault, in: 2 * UNITS, stored: Number(rows!.exposures) + Number(rows!.conversions), peakBuffered, peakBytes, flushMs, recoverMs, closeMs, final, errors: errors.length, kinds: [...new Set(errors.map((e) => e.message.replace(/[0-9]+/g, 'N').slice(0, 90)))] })}`,
      );
      assert.equal(Number(rows!.exposures), UNITS, 'every exposure stored');
      assert.equal(Number(rows!.units), UNITS);
      assert.equal(Number(rows!.conversions), UNITS, 'every conversion stored, once');
      assert.equal(Number(rows!.ids), UNITS);
      assert.equal(final.dropped, 0);
      assert.equal(final.buffered, 0);
      assert.ok(peakBuffered <= OPTIONS.maxBuffered, `peak buffered ${peakBuffered} within ${OPTIONS.maxBuffered}`);
      // Documented bounds (plus a second for a loaded machine): flush and close never hang.
      assert.ok(flushMs <= OPTIONS.flushTimeout + OPTIONS.writeTimeout + 1_000, `flush took ${flushMs} ms`);
      assert.ok(closeMs <= OPTIONS.flushTimeout + OPTIONS.writeTimeout + 1_000, `close took ${closeMs} ms`);
      if (fault !== 'delay') assert.ok(errors.length > 0, 'the fault reached onError');
    } finally {
      await close();
      await proxy.close();
    }
  });
}

test('SIGTERM while PostgreSQL is blackholed: the process ends within flushTimeout + writeTimeout, and nothing is lost', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('sigterm');
  const proxy = await TcpProxy.start(new URL(url).hostname, Number(new URL(url).port || 5432));
  const outbox = join(dir, 'sigterm.outbox');
  const count = 3_000;
  const [writeTimeout, flushTimeout] = [500, 1_500];
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/recording-process.ts', import.meta.url))], {
      env: { ...process.env, MODE: 'idle', STORE: proxy.url(url), SCHEMA: schema, OUTBOX: outbox, COUNT: String(count), WRITE_TIMEOUT: String(writeTimeout), FLUSH_TIMEOUT: String(flushTimeout) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('recorded') && resolve()));
    await proxy.set('blackhole');
    const sent = Date.now();
    child.kill('SIGTERM');
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => resolve(s)));
    const tookMs = Date.now() - sent;
    t.diagnostic(`fault-table ${JSON.stringify({ fault: 'sigterm-blackholed', in: 2 * count, exitMs: tookMs })}`);
    assert.equal(signal, 'SIGTERM', `ended as SIGTERM ends a process: ${stderr}`);
    assert.ok(tookMs <= flushTimeout + writeTimeout + 1_500, `it took ${tookMs} ms to end`);
    // The next process of the service, with the server back, writes what was spilled.
    await proxy.set('pass');
    configure({ store: url, schema, outbox });
    await flush();
    await close();
    const [rows] = await sql<{ e: string; c: string }>(
      `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures) AS e, (SELECT COUNT(*) FROM "${schema}".tracks_conversions) AS c`,
    );
    assert.equal(Number(rows!.e), count);
    assert.equal(Number(rows!.c), count);
  } finally {
    await proxy.close();
  }
});

test('over SSL, a call that waits longer than the connect timeout on a lock is not cut off by it (the timeout is of the socket under TLS, ended once connected)', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('ssl-lock-wait');
  const proxy = await sslProxy(new URL(url));
  const store = postgresStore(proxy.url(url), { schema, timeoutMs: 800 });
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  try {
    await store.write([{ kind: 'conversion', eventId: 'ssl-1', unit: 'u1', metric: 'purchase', value: 1, at: Date.now() }]);
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${schema}".tracks_controls IN ACCESS EXCLUSIVE MODE`);
    const reading = store.readControls({ deadline: Date.now() + 6_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    await locker.query('ROLLBACK');
    assert.deepEqual(await reading, [], 'answered once the lock was gone, 1.8 s later, not cut off at 0.8 s');
  } finally {
    await locker.end();
    await store.close();
    await proxy.close();
  }
});

test('a fresh schema over a slow link (300 ms a round trip): the tables are created within writeTimeout, and recording writes', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('slow-link');
  const proxy = await TcpProxy.start(new URL(url).hostname, Number(new URL(url).port || 5432));
  proxy.delayMs = 150; // each way
  const errors: Error[] = [];
  const count = 200;
  try {
    configure({ store: proxy.url(url), schema, outbox: join(dir, 'slow-link.outbox'), writeTimeout: 5_000, flushTimeout: 12_000, handleSignals: false, onError: (e) => errors.push(e) });
    for (let i = 0; i < count; i++) convert({ key: `slow-${i}`, metric: 'purchase' });
    await flush();
    const final = stats();
    t.diagnostic(`fault-table ${JSON.stringify({ fault: 'fresh-schema-slow-link', in: count, written: final.written, spilled: final.spilled, errors: errors.length })}`);
    assert.equal(final.written, count, `written ${final.written}, spilled ${final.spilled}: ${errors.map((e) => e.message).join(' | ')}`);
  } finally {
    await close();
    await proxy.close();
  }
  const [rows] = await sql<{ c: string }>(`SELECT COUNT(*) AS c FROM "${schema}".tracks_conversions`);
  assert.equal(Number(rows!.c), count);
});

test('a writeTimeout shorter than connecting plus a write (a 360 ms connect, 60 ms a round trip, writeTimeout 480 ms): a connection made to replace one that timed out serves the next call, and everything is stored', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('late-connection');
  // The tables first, at full speed: then every call is slow.
  await sql(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  configure({ store: url, schema, outbox: false, handleSignals: false });
  convert({ key: 'warm-up', metric: 'warm-up' });
  await flush();
  await close();
  const proxy = await TcpProxy.start(new URL(url).hostname, Number(new URL(url).port || 5432));
  // 30 ms each way, and 300 ms more to connect (a TLS handshake and a password exchange): a call
  // on a connection made already (its schema checked, then the write: about 5 round trips,
  // 300 ms) fits in writeTimeout; one that connects first (about 660 ms) never does.
  proxy.delayMs = 30;
  proxy.handshakeMs = 300;
  const errors: Error[] = [];
  const count = 2_000;
  try {
    configure({ store: proxy.url(url), schema, outbox: join(dir, 'late-connection.outbox'), writeTimeout: 480, flushTimeout: 8_000, retryDelay: 20, maxRetryDelay: 200, handleSignals: false, onError: (e) => errors.push(e) });
    for (let i = 0; i < count; i++) convert({ key: `late-${i}`, metric: 'purchase' });
    const result = await flush();
    const final = stats();
    t.diagnostic(`fault-table ${JSON.stringify({ fault: 'late-connection', in: count, written: final.written, spilled: final.spilled, drained: final.drained, errors: errors.length, accepted: proxy.accepted })}`);
    assert.deepEqual(result, { complete: true, pending: 0 }, errors.map((e) => e.message).join(' | '));
    assert.equal(final.written + final.drained, count, `written ${final.written}, drained ${final.drained}, spilled ${final.spilled}: ${errors.map((e) => e.message).join(' | ')}`);
  } finally {
    await close();
    await proxy.close();
  }
  const [rows] = await sql<{ c: string }>(`SELECT COUNT(*) AS c FROM "${schema}".tracks_conversions WHERE metric = 'purchase'`);
  assert.equal(Number(rows!.c), count);
});

for (const pool of ['its own pool of one connection', 'your pg.Pool of one connection, with no connect timeout'] as const) {
  test(`${pool}: a call that timed out while the server went silent takes no replacement connection, whose wait would hold the only slot past the server's recovery`, async (t) => {
    if (url === undefined) return t.skip(SKIP);
    const schema = schemaFor(pool.startsWith('its') ? 'one-slot-own' : 'one-slot-user');
    const proxy = await TcpProxy.start(new URL(url).hostname, Number(new URL(url).port || 5432));
    const userPool = pool.startsWith('your') ? new pg.Pool({ connectionString: proxy.url(url), max: 1 }) : undefined;
    const store = userPool === undefined ? postgresStore(proxy.url(url), { schema, maxConnections: 1, timeoutMs: 5_000 }) : postgresStore(userPool, { schema });
    const event = (i: number) => ({ kind: 'conversion' as const, eventId: `one-slot-${i}`, unit: `u${i}`, metric: 'purchase', value: 1, at: Date.now() });
    try {
      await store.write([event(0)]);
      await proxy.set('silent');
      await assert.rejects(store.write([event(1)], { deadline: Date.now() + 300 }), /did not answer in time/);
      // Still silent for new connections a moment (a replacement would wait here), then back.
      await proxy.set('blackhole');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await proxy.set('pass');
      for (let i = 2; i < 5; i++) await store.write([event(i)], { deadline: Date.now() + 2_000 });
    } finally {
      await store.close();
      await userPool?.end().catch(() => {});
      await proxy.close();
    }
    const [rows] = await sql<{ c: string }>(`SELECT COUNT(*) AS c FROM "${schema}".tracks_conversions`);
    assert.equal(Number(rows!.c), 4, 'every write after the recovery stored');
  });
}

// slow: every packet 100 ms late each way: polls and writes take seconds, over connections the
// pool reuses (it references an idle connection again as it hands it out).
for (const [drain, healthy, slow] of [[false, false, false], [true, false, false], [false, true, false], [false, false, true]] as const) {
  const what = drain ? 'a service that drains 1 s after its own SIGTERM handler ran, then ends' : 'a script that records and ends without close()';
  const title = healthy
    ? `${what}, PostgreSQL healthy: its beforeExit flush writes everything before the process ends`
    : `${what}, PostgreSQL ${slow ? 'slow (200 ms a round trip)' : 'blackholed'}: the process ends within flushTimeout + writeTimeout, and nothing is lost`;
  test(title, async (t) => {
    if (url === undefined) return t.skip(SKIP);
    const schema = schemaFor(drain ? 'drain-ends' : healthy ? 'healthy-ends' : slow ? 'slow-ends' : 'script-ends');
    const proxy = await TcpProxy.start(new URL(url).hostname, Number(new URL(url).port || 5432));
    const outbox = join(dir, `${schema}.outbox`);
    const count = 2_000;
    const [writeTimeout, flushTimeout, drainMs] = [healthy ? 5_000 : slow ? 3_000 : 500, healthy ? 10_000 : 1_500, drain ? 1_000 : 0];
    try {
      if (slow) {
        // The tables first, at full speed: then every write and poll is slow.
        await sql(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        configure({ store: url, schema, outbox: false, handleSignals: false });
        convert({ key: 'warm-up', metric: 'warm-up' });
        await flush();
        await close();
        proxy.delayMs = 100;
      } else if (!healthy) await proxy.set('blackhole');
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/recording-process.ts', import.meta.url))], {
        env: { ...process.env, MODE: drain ? 'drain' : 'script', STORE: proxy.url(url), SCHEMA: schema, OUTBOX: outbox, COUNT: String(count), WRITE_TIMEOUT: String(writeTimeout), FLUSH_TIMEOUT: String(flushTimeout), DRAIN_MS: String(drainMs) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Timed from the end of its recording (a script) or its signal (a drain), not from its
      // start: loading tsx and the library took seconds on a loaded machine, and is not at stake.
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('recorded') && resolve()));
      const from = Date.now();
      if (drain) child.kill('SIGTERM');
      // Bounded so that a hung process fails the test instead of hanging it.
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(killer);
      const tookMs = Date.now() - from;
      if (!healthy) t.diagnostic(`fault-table ${JSON.stringify({ fault: drain ? 'drain-then-end-blackholed' : slow ? 'script-end-slow' : 'script-end-blackholed', in: 2 * count, exitMs: tookMs })}`);
      assert.equal(code, 0, `the process ended by itself (exit code ${code}): ${stderr.slice(-2_000)}`);
      assert.ok(tookMs <= drainMs + flushTimeout + writeTimeout + 3_000, `it took ${tookMs} ms to end`);
      if (healthy) {
        // Written by the process itself, not left in its outbox for the next one.
        const [stored] = await sql<{ e: string; c: string }>(
          `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures) AS e, (SELECT COUNT(*) FROM "${schema}".tracks_conversions WHERE metric = 'purchase') AS c`,
        );
        assert.deepEqual([Number(stored!.e), Number(stored!.c)], [count, count], stderr.slice(-2_000));
      }
      // The next process, with the server back, writes what was spilled.
      proxy.delayMs = 0;
      await proxy.set('pass');
      configure({ store: url, schema, outbox });
      await flush();
      await close();
      const [rows] = await sql<{ e: string; c: string }>(
        `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures) AS e, (SELECT COUNT(*) FROM "${schema}".tracks_conversions WHERE metric = 'purchase') AS c`,
      );
      assert.equal(Number(rows!.e), count);
      assert.equal(Number(rows!.c), count);
    } finally {
      await proxy.close();
    }
  });
}

/**
 * A proxy whose first `count` connections are ended by the server the moment they are ready: the
 * server's FATAL 57P01 (what pg_terminate_backend sends) arrives in the same packet as its first
 * ReadyForQuery, so pg parses it in the same tick in which pg-pool hands the connection over.
 */
async function terminatedOnConnect(count: number): Promise<LoopbackProxy> {
  const fatal = (() => {
    const fields = Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0');
    const header = Buffer.alloc(5);
    header.write('E');
    header.writeInt32BE(fields.length + 4, 1);
    return Buffer.concat([header, fields]);
  })();
  const target = new URL(postgresUrl!);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((client) => {
    const terminate = connections++ < count;
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {}).on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(socket);
      });
    }
    client.pipe(upstream);
    if (!terminate) return void upstream.pipe(client);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let at = 0; at + 5 <= pending.length; ) {
        const end = at + 1 + pending.readInt32BE(at + 1);
        if (end > pending.length) return;
        if (pending[at] === 0x5a) {
          client.end(Buffer.concat([pending.subarray(0, end), fatal]));
          upstream.destroy();
          return;
        }
        at = end;
      }
    });
  });
  return listenOnLoopback(server, sockets);
}

test('connections terminated by the server as they are handed over (a FATAL in the packet of their first ReadyForQuery): the host never crashes, every event lands', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  for (const kind of ['url', 'pool'] as const) {
    const proxy = await terminatedOnConnect(4);
    const schema = schemaFor(`terminated_${kind}`);
    const pool = kind === 'pool' ? new pg.Pool({ connectionString: proxy.url(url) }) : undefined;
    pool?.on('error', () => {});
    const crashes: unknown[] = [];
    const onCrash = (error: unknown) => crashes.push(error);
    process.on('uncaughtException', onCrash);
    try {
      const errors: Error[] = [];
      configure({ store: pool ?? proxy.url(url), schema, outbox: join(dir, `terminated-${kind}.outbox`), ...OPTIONS, onError: (e) => errors.push(e) });
      for (let i = 0; i < 1_000; i++) {
        new FaultTracks({ key: `u${i}` }).run();
        convert({ key: `u${i}`, metric: 'purchase' });
      }
      await flush();
      await close();
      assert.deepEqual(crashes.map(String), [], `${kind}: an error event no one listened to reached the process`);
      assert.ok(errors.length > 0, `${kind}: the failed calls were reported`);
      const [rows] = await sql<{ e: string; c: string }>(
        `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures) AS e, (SELECT COUNT(*) FROM "${schema}".tracks_conversions WHERE metric = 'purchase') AS c`,
      );
      assert.deepEqual([Number(rows!.e), Number(rows!.c)], [1_000, 1_000]);
    } finally {
      process.off('uncaughtException', onCrash);
      await pool?.end();
      await proxy.close();
    }
  }
});
