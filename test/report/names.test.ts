// Safe names: any track set, track or metric name (constructor, __proto__, quotes, unicode)
// works through recording, the report (text and JSON), the CLI and the dashboard, on real
// SQLite and PostgreSQL; control characters written by other tools are escaped in a
// terminal; reads of a store with no tracks data create nothing and say so.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ParamTrackSet, close, configure, convert, flush, sqliteStore } from '../../src/index.js';
import type { RecordingOptions } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import { postgresUrl, schemasFor, sql } from '../support/postgres.js';

const url = postgresUrl;
const dir = mkdtempSync(join(tmpdir(), 'tracks-names-'));
const schemaFor = schemasFor('n');


after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const NAMES = ['constructor', '__proto__', 'toString', 'valueOf', `it's "quoted"`, 'prüfung-🥥'];

/** One track set per name, whose tracks are named like it too (and 'control'). */
function setsNamed(): Array<new (options: { key: string }) => { run(): unknown; name: string }> {
  return NAMES.map(
    (name) =>
      class extends ParamTrackSet {
        static override id = name;
        static override params = [name, `${name}-2`];
        static override trackName(param: string) {
          return param;
        }
        static override track() {}
      } as never,
  );
}

async function record(options: RecordingOptions): Promise<void> {
  configure({ ...options, outbox: false });
  const sets = setsNamed();
  for (let u = 0; u < 60; u++) {
    for (const Set of sets) new Set({ key: `u${u}` }).run();
    for (const metric of NAMES) if (u % 3 === 0) convert({ key: `u${u}`, metric, value: u % 2 ? 1 : 2 });
  }
  await flush();
  await close();
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (x) => out.push(x), stderr: (x) => err.push(x), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface JsonReport {
  trackSets: Array<{ id: string; tracks: Array<{ name: string; users: number; metrics: Array<{ metric: string; conversions: number }> }> }>;
}

function assertEveryName(report: JsonReport): void {
  assert.deepEqual(report.trackSets.map((s) => s.id).sort(), [...NAMES].sort());
  for (const set of report.trackSets) {
    assert.deepEqual(set.tracks.map((t) => t.name).sort(), ['control', set.id, `${set.id}-2`].sort());
    assert.equal(set.tracks.reduce((n, t) => n + t.users, 0), 60);
    for (const track of set.tracks) assert.deepEqual(track.metrics.map((m) => m.metric).sort(), [...NAMES].sort());
    assert.equal(set.tracks.reduce((n, t) => n + t.metrics.find((m) => m.metric === 'constructor')!.conversions, 0), 20);
  }
}

test('SQLite: every unusual name comes through tracks report (JSON and text) and the dashboard', async () => {
  const path = join(dir, 'names.db');
  await record({ store: path });
  const json = await cli('report', '--store', path, '--json');
  assert.equal(json.code, 0, json.err);
  assertEveryName(JSON.parse(json.out) as JsonReport);
  const text = await cli('report', '--store', path);
  assert.equal(text.code, 0, text.err);
  for (const name of NAMES) assert.ok(text.out.includes(name), name);

  const dashboard = await startDashboard({ store: sqliteStore(path), port: 0 });
  try {
    const response = await fetch(new URL('/api/report', dashboard.url));
    assert.equal(response.status, 200);
    assertEveryName((await response.json()) as JsonReport);
    const one = await fetch(new URL(`/api/report?trackset=${encodeURIComponent('__proto__')}`, dashboard.url));
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as JsonReport).trackSets[0]!.id, '__proto__');
  } finally {
    await dashboard.close();
  }
});

test('PostgreSQL: every unusual name comes through tracks report --json', async (t) => {
  if (url === undefined) return t.skip('TRACKS_TEST_POSTGRES_URL is not set');
  const schema = schemaFor('names');
  await record({ store: url, schema });
  const withSchema = new URL(url);
  withSchema.searchParams.set('schema', schema);
  const json = await cli('report', '--store', withSchema.toString(), '--json');
  assert.equal(json.code, 0, json.err);
  assertEveryName(JSON.parse(json.out) as JsonReport);
});

