// The control poller's kill switch: a stop read together with a sticky set's ramp takes effect
// at once, while the ramp waits for the sticky assignments to load (which can take up to the
// write deadline on a slow store).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ControlState } from '../../src/model/events.js';
import type { Store } from '../../src/model/store.js';
import { ControlPoller } from '../../src/recording/control-poller.js';
import { ErrorReporter } from '../../src/recording/error-reporter.js';

/** A store that answers control reads with whatever the test put in `states`. */
function controlStore(): { store: Store; states: ControlState[] } {
  const states: ControlState[] = [];
  const store = { description: 'a test store', readControls: async () => states } as unknown as Store;
  return { store, states };
}

test('a stop read with a sticky ramp stops its set at once; the ramp applies after the reload', async () => {
  const { store, states } = controlStore();
  let release!: () => void;
  const reloaded = new Promise<void>((resolve) => (release = resolve));
  const reloadsAsked: string[][] = [];
  let changes = 0;
  const poller = new ControlPoller(
    store,
    new ErrorReporter(() => {}),
    { controlInterval: 600_000, writeTimeout: 5_000 },
    () => changes++,
    (ids) => {
      reloadsAsked.push([...ids]);
      return reloaded;
    },
  );
  try {
    await poller.ready();
    states.push(
      { trackSetId: 'sticky-pricing', stopped: false, serve: null, weights: { control: 1, b: 3 }, epoch: 1, at: 1_000 },
      { trackSetId: 'delay', stopped: true, serve: null, epoch: 1, at: 1_000 },
    );
    const reading = poller.refresh();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(reloadsAsked, [['sticky-pricing']]);
    assert.equal(poller.serving('delay'), null, 'the stop took effect before the reload answered');
    assert.equal(poller.live('sticky-pricing'), undefined, 'the ramp waits for the reload');
    assert.equal(changes, 1, 'the stop was announced (its phase starts now)');
    release();
    await reading;
    assert.deepEqual(poller.live('sticky-pricing')?.overrides.weights, new Map([['control', 1], ['b', 3]]));
    assert.equal(poller.serving('delay'), null);
    assert.equal(changes, 2);
  } finally {
    poller.stop();
  }
});

test('a resume waiting for the reload keeps its set stopped until then', async () => {
  const { store, states } = controlStore();
  states.push({ trackSetId: 'sticky-pricing', stopped: true, serve: 'control', epoch: 1, at: 1_000 });
  let release!: () => void;
  const reloaded = new Promise<void>((resolve) => (release = resolve));
  const poller = new ControlPoller(store, new ErrorReporter(() => {}), { controlInterval: 600_000, writeTimeout: 5_000 }, undefined, () => reloaded);
  try {
    await poller.ready();
    assert.equal(poller.serving('sticky-pricing'), 'control');
    states[0] = { trackSetId: 'sticky-pricing', stopped: false, serve: null, epoch: 2, at: 2_000 };
    const reading = poller.refresh();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(poller.serving('sticky-pricing'), 'control', 'still stopped while the reload runs');
    release();
    await reading;
    assert.equal(poller.serving('sticky-pricing'), undefined);
  } finally {
    poller.stop();
  }
});
