import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sampleSize, sqliteStore } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { writeFixedData } from '../report/fixed-data.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function recordedStore(): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'tracks-cli-')), 'tracks.db');
  const store = sqliteStore(path);
  await writeFixedData(store);
  await store.close();
  return path;
}

test('tracks report prints the table and --json the documented model', async () => {
  const path = await recordedStore();
  const text = await cli('report', '--store', path);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /delay {2}\[running\] {2}3,000 users/);
  const json = await cli('report', '--store', path, '--json', '--trackset', 'delay', '--alpha', '0.01', '--sequential');
  assert.equal(json.code, 0, json.err);
  const report = JSON.parse(json.out) as { alpha: number; sequential: boolean; trackSets: { id: string; users: number }[] };
  assert.equal(report.alpha, 0.01);
  assert.equal(report.sequential, true);
  assert.deepEqual(report.trackSets.map((s) => [s.id, s.users]), [['delay', 3000]]);
  // The store as the report names it (`sqlite:<path>`) is taken back by --store.
  const described = (JSON.parse(json.out) as { store: string }).store;
  assert.equal(described, `sqlite:${path}`);
  const again = await cli('report', '--store', described, '--json');
  assert.equal(again.code, 0, again.err);
  assert.equal((JSON.parse(again.out) as { trackSets: { users: number }[] }).trackSets[0]!.users, 3000);
});

test('CLI mistakes are one clear line and a non-zero exit', async () => {
  const path = await recordedStore();
  const cases: [string[], RegExp][] = [
    [['report'], /no store given; pass --store/],
    [['report', '--store', '/nonexistent/tracks.db'], /no store at \/nonexistent\/tracks\.db/],
    [['report', '--store', path, '--trackset', 'nope'], /unknown track set 'nope'; recorded sets are 'delay'/],
    [['report', '--store', path, '--alpha', 'lots'], /--alpha is 'lots'/],
    [['report', '--store', path, '--frobnicate'], /unknown option '--frobnicate'/],
    [['report', '--store', path, '--control', 'pricing'], /--control is 'pricing'; write it as <trackset id>=<track>/],
    [['plan', '--mde', '0.1'], /--baseline is required/],
    [['plan', '--baseline', '2', '--mde', '0.1'], /--baseline is '2'/],
    // Checks across flags name the flags, not sampleSize()'s arguments.
    [['plan', '--baseline', '0.05', '--mde', '0'], /^tracks plan: --mde is 0: .*e\.g\. --mde 0\.1/],
    [['plan', '--baseline', '0.05', '--mde', '0.1', '--power', '0.01'], /^tracks plan: --power \(0\.01\) must be greater than --alpha \(0\.05\)/],
    [['plan', '--baseline', '0.5', '--mde', '1.5'], /^tracks plan: --mde 1\.5 moves --baseline 0\.5 to 1\.25, outside \(0, 1\): give a smaller --mde/],
    [['simulate'], /give the module that defines your track sets/],
    [['nonsense'], /unknown command 'nonsense'/],
  ];
  for (const [args, message] of cases) {
    const result = await cli(...args);
    assert.notEqual(result.code, 0, `${args.join(' ')} must fail`);
    assert.match(result.err, message, args.join(' '));
    assert.equal(result.err.split('\n').length, 1, `one line: ${result.err}`);
  }
});

test('tracks plan gives users per track and days', async () => {
  const result = await cli('plan', '--baseline', '0.05', '--mde', '0.1', '--tracks', '3', '--daily', '10000', '--json');
  assert.equal(result.code, 0, result.err);
  const plan = JSON.parse(result.out) as { usersPerTrack: number; days: number; comparisons: number };
  const expected = sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks: 3, dailyUsers: 10000 });
  assert.equal(plan.usersPerTrack, expected.usersPerTrack);
  assert.equal(plan.comparisons, 2);
  assert.equal(plan.days, expected.days);
  const text = await cli('plan', '--baseline', '0.05', '--mde', '0.1', '--tracks', '3', '--daily', '10000');
  assert.match(text.out, new RegExp(`${expected.usersPerTrack.toLocaleString('en-US')} users per track`));
  assert.match(text.out, /days at 10,000 users a day/);
  assert.match(text.out, /to detect 0\.05 -> 0\.0550 with power 0\.8/);
  // Near a certainty, as many digits as tell the rate from the baseline and from 1; the baseline as typed; one user, singular.
  const near = await cli('plan', '--baseline', '0.999', '--mde', '0.001', '--daily', '1');
  assert.match(near.out, /to detect 0\.999 -> 0\.999999 with power/);
  assert.match(near.out, /days at 1 user a day/);
  const tiny = await cli('plan', '--baseline', '0.000000001', '--mde', '1');
  assert.match(tiny.out, /to detect 0\.000000001 -> 2\.00e-9 with power/);
  // A drop, written as a negative number after the flag (not taken for an option).
  const drop = await cli('plan', '--baseline', '0.05', '--mde', '-0.1', '--json');
  assert.equal(drop.code, 0, drop.err);
  assert.equal((JSON.parse(drop.out) as { usersPerTrack: number }).usersPerTrack, sampleSize({ baseline: 0.05, relativeMde: -0.1 }).usersPerTrack);
});

