// Issue 10: every kind of bad input is loud, names what is at fault and the fix.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, TracksError, close, configure, flush, promoteTrackSet, rampTrackSet, resumeTrackSet, sqliteStore, stopTrackSet } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'g10-errors-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

class Delay extends TrackSet {
  static override id = 'g10-delay';
  static short_track() {
    return 1;
  }
  static long_track() {
    return 2;
  }
}

test('a static control naming no track is a TracksError naming the class and its tracks', () => {
  class Bad extends TrackSet {
    static override id = 'g10-bad-control';
    static override addControlTrack = false;
    static override control = 'price_9';
    static a_track() {
      return 1;
    }
    static b_track() {
      return 2;
    }
  }
  assert.throws(() => new Bad({ key: 'k' }).name, (e: unknown) => {
    assert.ok(e instanceof TracksError, String(e));
    assert.match(e.message, /Bad/);
    assert.match(e.message, /price_9/);
    assert.match(e.message, /'a'.*'b'|a, b/);
    return true;
  });
});

test('a subclass that inherits static id is a TracksError that says how to share an id on purpose', () => {
  class Parent extends TrackSet {
    static override id = 'g10-parent';
    static a_track() {
      return 1;
    }
    static b_track() {
      return 2;
    }
  }
  class Child extends Parent {
    static c_track() {
      return 3;
    }
  }
  assert.throws(() => new Child({ key: 'k' }).name, (e: unknown) => {
    assert.ok(e instanceof TracksError, String(e));
    assert.match(e.message, /Child/);
    assert.match(e.message, /g10-parent/);
    assert.match(e.message, /static id/);
    return true;
  });
  // the parent itself is fine
  assert.ok(['control', 'a', 'b'].includes(new Parent({ key: 'k' }).name));
});

