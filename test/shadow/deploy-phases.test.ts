// A deploy that turns a live set's shadow mode on (or off) changes what users are served:
// everyone gets the baseline in shadow mode. It must start a phase, as any change of the set
// in code does, so that no conversion made after it is credited to a track the user no
// longer saw. (Before, the phase id left shadow mode out: one phase, and 100% of the users of
// 'new' converted, each while being served 'old'.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, close, configure, convert, flush, promoteTrackSet, rampTrackSet, sqliteStore } from '../../src/index.js';
import type { RecordedEvent, Recorder, ShadowOptions } from '../../src/index.js';
import { inShadowMode } from '../../src/stores/control-state.js';
import { shadowEndedByDeploy } from '../../src/model/shadow.js';
import { runCli } from '../../src/cli/run-cli.js';
import { sleep } from '../support/pace.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-deploy-shadow-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

// Two versions of one set (one id, the same tracks), as two deploys of the service would have it.
class CatalogLive extends TrackSet {
  static override id = 'deploy-shadow';
  static override addControlTrack = false;
  static override control = 'old';
  static old_track(): number {
    return 1;
  }
  static new_track(): number {
    return 1;
  }
}

class CatalogShadow extends TrackSet {
  static override id = 'deploy-shadow';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1 };
  static old_track(): number {
    return 1;
  }
  static new_track(): number {
    return 1;
  }
}

interface ReportJson {
  readonly trackSets: ReadonlyArray<{
    readonly shadow: { readonly mode: string } | null;
    readonly phases: ReadonlyArray<{ readonly index: number; readonly shadow: boolean | null; readonly users: number }>;
    readonly tracks: ReadonlyArray<{ readonly name: string; readonly users: number; readonly metrics: ReadonlyArray<{ readonly metric: string; readonly conversions?: number }> }>;
  }>;
}

async function reportOf(path: string): Promise<ReportJson> {
  const out: string[] = [];
  const code = await runCli(['report', '--store', path, '--json'], { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {} });
  assert.equal(code, 0, out.join('\n'));
  return JSON.parse(out.join('\n')) as ReportJson;
}

const users = 300;

/** One deploy's process: `users` users run (and convert, when asked), then it ends; the next starts a few ms later. */
async function deploy(path: string, run: (key: string) => unknown, converts: boolean): Promise<void> {
  configure({ store: path });
  for (let i = 0; i < users; i++) {
    await run(`user-${i}`);
    if (converts) convert({ key: `user-${i}`, metric: 'buy' });
  }
  await flush();
  await close();
  await sleep(5);
}

/** A set's phases as these tests compare them. */
function phasesOf(set: ReportJson['trackSets'][number]): Array<{ index: number; shadow: boolean | null; users: number }> {
  return set.phases.map((p) => ({ index: p.index, shadow: p.shadow, users: p.users }));
}

/** Records 50 shadow runs to a new SQLite store, ramps 'new' to 3 from the CLI's side, and has the process apply it. */
async function shadowRunsThenRamp(path: string): Promise<Recorder> {
  const recorder = configure({ store: path })!;
  for (let i = 0; i < 50; i++) await new CatalogShadow({ key: `user-${i}` }).run();
  await flush();
  const control = sqliteStore(path);
  try {
    await rampTrackSet(control, 'deploy-shadow', { weights: { new: 3 } });
  } finally {
    await control.close();
  }
  await recorder.refreshControls();
  return recorder;
}

test('a deploy that puts a live set in shadow mode starts a phase: conversions made while everyone is served the baseline are not credited to the tracks of before', async () => {
  const path = join(dir, 'live-then-shadow.db');
  await deploy(path, (key) => new CatalogLive({ key }).run(), false);
  await deploy(path, (key) => new CatalogShadow({ key }).run(), true); // everyone served 'old'
  const [set] = (await reportOf(path)).trackSets;
  assert.deepEqual(
    phasesOf(set!),
    [
      { index: 1, shadow: false, users },
      { index: 2, shadow: true, users: 0 },
    ],
  );
  assert.equal(set!.shadow?.mode, 'shadow');
  for (const track of set!.tracks) {
    const buy = track.metrics.find((m) => m.metric === 'buy');
    assert.ok(buy === undefined || buy.conversions === 0, `${track.name}: ${JSON.stringify(buy)} conversions credited from the shadow phase`);
  }
});