test('tracks plan --cuped-correlation 0.7 needs 1 - 0.7² = 51% of the users, and shows the plan without CUPED', async () => {
  const args = ['plan', '--baseline', '0.05', '--mde', '0.1', '--daily', '10000'];
  const result = await cli(...args, '--cuped-correlation', '0.7', '--json');
  assert.equal(result.code, 0, result.err);
  const plan = JSON.parse(result.out) as { usersPerTrack: number; cupedCorrelation: number; withoutCuped: { usersPerTrack: number } };
  const plain = sampleSize({ baseline: 0.05, relativeMde: 0.1, dailyUsers: 10000 });
  assert.equal(plan.cupedCorrelation, 0.7);
  assert.equal(plan.withoutCuped.usersPerTrack, plain.usersPerTrack);
  // Exactly 0.51 before each is rounded up to whole users.
  assert.ok(Math.abs(plan.usersPerTrack / plain.usersPerTrack - 0.51) < 1e-3, `${plan.usersPerTrack} / ${plain.usersPerTrack}`);
  const text = await cli(...args, '--cuped-correlation', '0.7');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, new RegExp(`^${plan.usersPerTrack.toLocaleString('en-US')} users per track`));
  assert.match(text.out, /assuming CUPED with rho=0\.7/);
  assert.match(text.out, new RegExp(`without CUPED: ${plain.usersPerTrack.toLocaleString('en-US')} users per track`));
  const bad = await cli(...args, '--cuped-correlation', '1');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--cuped-correlation is '1'/);
});

test('tracks simulate shows the split and exactly what a change moves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-sim-'));
  const module = join(dir, 'tracks.mjs');
  // The same TrackSet class as the CLI under test (run from source here; both from dist when installed).
  const index = new URL('../../src/index.ts', import.meta.url).href;
  writeFileSync(module, `import { TrackSet } from '${index}';\nexport class SimDelay extends TrackSet {\n  static id = 'sim-delay';\n  static short_track() {}\n  static long_track() {}\n}\n`);
  const keys = join(dir, 'keys.txt');
  // Users repeated, as in ids taken from logs: each counts once.
  writeFileSync(keys, [...Array.from({ length: 30000 }, (_, i) => `user-${i}`), 'user-7', '', 'user-7', 'user-29999'].join('\n'));
  const result = await cli('simulate', module, '--keys', keys, '--add-track', 'longer', '--json');
  assert.equal(result.code, 0, result.err);
  const [sim] = JSON.parse(result.out) as { keys: number; change: { movedShare: number; moves: { from: string; to: string }[] } }[];
  assert.equal(sim!.keys, 30000);
  assert.ok(sim!.change.moves.every((m) => m.to === 'longer'), 'adding a track moves keys only to it');
  assert.ok(Math.abs(sim!.change.movedShare - 0.25) < 0.01, `about a quarter moves: ${sim!.change.movedShare}`);
  const text = await cli('simulate', module, '--count', '1000');
  assert.match(text.out, /sim-delay: 1,000 keys, sample-ratio check p = /);
  assert.match((await cli('simulate', module, '--count', '1')).out, /sim-delay: 1 key, /);
  // Halving coverage: a control key left outside the test is still served control, so it has
  // not moved; the summary counts the keys served another track, and says the others apart.
  const halved = await cli('simulate', module, '--keys', keys, '--coverage', '0.5', '--json');
  const [h] = JSON.parse(halved.out) as { change: { movedShare: number; minimumShare: number; coverageOnlyShare: number; moves: { from: string; to: string }[]; coverageOnly: { from: string; to: string }[] } }[];
  assert.ok(h!.change.moves.every((m) => m.from !== 'control'), 'control keys stay on control');
  assert.deepEqual(h!.change.coverageOnly.map((m) => [m.from, m.to]), [['control', 'control (not covered)']]);
  assert.ok(Math.abs(h!.change.movedShare - 1 / 3) < 0.015, `short and long keys leaving the test move to control: ${h!.change.movedShare}`);
  assert.ok(Math.abs(h!.change.coverageOnlyShare - 1 / 6) < 0.015, `half the control keys leave the test: ${h!.change.coverageOnlyShare}`);
  assert.ok(Math.abs(h!.change.minimumShare - 1 / 3) < 1e-9, `the least any assignment must serve another track: ${h!.change.minimumShare}`);
  // As tracks ramp takes it: a percentage is the same share.
  const percent = await cli('simulate', module, '--keys', keys, '--coverage', '50%', '--json');
  assert.equal(percent.out, halved.out);
  const halvedText = (await cli('simulate', module, '--keys', keys, '--coverage', '0.5')).out;
  assert.match(halvedText, /proposed change moves 3\d\.\d\d% of keys to another track \(expected minimum for these shares: 33\.33%\); 1\d\.\d\d% stay on their track and only enter or leave the test \(coverage\)/);
  assert.match(halvedText, /control -> control \(not covered\): [\d,]+ keys \([\d.]+%\), same track, leave the test/);
  const bad = await cli('simulate', module, '--remove-track', 'nope');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /cannot remove 'nope': 'sim-delay' has no such track \(its tracks are 'control', 'short', 'long'\); name one of them in removeTracks \(--remove-track\)/);
  const unweighable = await cli('simulate', module, '--weights', 'shrot=2');
  assert.notEqual(unweighable.code, 0);
  assert.match(unweighable.err, /cannot weigh 'shrot': 'sim-delay' has no such track \(its tracks are 'control', 'short', 'long'\)/);
});

