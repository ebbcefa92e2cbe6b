// Bad input to `tracks report`, `plan` and `simulate`: exit code 2, one line that names the
// flag and the fix, no stack trace.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sqliteStore } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { writeFixedData } from '../report/fixed-data.js';
import { POSTGRES_SKIP, postgresUrl } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-bad-input-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

async function cli(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await runCli(args, { stdout: () => {}, stderr: (t) => err.push(t), env: {} });
  return { code, err: err.join('\n') };
}

test('bad flags exit 2 with one line naming the flag and the fix', async () => {
  const store = join(dir, 'tracks.db');
  const s = sqliteStore(store);
  await writeFixedData(s);
  await s.close();
  const module = join(dir, 'sets.mjs');
  writeFileSync(module, `import { TrackSet } from '${new URL('../../src/index.ts', import.meta.url).href}';\nexport class D extends TrackSet {\n  static id = 'd';\n  static short_track() {}\n}\n`);
  const cases: [string[], RegExp][] = [
    [['report', '--store', store, '--alpha', '0'], /--alpha is '0'; give a number from 0\.000000001 to 0\.5/],
    [['report', '--store', store, '--alpha', '0.7'], /--alpha is '0\.7'; give a number/],
    [['report', '--store', store, '--correction', 'bonferroni'], /--correction is 'bonferroni'; use holm or bh/],
    [['report', '--store', store, '--phase', '1.5', '--trackset', 'delay'], /--phase is '1\.5'; give a whole number from 1/],
    [['report', '--store', store, '--phase', '7', '--trackset', 'delay'], /--phase 7 is not one of them \(give 1 to 1\)/],
    [['report', '--store', store, '--cuped-window', 'abc'], /--cuped-window is 'abc'; give a number from 0\.1 to 366/],
    [['report', '--store', dir], /--store .* is a folder; give the SQLite file in it, e\.g\. --store .*\/tracks\.db/],
    // Node's parseArgs wording, said as ours: what is wrong and what to do.
    [['report', '--store'], /^tracks report: --store needs a value, e\.g\. --store=x or --store x; see 'tracks report --help'$/],
    [['report', '--store', store, 'extra'], /^tracks report: unexpected argument 'extra': tracks report takes no such argument .*; see 'tracks report --help'$/],
    [['stop', 'delay', '--serve'], /^tracks stop: --serve needs a value/],
    [['simulate', module, '--count', '10', '--keys', join(dir, 'keys.txt')], /--keys and --count are both given; give --keys for your own keys, or --count for that many synthetic ones/],
    // parseArgs keeps the last of a flag given twice: the first would be dropped without a word.
    [['plan', '--baseline', '0.05', '--mde', '0.1', '--mde', '0.2'], /--mde is given twice \('0\.1', then '0\.2'\); give it once/],
    [['report', '--store', store, '--store=other.db'], /--store is given twice .*; give it once/],
    [['report', '--store', store, '--trackset', 'delay', '--trackset', 'pricing'], /--trackset is given twice .*; give it once \(a report of each set: run it once per set\)|--trackset is given twice/],
    [['stop', 'delay', '--store', store, '--store', store], /--store is given twice/],
    [['ramp', 'delay', '--coverage', '0.5', '--coverage', '0.6', '--store', store], /--coverage is given twice \('0\.5', then '0\.6'\); give it once/],
    [['plan', '--baseline', '0.05', '--mde', '0.1', '--tracks', '1'], /--tracks is '1'; give a whole number from 2 to 1000/],
    [['plan', '--baseline', '0.05', '--mde', '0.1', '--tracks', '2.5'], /--tracks is '2\.5'; give a whole number from 2 to 1000/],
    [['plan', '--baseline', '0.05', '--mde', '0.1', '--alpha', '0.9'], /--alpha is '0\.9'; give a number from 0\.000000001 to 0\.5/],
    [['plan', '--baseline', '0.05', '--mde', '0.1', '--power', '1'], /--power is '1'; give a number from 0\.01 to 0\.999999/],
    [['plan', '--baseline', '0.05', '--mde', '0.1', '--daily', '0'], /--daily is '0'; give a whole number from 1/],
    [['plan', '--baseline', '0.05', '--mde', '-1'], /--mde is '-1'; give a number \(or a percentage\) from -0\.999999 to 1000/],
    [['simulate', module, '--count', '0'], /--count is '0'; give a whole number from 1 to 10000000/],
    [['simulate', module, '--count', '1.5'], /--count is '1\.5'; give a whole number from 1 to 10000000/],
    [['simulate', module, '--coverage', '2'], /--coverage is '2'; give a number \(or a percentage\) from 0 to 1/],
    [['simulate', module, '--weights', 'short'], /--weights has 'short'; give track=weight pairs separated by commas/],
    [['simulate', module, '--keys', join(dir, 'missing.txt')], /cannot read keys from .*missing\.txt; give a file with one key per line/],
    [['simulate', module, '--trackset', 'nope'], /no track set with id 'nope' in .*; its sets are 'd'$/],
    // A flag that takes a value, followed by another flag: what is wrong and the way out, once.
    [['report', '--store', store, '--trackset', '--json'], /^tracks report: --trackset needs a value, and the next argument is another option \(a value starting with '-' is written --trackset=-x\); see 'tracks report --help'$/],
    [['plan', '--baseline', '--mde', '0.1'], /^tracks plan: --baseline needs a value, .*; see 'tracks plan --help'$/],
    [['help', 'nope'], /^tracks: unknown command 'nope'; run 'tracks --help' for the list$/],
  ];
  for (const [args, message] of cases) {
    const { code, err } = await cli(...args);
    const label = args.join(' ');
    assert.equal(code, 2, `${label}: exit ${code}, ${err}`);
    assert.match(err, message, label);
    assert.equal(err.split('\n').length, 1, `${label}: one line, got ${err}`);
    assert.doesNotMatch(err, /\n\s+at |Error:/, `${label}: no stack trace`);
  }
});

test('a PostgreSQL database that does not exist is the user’s to fix: exit 2, as a missing SQLite file', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const url = new URL(postgresUrl!);
  url.pathname = '/tracks_no_such_database';
  const { code, err } = await cli('report', '--store', url.href);
  assert.equal(code, 2, err);
  assert.match(err, /^tracks report: .*database "tracks_no_such_database" does not exist/);
});

