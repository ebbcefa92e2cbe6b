import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, TracksError, close, configure, flush, memoryStore } from '../../src/index.js';
import type { GuardrailEvent, Recorder } from '../../src/index.js';

class StickyTracks extends TrackSet {
  static override id = 'ctl-sticky';
  static override sticky = true;
  static override weights = { control: 0, a: 1, b: 0 };
  static a_track() {}
  static b_track() {}
}

class PlainTracks extends TrackSet {
  static override id = 'ctl-plain';
  static fast_track() {}
  static slow_track() {}
}

class GuardedTracks extends TrackSet {
  static override id = 'ctl-guarded';
  static override weights = { control: 1, risky: 1 };
  static risky_track() {
    throw new Error('risky failed');
  }
}

class NamedBaseline extends TrackSet {
  static override id = 'ctl-named-baseline';
  static override addControlTrack = false;
  static override control = 'old';
  static old_track() {}
  static bad_track() {
    throw new Error('the rewrite fails');
  }
}

test('a guardrail judges tracks against the set\'s own baseline when it is not named control', async () => {
  const store = memoryStore();
  const trips: Array<Omit<GuardrailEvent, 'kind' | 'eventId'>> = [];
  configure({ store, guardrails: { minRuns: 20 }, onGuardrail: (t) => trips.push(t) });
  for (let i = 0; i < 200; i++) {
    try {
      new NamedBaseline({ key: `n-${i}` }).run();
    } catch {
      // the bad track throws to the caller
    }
  }
  await flush();
  assert.equal(trips.length, 1, 'the failing track trips');
  assert.equal(trips[0]!.track, 'bad');
  assert.match(trips[0]!.cause, /error rate 100\.0% vs old 0\.0%/);
  const served = new Set(Array.from({ length: 50 }, (_, i) => new NamedBaseline({ key: `n-${i}` }).name));
  assert.deepEqual([...served], ['old'], 'every key gets the baseline');
  await close();
});

test('static sticky: a key keeps the track the store first recorded, once the background lookup answers', async () => {
  const store = memoryStore();
  // An earlier version of the set gave 'kept-user' track b.
  await store.write([{ kind: 'exposure', eventId: 'old-1', trackSetId: 'ctl-sticky', track: 'b', unit: 'kept-user', at: Date.now() - 1000 }]);
  configure({ store });
  // Every store answers in the background (SQLite on its worker thread, PostgreSQL over the
  // network): until it does, a key new to this process gets its current assignment.
  assert.equal(new StickyTracks({ key: 'kept-user' }).name, 'a', 'before the store answers, the current assignment');
  assert.equal(new StickyTracks({ key: 'new-user' }).name, 'a');
  await flush(); // flush waits for the lookups asked for so far
  assert.equal(new StickyTracks({ key: 'kept-user' }).name, 'b', "the store's first track wins over this process's guess");
  assert.equal(new StickyTracks({ key: 'new-user' }).name, 'a');
  const stored = await store.readAssignments('ctl-sticky', ['kept-user', 'new-user']);
  assert.deepEqual([stored.get('kept-user'), stored.get('new-user')], ['b', 'a'], 'the store keeps the first track recorded');
  const [sums] = await store.summarize({ trackSetId: 'ctl-sticky' });
  assert.equal(sums!.tracks.find((t) => t.track === 'b')?.users, 1, 'analysis counts the user where they are served from now on');
  assert.throws(() => {
    class BadSticky extends TrackSet {
      static override id = 'ctl-bad-sticky';
      static override sticky = 'yes' as unknown as boolean;
      static a_track() {}
    }
    return new BadSticky().name;
  }, TracksError);
  await close();
});

test('a stopped set serves the chosen track to everyone with reason stopped and records no exposure; resume restores', async () => {
  const store = memoryStore();
  const recorder = configure({ store }) as Recorder;
  await store.writeControl({ trackSetId: 'ctl-plain', stopped: true, serve: 'slow', at: Date.now() });
  await recorder.refreshControls();
  for (let i = 0; i < 50; i++) {
    const run = new PlainTracks({ key: `stop-${i}` });
    assert.equal(run.name, 'slow');
    assert.equal(run.reason, 'stopped');
    assert.equal(run.inTest, false);
  }
  await flush();
  assert.equal(store.events.filter((e) => e.kind === 'exposure').length, 0);
  await store.writeControl({ trackSetId: 'ctl-plain', stopped: false, serve: null, at: Date.now() });
  await recorder.refreshControls();
  const names = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const run = new PlainTracks({ key: `stop-${i}` });
    assert.equal(run.reason, 'assigned');
    names.add(run.name);
  }
  assert.ok(names.size > 1);
  await flush();
  assert.equal(store.events.filter((e) => e.kind === 'exposure').length, 50);
  await close();
});

test('stop is picked up by the timer within the control interval', async () => {
  const store = memoryStore();
  configure({ store, controlInterval: 20 });
  await store.writeControl({ trackSetId: 'ctl-plain', stopped: true, serve: 'control', at: Date.now() });
  let run = new PlainTracks({ key: 'timer' });
  for (let i = 0; i < 200 && run.reason !== 'stopped'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    run = new PlainTracks({ key: 'timer' });
  }
  assert.equal(run.reason, 'stopped');
  assert.equal(run.name, 'control');
  await close();
});

test('a guardrail switches a failing track off in this process: its keys get control, reason guardrail, recorded', async () => {
  const store = memoryStore();
  const trips: Array<Omit<GuardrailEvent, 'kind' | 'eventId'>> = [];
  configure({ store, guardrails: { minRuns: 30, maxErrorRateIncrease: 0.1 }, onGuardrail: (t) => trips.push(t) });
  const riskyKeys: string[] = [];
  for (let i = 0; i < 400; i++) {
    const run = new GuardedTracks({ key: `g-${i}` });
    if (run.name === 'risky') riskyKeys.push(`g-${i}`);
    try {
      run.run();
    } catch {
      // the risky track throws to the caller, as tracks always do
    }
  }
  await flush();
  assert.equal(trips.length, 1);
  assert.equal(trips[0]!.track, 'risky');
  assert.match(trips[0]!.cause, /error rate 100\.0% vs control 0\.0%/);
  const after = new GuardedTracks({ key: riskyKeys[0] });
  assert.equal(after.name, 'control');
  assert.equal(after.reason, 'guardrail');
  assert.equal(after.inTest, false);
  await flush();
  const [sums] = await store.summarize({ trackSetId: 'ctl-guarded' });
  assert.equal(sums!.guardrails.length, 1);
  assert.equal(sums!.guardrails[0]!.track, 'risky');
  await close();
});