test('a deploy that ends shadow mode (no promote) starts a live phase, whose users are counted', async () => {
  const path = join(dir, 'shadow-then-live.db');
  await deploy(path, (key) => new CatalogShadow({ key }).run(), false);
  await deploy(path, (key) => new CatalogLive({ key }).run(), true);
  const [set] = (await reportOf(path)).trackSets;
  assert.deepEqual(
    phasesOf(set!),
    [
      { index: 1, shadow: true, users: 0 },
      { index: 2, shadow: false, users },
    ],
  );
  const credited = set!.tracks.reduce((n, t) => n + (t.metrics.find((m) => m.metric === 'buy')?.conversions ?? 0), 0);
  assert.equal(credited, users);
  // Not said to be in shadow any more: the shadow findings are of a phase that ended.
  assert.equal(set!.shadow?.mode, 'ended');
  const out: string[] = [];
  await runCli(['report', '--store', path], { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {} });
  const text = out.join('\n');
  assert.doesNotMatch(text, /\[shadow\]/);
  assert.match(text, /Shadow phase \(before a deploy made the set a live test/);
});

test('a ramp during shadow mode records the shadow phase the processes then run in: one phase per change, not a second, empty one', async () => {
  const path = join(dir, 'ramp-in-shadow.db');
  const recorder = await shadowRunsThenRamp(path);
  for (let i = 50; i < 100; i++) await new CatalogShadow({ key: `user-${i}` }).run();
  await flush();
  await close();
  const [set] = (await reportOf(path)).trackSets;
  assert.deepEqual(
    phasesOf(set!),
    [
      { index: 1, shadow: true, users: 0 },
      { index: 2, shadow: true, users: 0 },
    ],
  );
});

test('a promotion after a weights ramp during shadow records no phase with the ended ramp\'s weights: the processes record it with the weights they serve', async () => {
  const path = join(dir, 'promote-after-ramp.db');
  const recorder = await shadowRunsThenRamp(path);
  const control = sqliteStore(path);
  try {
    await promoteTrackSet(control, 'deploy-shadow');
  } finally {
    await control.close();
  }
  const weightsOf = async () => (await reportOf(path)).trackSets[0]!.phases.map((p) => (p as unknown as { configuration: { weights: Record<string, number> } }).configuration.weights);
  // Nothing says 3 for 'new' after the promotion: the ramp ended with it.
  assert.deepEqual((await weightsOf()).at(-1), { old: 1, new: 3 }, 'the ramp phase is the latest until a process applies the promotion');
  await recorder.refreshControls();
  for (let i = 0; i < 200; i++) new CatalogShadow({ key: `user-${i}` }).run();
  await flush();
  await close();
  const phases = (await reportOf(path)).trackSets[0]!.phases;
  assert.deepEqual(phases.at(-1), { ...phases.at(-1)!, shadow: false, users: 200 });
  assert.deepEqual((await weightsOf()).at(-1), { old: 1, new: 1 }, 'the live phase has the weights served');
  assert.equal((await weightsOf()).filter((w) => w['new'] === 3).length, 1, 'only the ramp\'s own phase has its weights');
});

test('after a deploy ended shadow mode, then a stop: tracks resume says tracks are assigned again and records a live phase, tracks promote is refused', async () => {
  // Written as the processes would have, hours apart: a shadow phase and its runs, a deploy's
  // live phase with users, then a stop (a phase without users, the latest).
  const path = join(dir, 'ended-then-stop.db');
  const store = sqliteStore(path);
  const start = Date.UTC(2026, 5, 1);
  const hour = 3_600_000;
  const weights = { old: 1, new: 1 };
  const definition = (phase: string, at: number, stopped = false): RecordedEvent => ({ kind: 'definition', eventId: `def-${phase}`, trackSetId: 'ended-set', weights, coverage: 1, control: 'old', phase, sticky: false, stopped, at });
  await store.write([
    definition('shadow-1', start),
    {
      kind: 'shadow', eventId: 'runs-1', trackSetId: 'ended-set', track: 'new', minute: Math.floor((start + 60_000) / 60_000),
      matches: 40, mismatches: 0, ignored: 0, errors: 0, timeouts: 0, skippedConcurrency: 0, skippedGuardrail: 0,
      baselineHistogram: [], candidateHistogram: [], slowerHistogram: [], fasterHistogram: [],
    },
    definition('live-2', start + 2 * hour),
    ...Array.from({ length: 40 }, (_, i): RecordedEvent => ({ kind: 'exposure', eventId: `x${i}`, trackSetId: 'ended-set', track: i % 2 === 0 ? 'old' : 'new', unit: `u${i}`, at: start + 2 * hour + i, phase: 'live-2' })),
  ]);
  await store.close();
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const code = await runCli([...args, '--store', path], { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {} });
    return { code, text: out.join('\n') };
  };
  assert.equal((await cli('stop', 'ended-set')).code, 0);
  const control = sqliteStore(path);
  try {
    assert.equal(await inShadowMode(control, 'ended-set'), false, 'a stopped set a deploy made live is not in shadow mode');
  } finally {
    await control.close();
  }
  const resumed = await cli('resume', 'ended-set');
  assert.equal(resumed.code, 0, resumed.text);
  assert.match(resumed.text, /every process assigns tracks again/);
  const promoted = await cli('promote', 'ended-set');
  assert.equal(promoted.code, 2, promoted.text);
  assert.match(promoted.text, /is a live test already: a deploy ended its shadow mode/);
  const report = await reportOf(path);
  assert.equal(report.trackSets[0]!.shadow?.mode, 'ended');
});