test('tracks ramp: bad input exits 2 and says what is wrong', async () => {
  const store = join(dir, 'ramp.db');
  configure({ store, outbox: false });
  for (let i = 0; i < 20; i++) new Delay({ key: `u${i}` }).run();
  await flush();
  await close();
  const cases: Array<[string[], RegExp]> = [
    [['ramp', 'g10-delay', '--coverage', '1.5', '--store', store], /coverage/i],
    [['ramp', 'g10-delay', '--coverage', '-0.1', '--store', store], /coverage/i],
    [['ramp', 'g10-delay', '--coverage', 'abc', '--store', store], /coverage/i],
    [['ramp', 'g10-delay', '--weights', 'nosuch=1', '--store', store], /nosuch/],
    [['ramp', 'g10-delay', '--weights', 'short=-1', '--store', store], /a weight cannot be negative; give 0 to send a track no one, e.g. --weights short=0/],
    [['ramp', 'g10-delay', '--weights', 'short', '--store', store], /weights/],
    [['ramp', 'g10-delay', '--weights', 'short=abc', '--store', store], /weight|abc/],
    [['ramp', 'g10-delay', '--store', store], /--coverage|--weights/],
    [['ramp', 'nosuchset', '--coverage', '0.5', '--store', store], /nosuchset.*--force|--force.*nosuchset/s],
    [['ramp', '--coverage', '0.5', '--store', store], /track set|id/i],
    [['ramp', 'g10-delay', '--coverage', '0.5'], /store|TRACKS_STORE/],
    [['stop', 'g10-delay', '--serve', 'nosuch', '--store', store], /nosuch/],
    [['promote', 'nosuchset', '--store', store], /nosuchset/],
    // A live test is said to be one at once, without offering a --force that would not help.
    [['promote', 'g10-delay', '--store', store], /^(?!.*--force).*'g10-delay' is a live test \(20 users exposed\) with no shadow runs/s],
    // --force is for a shadow set no process has run, not a live test (it would start a phase for nothing)
    [['promote', 'g10-delay', '--force', '--store', store], /'g10-delay' is a live test \(20 users exposed\)/],
    [['ramp', 'g10-delay', '--bogus', '--store', store], /^tracks ramp: unknown option '--bogus'; see 'tracks ramp --help'$/],
    // Node's advice about positionals starting with '-' (with its unbalanced quote) is not passed on.
    [['stop', 'g10-delay', '--bogus', '--store', store], /^tracks stop: unknown option '--bogus'; see 'tracks stop --help'$/],
    [['resume', 'g10-delay', '--bogus', '--store', store], /^tracks resume: unknown option '--bogus'; see 'tracks resume --help'$/],
    // A misspelt option is answered with the one meant, as configure() answers one.
    [['ramp', 'g10-delay', '--coverag', '0.5', '--store', store], /^tracks ramp: unknown option '--coverag'; did you mean '--coverage'\? see 'tracks ramp --help'$/],
    [['stop', 'g10-delay', '--serv', 'long', '--store', store], /^tracks stop: unknown option '--serv'; did you mean '--serve'\? see 'tracks stop --help'$/],
    [['report', '--store', store, '--sequentail'], /^tracks report: unknown option '--sequentail'; did you mean '--sequential'\? see 'tracks report --help'$/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')} exited ${r.code}: ${r.out} ${r.err}`);
    assert.match(r.err, message, args.join(' '));
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/, `no stack trace for ${args.join(' ')}`);
  }
  // nothing of the bad calls reached the store: still one phase
  const report = await cli(['report', '--store', store, '--json']);
  assert.equal(JSON.parse(report.out).trackSets[0].phases.length, 1);
  // $TRACKS_STORE serves as --store for ramp
  const env = await cli(['ramp', 'g10-delay', '--weights', 'long=3'], { TRACKS_STORE: store });
  assert.equal(env.code, 0, env.err);
  const again = await cli(['ramp', 'g10-delay', '--weights', 'long=3'], { TRACKS_STORE: store });
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /nothing changed/);
  // A path from $TRACKS_STORE that is wrong says where it came from.
  const stale = await cli(['ramp', 'g10-delay', '--weights', 'long=3'], { TRACKS_STORE: `${store}.typo` });
  assert.equal(stale.code, 2);
  assert.match(stale.err, /no store at .*\.typo \(from \$TRACKS_STORE\); give the file your processes record to/);
  const folder = await cli(['report'], { TRACKS_STORE: dirname(store) });
  assert.equal(folder.code, 2);
  assert.match(folder.err, /\$TRACKS_STORE is .* is a folder; give the SQLite file in it/);
  const phases = JSON.parse((await cli(['report', '--store', store, '--json'])).out).trackSets[0].phases;
  assert.equal(phases.length, 2);
  assert.deepEqual(phases[1].configuration.weights, { control: 1, short: 1, long: 3 });
  // the programmatic API refuses the same
  const s = sqliteStore(store);
  try {
    await assert.rejects(rampTrackSet(s, 'g10-delay', { coverage: 2 }), TracksError);
    await assert.rejects(rampTrackSet(s, 'g10-delay', { weights: { nosuch: 1 } }), /nosuch/);
    await assert.rejects(rampTrackSet(s, 'nosuchset', { coverage: 0.5 }), /nosuchset/);
    // Arguments of the wrong kind are TracksErrors naming the call and the fix, never TypeErrors,
    // and change nothing.
    const wrong: [string, () => Promise<unknown>, RegExp][] = [
      ['serve as an options object', () => stopTrackSet(s, 'g10-delay', { serve: 'long' } as never), /^stopTrackSet: the track to serve is an object .*; give its name, e\.g\. stopTrackSet\(store, 'delay', 'long'\)/],
      ['serve as a number', () => stopTrackSet(s, 'g10-delay', 42 as never), /^stopTrackSet: the track to serve is 42;/],
      ['no change', () => rampTrackSet(s, 'g10-delay', undefined as never), /^rampTrackSet: the change is undefined; give \{ coverage, weights \}/],
      ['weights as an array', () => rampTrackSet(s, 'g10-delay', { weights: [1, 3] as never }), /^rampTrackSet: weights is an array .*; give weights by track name/],
      ['options as a string', () => resumeTrackSet(s, 'g10-delay', 'force' as never), /^resumeTrackSet: the options are the string 'force'; give an object such as \{ force: true \}/],
      ['options as a string', () => promoteTrackSet(s, 'g10-delay', 'force' as never), /^promoteTrackSet: the options are the string 'force'/],
      ['a path for the store', () => stopTrackSet(store as never, 'g10-delay'), /^stopTrackSet: the store is the string '.*'; pass the store first, e\.g\. stopTrackSet\(sqliteStore\('tracks\.db'\), 'delay'\)/],
    ];
    for (const [what, call, message] of wrong) {
      await assert.rejects(call(), (e: unknown) => e instanceof TracksError && message.test(e.message), what);
    }
  } finally {
    await s.close();
  }
  const after = JSON.parse((await cli(['report', '--store', store, '--json'])).out).trackSets[0];
  assert.deepEqual([after.phases.length, after.status], [2, 'running'], 'the refused calls changed nothing');
});