test('control characters another tool wrote into a name are escaped in terminal output', async () => {
  const path = join(dir, 'escape.db');
  await record({ store: path });
  const db = new BetterSqlite3(path);
  db.prepare("INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES (?, 'u', ?, 1, 'e')").run('evil\u001b[2Jset', 'tr\u0007ack');
  // A right-to-left override reorders what follows it on the line: escaped too.
  db.prepare("INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES (?, 'u', ?, 1, 'e2')").run('rtl\u202eset', 'iso\u2067late');
  db.close();
  const text = await cli('report', '--store', path);
  assert.equal(text.code, 0, text.err);
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.test(text.out), 'no raw control or bidirectional character reaches the terminal');
  assert.ok(text.out.includes('evil\\x1b[2Jset'));
  assert.ok(text.out.includes('tr\\x07ack'));
  assert.ok(text.out.includes('rtl\\u{202e}set'));
  assert.ok(text.out.includes('iso\\u{2067}late'));
  const unknown = await cli('report', '--store', path, '--trackset', 'no\u001bpe');
  assert.equal(unknown.code, 2);
  assert.ok(!unknown.err.includes('\u001b'));
});

test('tracks report on an empty file says it holds no tracks data, exits 2, and leaves the file as it was', async () => {
  const path = join(dir, 'empty.db');
  writeFileSync(path, '');
  const result = await cli('report', '--store', path);
  assert.equal(result.code, 2);
  assert.match(result.err, /holds no tracks data/);
  assert.equal(statSync(path).size, 0, 'no table was created');
  assert.equal(readFileSync(path, 'utf8'), '');
  const dashboard = await startDashboard({ store: sqliteStore(path), port: 0 });
  try {
    const response = await fetch(new URL('/api/report', dashboard.url));
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { error: string }).error, /holds no tracks data/);
  } finally {
    await dashboard.close();
  }
  assert.equal(statSync(path).size, 0);
});

test('tracks report on a ?schema= that does not exist says so and creates no schema', async (t) => {
  if (url === undefined) return t.skip('TRACKS_TEST_POSTGRES_URL is not set');
  const schema = `tracks_nowhere_${process.pid}`;
  const withSchema = new URL(url);
  withSchema.searchParams.set('schema', schema);
  const result = await cli('report', '--store', withSchema.toString());
  assert.equal(result.code, 2);
  assert.match(result.err, /holds no tracks data/);
  const [row] = await sql<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = '${schema}'`);
  assert.equal(row!.n, '0');
});

test('tracks simulate works for a track named constructor or __proto__', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'tracks-sim-names-'));
  const module = join(folder, 'tracks.mjs');
  const index = new URL('../../src/index.ts', import.meta.url).href;
  writeFileSync(
    module,
    `import { ParamTrackSet } from '${index}';\nexport class Odd extends ParamTrackSet {\n  static id = 'odd-names';\n  static params = ['constructor', '__proto__', 'long'];\n  static trackName(p) { return p; }\n  static track() {}\n}\n`,
  );
  try {
    const result = await cli('simulate', module, '--count', '3000', '--weights', 'long=2,__proto__=3', '--json');
    assert.equal(result.code, 0, result.err);
    const [sim] = JSON.parse(result.out) as Array<{ change: { moves: Array<{ from: string; to: string }> } }>;
    assert.ok(sim!.change.moves.some((m) => m.to === '__proto__'), 'the weight of __proto__ was applied');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('tracks report --json escapes DEL and C1 control characters another tool wrote', async () => {
  const path = join(dir, 'c1.db');
  await record({ store: path });
  const db = new BetterSqlite3(path);
  db.prepare("INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES (?, 'u', 't', 1, 'e')").run('c1\u009b2Jset\u007f');
  db.close();
  const json = await cli('report', '--store', path, '--json');
  assert.equal(json.code, 0, json.err);
  assert.ok(!/[\u007f-\u009f]/.test(json.out));
  assert.ok((JSON.parse(json.out) as JsonReport).trackSets.some((s) => s.id === 'c1\u009b2Jset\u007f'), 'still the same name once parsed');
});
