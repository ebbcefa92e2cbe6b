// A baseline declared in the class (static control) is what processes serve to outsiders,
// what `tracks stop` serves by default, and what the report and the dashboard compare with,
// with no flag; --control overrides it, and a wrong one is an error. Operations on a set the
// store has never seen are errors, unless --force. Against real SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ParamTrackSet, close, configure, convert, flush, simulateSplit, sqliteStore } from '../../src/index.js';
import type { RecordingOptions } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-baseline-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));
const schemaFor = schemasFor('b');

class PricingTracks extends ParamTrackSet<{ vip: boolean }> {
  static override id = 'pricing-declared';
  static override params = [-1, 0, 1];
  static override addControlTrack = false;
  static override control = 'price_adjusted_by_0';
  static override coverage = 0.5;
  static override trackName(delta: number) {
    return `price_adjusted_by_${delta}`;
  }
  static override track(delta: number) {
    return delta;
  }
  override get isEligible() {
    return !this.context.vip;
  }
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function record(options: RecordingOptions): Promise<void> {
  configure({ ...options, outbox: false });
  for (let u = 0; u < 600; u++) {
    new PricingTracks({ key: `u${u}`, context: { vip: false } }).run();
    if (u % 4 === 0) convert({ key: `u${u}`, metric: 'purchase' });
  }
  await flush();
  await close();
}

test('ineligible and uncovered keys get the declared baseline', () => {
  const vip = new PricingTracks({ key: 'vip', context: { vip: true } });
  assert.deepEqual([vip.name, vip.reason], ['price_adjusted_by_0', 'ineligible']);
  const reasons = new Map<string, Set<string>>();
  for (let u = 0; u < 400; u++) {
    const run = new PricingTracks({ key: `c${u}`, context: { vip: false } });
    if (!reasons.has(run.reason)) reasons.set(run.reason, new Set());
    reasons.get(run.reason)!.add(run.name);
  }
  assert.deepEqual([...reasons.get('not covered')!], ['price_adjusted_by_0'], 'half the keys are not covered, and get the baseline');
});

test('tracks simulate names the keys outside coverage by the declared baseline they get, not by a control the set does not have', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
  const simulation = simulateSplit(PricingTracks, keys, { coverage: 1 });
  const outside = simulation.split.find((row) => row.track.endsWith('(not covered)'));
  assert.equal(outside?.track, 'price_adjusted_by_0 (not covered)');
  assert.ok(!JSON.stringify(simulation).includes('control'), 'no track of this set is named control');
  // Keys that enter the test on the baseline go from outside onto it: the same code path, so not a move.
  const onto = simulation.change!.coverageOnly.find((m) => m.to === 'price_adjusted_by_0');
  assert.equal(onto?.from, 'price_adjusted_by_0 (not covered)');
  assert.ok(!simulation.change!.moves.some((m) => m.from === 'price_adjusted_by_0 (not covered)' && m.to === 'price_adjusted_by_0'));
});

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: the report compares with the declared baseline, with no flag; --control overrides it and a wrong one exits 2`, async (t) => {
    if (kind === 'PostgreSQL' && postgresUrl === undefined) return t.skip(POSTGRES_SKIP);
    let store: string;
    if (kind === 'SQLite') {
      store = join(dir, 'report.db');
      await record({ store });
    } else {
      const schema = schemaFor('report');
      await record({ store: postgresUrl!, schema });
      const url = new URL(postgresUrl!);
      url.searchParams.set('schema', schema);
      store = url.toString();
    }
    const json = await cli('report', '--store', store, '--json');
    assert.equal(json.code, 0, json.err);
    const [set] = (JSON.parse(json.out) as { trackSets: Array<{ baseline: string; warnings: Array<{ kind: string }> }> }).trackSets;
    assert.equal(set!.baseline, 'price_adjusted_by_0');
    assert.ok(!set!.warnings.some((w) => w.kind === 'no-baseline'));
    const overridden = await cli('report', '--store', store, '--json', '--control', 'pricing-declared=price_adjusted_by_1');
    assert.equal(overridden.code, 0, overridden.err);
    assert.equal((JSON.parse(overridden.out) as { trackSets: Array<{ baseline: string }> }).trackSets[0]!.baseline, 'price_adjusted_by_1');
    const typo = await cli('report', '--store', store, '--control', 'pricing-declared=price_9');
    assert.equal(typo.code, 2);
    assert.match(typo.err, /'pricing-declared' has no track 'price_9'; its tracks are .*'price_adjusted_by_0'/);
    const noSet = await cli('report', '--store', store, '--control', 'nosuchset=a');
    assert.equal(noSet.code, 2);
    assert.match(noSet.err, /--control names the track set 'nosuchset', which is not recorded here/);
    const twice = await cli('report', '--store', store, '--control', 'pricing-declared=price_adjusted_by_1', '--control', 'pricing-declared=price_adjusted_by_0');
    assert.equal(twice.code, 2, 'two baselines for one set is an error, not last-one-wins');
    assert.match(twice.err, /--control names two baselines for 'pricing-declared'/);
  });
}

test('tracks dashboard takes --control, and a wrong one exits 2; its report uses the declared baseline', async () => {
  const store = join(dir, 'dashboard.db');
  await record({ store });
  const typo = await cli('dashboard', '--store', store, '--port', '0', '--control', 'pricing-declared=price_9');
  assert.equal(typo.code, 2);
  assert.match(typo.err, /has no track 'price_9'/);
  for (const baselines of [undefined, new Map([['pricing-declared', 'price_adjusted_by_1']])]) {
    const dashboard = await startDashboard({ store: sqliteStore(store), port: 0, ...(baselines ? { report: { baselines } } : {}) });
    try {
      const report = (await (await fetch(new URL('/api/report?trackset=pricing-declared', dashboard.url))).json()) as { trackSets: Array<{ baseline: string }> };
      assert.equal(report.trackSets[0]!.baseline, baselines ? 'price_adjusted_by_1' : 'price_adjusted_by_0');
    } finally {
      await dashboard.close();
    }
  }
});

test('tracks stop with no --serve makes every process serve the declared baseline; unknown sets and tracks exit 2 unless --force', async () => {
  const store = join(dir, 'stop.db');
  await record({ store });
  const stopped = await cli('stop', 'pricing-declared', '--store', store);
  assert.equal(stopped.code, 0, stopped.err);
  assert.match(stopped.out, /pricing-declared stopped: every process serves its baseline \(price_adjusted_by_0\)/);
  const recorder = configure({ store, outbox: false })!;
  await recorder.refreshControls();
  const runs = Array.from({ length: 50 }, (_, u) => new PricingTracks({ key: `s${u}`, context: { vip: false } }));
  assert.deepEqual(new Set(runs.map((r) => `${r.name} ${r.reason}`)), new Set(['price_adjusted_by_0 stopped']));
  await close();

  const unknown = await cli('stop', 'nosuchset', '--store', store);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown track set 'nosuchset'.*recorded sets are 'pricing-declared'.*--force/);
  const json = await cli('report', '--store', store, '--json');
  assert.ok(!json.out.includes('nosuchset'), 'no phantom stopped set');
  assert.equal((await cli('resume', 'nosuchset', '--store', store)).code, 2);
  const badTrack = await cli('stop', 'pricing-declared', '--serve', 'price_9', '--store', store);
  assert.equal(badTrack.code, 2);
  assert.match(badTrack.err, /has no track 'price_9'/);
  const forced = await cli('stop', 'not-deployed-yet', '--store', store, '--force');
  assert.equal(forced.code, 0, forced.err);
  // No process has published the set: the CLI cannot name its baseline, each process serves its class's.
  assert.match(forced.out, /every process serves its baseline \(each process's static control\)/);
  assert.equal((await cli('resume', 'not-deployed-yet', '--store', store, '--force')).code, 0);
});

test('stop, resume, ramp and promote, --force or not, refuse a store with no tracks tables (a misspelt ?schema=, an empty file) and create nothing there', { skip: postgresUrl === undefined ? POSTGRES_SKIP : false }, async () => {
  const schema = schemaFor('typo');
  const url = `${postgresUrl}${postgresUrl!.includes('?') ? '&' : '?'}schema=${schema}`;
  const empty = join(dir, 'empty.db');
  writeFileSync(empty, '');
  for (const store of [url, empty]) {
    for (const args of [['stop', 'delay'], ['resume', 'delay'], ['ramp', 'delay', '--coverage', '0.5'], ['promote', 'delay']]) {
      for (const force of [[], ['--force']]) {
        const result = await cli(...args, '--store', store, ...force);
        const label = `${[...args, ...force].join(' ')} on ${store === url ? 'a missing schema' : 'an empty file'}`;
        assert.equal(result.code, 2, `${label}: ${result.err}`);
        assert.match(result.err, /holds no tracks tables, so no process records to it: check --store \(the file, or the URL's \?schema=\)/, label);
      }
    }
  }
  const [found] = await sql<{ n: string }>('SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = $1', [schema]);
  assert.equal(Number(found!.n), 0, 'the schema was not created');
  assert.equal(statSync(empty).size, 0, 'the empty file stays empty');
});

test('tracks --version prints the version, and every command has --help', async () => {
  const version = await cli('--version');
  assert.equal(version.code, 0);
  assert.match(version.out, /^tracks \d+\.\d+\.\d+$/);
  for (const command of ['report', 'plan', 'simulate', 'stop', 'resume', 'ramp', 'dashboard']) {
    const help = await cli(command, '--help');
    assert.equal(help.code, 0, command);
    assert.match(help.out, new RegExp(`^Usage: tracks ${command}`), command);
    assert.equal((await cli('help', command)).out, help.out, `tracks help ${command}`);
  }
  // --coverage takes a percentage too (10%), and the help says so, not only the error message.
  assert.match((await cli('ramp', '--help')).out, /--coverage <share> .*0 to 1 or a percentage\n.*10%/);
});