test('tracks simulate takes the sets of a MultiTrackSet the module exports alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-sim-multi-'));
  const module = join(dir, 'tracks.mjs');
  const index = new URL('../../src/index.ts', import.meta.url).href;
  writeFileSync(
    module,
    `import { MultiTrackSet, TrackSet } from '${index}';\n` +
      `class SimMultiDelay extends TrackSet {\n  static id = 'sim-multi-delay';\n  static long_track() {}\n}\n` +
      `class SimMultiPricing extends TrackSet {\n  static id = 'sim-multi-pricing';\n  static cheap_track() {}\n}\n` +
      `export class SimCoconut extends MultiTrackSet {\n  static trackSets = [SimMultiDelay, SimMultiPricing];\n}\n`,
  );
  const result = await cli('simulate', module, '--count', '2000', '--json');
  assert.equal(result.code, 0, result.err);
  const sims = JSON.parse(result.out) as { trackSetId: string; keys: number }[];
  assert.deepEqual(sims.map((s) => [s.trackSetId, s.keys]), [['sim-multi-delay', 2000], ['sim-multi-pricing', 2000]]);
});

test('the tracks executable runs as a program and exits non-zero on errors', () => {
  const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const help = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /report/);
  const bad = spawnSync(process.execPath, [main, 'report'], { encoding: 'utf8', env: { ...process.env, TRACKS_STORE: '' } });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no store given/);
});

test('tracks report piped into a reader that stops early (| head) ends quietly, with no EPIPE stack', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-cli-epipe-'));
  const path = join(dir, 'many.db');
  const store = sqliteStore(path);
  const at = Date.UTC(2026, 5, 1);
  // 300 sets: a JSON report of a few MB, far more than a pipe holds.
  await store.write(
    Array.from({ length: 300 }, (_, s) => [
      { kind: 'definition' as const, eventId: `d${s}`, trackSetId: `set-${s}`, weights: { control: 1, fast: 1 }, coverage: 1, at },
      ...Array.from({ length: 20 }, (_, u) => ({ kind: 'exposure' as const, eventId: `x${s}-${u}`, trackSetId: `set-${s}`, track: u % 2 ? 'fast' : 'control', unit: `u${u}`, at: at + u })),
    ]).flat(),
  );
  await store.close();
  const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  // The shell's pipe: head takes 100 bytes and closes it; bash reports the report's own status.
  const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${main}" report --json --store "${path}" | head -c 100 > /dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  assert.doesNotMatch(piped.stderr, /EPIPE|Error/, piped.stderr);
  assert.equal(piped.stdout.trim(), '0');
});

test('the tracks executable ends once its command is done: a module given to simulate that leaves a timer running, or never finishes loading, or output that cannot be written', () => {
  const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const index = new URL('../../dist/index.js', import.meta.url).href;
  const dir = mkdtempSync(join(tmpdir(), 'tracks-cli-ends-'));
  writeFileSync(join(dir, 'sets.mjs'), `import { TrackSet } from '${index}';\nexport class EndsTracks extends TrackSet { static id = 'cli-ends'; static long_track() {} }\n`);
  // A module that starts a timer (a metrics client, a connection pool's keep-alive).
  writeFileSync(join(dir, 'timer.mjs'), "export { EndsTracks } from './sets.mjs';\nsetInterval(() => {}, 1000);\n");
  writeFileSync(join(dir, 'forever.mjs'), "export { EndsTracks } from './sets.mjs';\nawait new Promise(() => {});\n");
  const timer = spawnSync(process.execPath, [main, 'simulate', join(dir, 'timer.mjs'), '--count', '100', '--json'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(timer.status, 0, `ended by ${timer.signal ?? 'itself'}: ${timer.stderr}`);
  assert.equal((JSON.parse(timer.stdout) as { keys: number }[])[0]!.keys, 100);
  const forever = spawnSync(process.execPath, [main, 'simulate', join(dir, 'forever.mjs')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(forever.status, 2);
  assert.match(forever.stderr, /^tracks: the command never finished: a module it imported awaits something that never settles/);
  const full = spawnSync('bash', ['-c', `"${process.execPath}" "${main}" simulate "${join(dir, 'timer.mjs')}" --count 100 > /dev/full`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(full.status, 1);
  assert.match(full.stderr, /^tracks: cannot write the output: ENOSPC/);
  assert.doesNotMatch(full.stderr, /\n\s+at /, 'no stack');
});