test('tracks ramp --force on a set never published; without --force an error', async () => {
  const store = join(dir, 'force.db');
  configure({ store, outbox: false });
  new Delay({ key: 'x' }).run();
  await flush();
  await close();
  const refused = await cli(['ramp', 'g10-future', '--coverage', '0.1', '--store', store]);
  assert.equal(refused.code, 2);
  const forced = await cli(['ramp', 'g10-future', '--coverage', '0.1', '--store', store, '--force']);
  assert.equal(forced.code, 0, forced.err);
  class Future extends TrackSet {
    static override id = 'g10-future';
    static a_track() {
      return 1;
    }
  }
  const recorder = configure({ store, outbox: false })!;
  await recorder.refreshControls();
  const runs = Array.from({ length: 1000 }, (_, i) => new Future({ key: `f${i}` }));
  const covered = runs.filter((r) => r.reason !== 'not covered').length;
  assert.ok(covered > 50 && covered < 150, `a forced coverage ramp applies when the set first runs: ${covered} of 1000 covered`);
  await close();
});

test('stop, resume, ramp and promote take the store as report does: sqlite:<path> (as a store describes itself), and a folder is one line, exit 2', async () => {
  const path = join(dir, 'described.db');
  configure({ store: path, outbox: false });
  new Delay({ key: 'u1' }).run();
  await flush();
  await close();
  const stopped = await cli(['stop', 'g10-delay', '--store', `sqlite:${path}`]);
  assert.equal(stopped.code, 0, stopped.err);
  assert.match(stopped.out, /g10-delay stopped/);
  const resumed = await cli(['resume', 'g10-delay'], { TRACKS_STORE: `sqlite:${path}` });
  assert.equal(resumed.code, 0, resumed.err);
  for (const args of [['stop', 'g10-delay'], ['resume', 'g10-delay'], ['ramp', 'g10-delay', '--coverage', '0.5'], ['promote', 'g10-delay']]) {
    const folder = await cli([...args, '--store', dir]);
    assert.equal(folder.code, 2, `${args[0]}: ${folder.err}`);
    assert.match(folder.err, /--store .* is a folder; give the SQLite file in it, e\.g\. --store .*\/tracks\.db/);
    assert.doesNotMatch(folder.err, /\n./, 'one line');
  }
});

test('another scheme\'s URL as --store is refused as such (exit 2), not looked for as a file', async () => {
  for (const spec of ['mysql://db/app', 'redis://127.0.0.1:6379']) {
    const r = await cli(['report', '--store', spec]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /is a (mysql|redis):\/\/ URL, which tracks cannot record to; give a postgres:\/\/ \(or postgresql:\/\/\) URL, a SQLite file path/);
  }
});