test('shadowEndedByDeploy: a live phase within the last shadow minute, then a stop a minute on, is a live test stopped; shadow runs after a later empty phase are shadow mode again', () => {
  const minute = 29_000_000; // epoch minutes
  const at = (m: number, s = 0) => m * 60_000 + s * 1_000;
  const live = (startedAt: number) => ({ startedAt, tracks: [{ users: 40 }, { users: 38 }] });
  const empty = (startedAt: number) => ({ startedAt, tracks: [{ users: 0 }, { users: 0 }] });
  // Shadow, then a deploy 20 s into the last shadow minute, then a stop two minutes later.
  assert.equal(shadowEndedByDeploy([empty(at(minute - 5)), live(at(minute, 20))], minute), true);
  assert.equal(shadowEndedByDeploy([empty(at(minute - 5)), live(at(minute, 20)), empty(at(minute + 2))], minute), true);
  // Live first, then a shadow deploy whose runs go on: shadow mode now.
  assert.equal(shadowEndedByDeploy([live(at(minute - 60)), empty(at(minute - 5))], minute), false);
  // Shadow only (ramps during it): shadow mode.
  assert.equal(shadowEndedByDeploy([empty(at(minute - 5)), empty(at(minute - 2))], minute), false);
  // Shadow, a live deploy, then a rollback to the shadow deploy (its phase began again): shadow mode.
  const again = (startedAt: number, ...restarts: number[]) => ({ ...empty(startedAt), stretches: [{ from: startedAt }, ...restarts.map((from) => ({ from }))] });
  assert.equal(shadowEndedByDeploy([again(at(minute - 10), at(minute - 2)), live(at(minute - 5))], minute), false);
  // ...but a shadow phase back before the live deploy, or only after the shadow runs ended, is not.
  assert.equal(shadowEndedByDeploy([again(at(minute - 10), at(minute - 7)), live(at(minute - 5))], minute), true);
  assert.equal(shadowEndedByDeploy([again(at(minute - 10), at(minute + 3)), live(at(minute - 5))], minute), true);
  // Live, a shadow deploy, then a rollback to the live deploy (its phase began again): a live test.
  const liveAgain = (startedAt: number, ...restarts: number[]) => ({ ...live(startedAt), stretches: [{ from: startedAt }, ...restarts.map((from) => ({ from }))] });
  assert.equal(shadowEndedByDeploy([liveAgain(at(minute - 10), at(minute, 30)), empty(at(minute - 5))], minute), true);
  // A store from before phases had times: the phases listed after the live one decide.
  assert.equal(shadowEndedByDeploy([{ startedAt: null, tracks: [{ users: 4 }] }, empty(at(minute - 5))], minute), false);
  assert.equal(shadowEndedByDeploy([empty(at(minute - 5)), { startedAt: null, tracks: [{ users: 4 }] }], minute), true);
});

// A shadow audit: a deploy without static shadow, then a rollback to the shadow deploy: every
// process served in shadow mode again, and the phases said "1 again shadow", yet the report,
// the dashboard and tracks promote called the set a live test (its shadow phase is listed where
// it first began, before the live one), so the rewrite could not be promoted.
test('a rollback to the shadow deploy after a live one: the set is in shadow mode again, and tracks promote turns it into a live test', async () => {
  const path = join(dir, 'rollback-to-shadow.db');
  await deploy(path, (key) => new CatalogShadow({ key }).run(), false);
  await deploy(path, (key) => new CatalogLive({ key }).run(), false);
  await deploy(path, (key) => new CatalogShadow({ key: `back-${key}` }).run(), false);
  const before = await reportOf(path);
  assert.equal(before.trackSets[0]!.shadow?.mode, 'shadow', JSON.stringify(before.trackSets[0]!.phases));
  const out: string[] = [];
  const code = await runCli(['promote', 'deploy-shadow', '--store', path], { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {} });
  assert.equal(code, 0, out.join('\n'));
  assert.equal((await reportOf(path)).trackSets[0]!.shadow?.mode, 'promoted');
});
