// Issues 10 and 13: typing promises, checked by `npm run typecheck` (this
// file is in tsconfig.json's include): each `@ts-expect-error` must be an error, or tsc fails.
// The runtime half checks the same declarations are refused at run time too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, TracksError, configure, rampTrackSet, promoteTrackSet, stopTrackSet, memoryStore } from '../../src/index.js';
import type { ControlChange, MetricDeclarations, Ramp, RecordingOptions, ShadowOptions } from '../../src/index.js';

// metric declarations: the contract's five kinds type-check as the issue writes them
const declared = {
  purchase: { kind: 'conversion' },
  revenue: { kind: 'sum' },
  latency_ms: { kind: 'mean', higherIsBetter: false },
  orders_per_visit: { kind: 'ratio', numerator: 'order', denominator: 'visit' },
  refunds: { kind: 'conversion', guardrail: true },
  visits: { kind: 'count' },
} satisfies MetricDeclarations;
const ok: RecordingOptions = { store: memoryStore(), metrics: declared };

// @ts-expect-error: not a metric kind
const badKind: MetricDeclarations = { purchase: { kind: 'binomial' } };
// @ts-expect-error: a ratio names its numerator and denominator
const noParts: MetricDeclarations = { r: { kind: 'ratio' } };
// @ts-expect-error: higherIsBetter is a boolean
const badDirection: MetricDeclarations = { m: { kind: 'mean', higherIsBetter: 'no' } };

// shadow options: the contract's names, typed by the result
type Product = { sku: string };
const shadow: ShadowOptions<Product[]> = {
  sample: 0.05,
  timeout: 200,
  compare: (a, b) => a.length === b.length && a.every((p, i) => p.sku === b[i]!.sku),
  ignore: (a, b) => a.length === 0 && b.length === 0,
  clean: (v) => v.map((p) => p.sku),
  maxConcurrent: 4,
};
// @ts-expect-error: a misspelt option
const typo: ShadowOptions = { sampel: 0.05 };
// @ts-expect-error: timeout in milliseconds, a number
const badTimeout: ShadowOptions = { timeout: '200ms' };
// @ts-expect-error: compare receives results of the declared type
const badCompare: ShadowOptions<Product[]> = { compare: (a: string, b: string) => a === b };

// control functions: typed ramps and results
const ramp: Ramp = { coverage: 0.1, weights: { short: 1, long: 3 } };
// @ts-expect-error: coverage is a number
const badRamp: Ramp = { coverage: '10%' };
async function controls(): Promise<boolean> {
  const store = memoryStore();
  const a: ControlChange = await rampTrackSet(store, 'x', ramp, { force: true });
  const b: ControlChange = await stopTrackSet(store, 'x', 'short', { force: true });
  const c: ControlChange = await promoteTrackSet(store, 'x', { force: true });
  return a.changed && b.changed && c.changed;
}

void [ok, badKind, noParts, badDirection, shadow, typo, badTimeout, badCompare, badRamp, controls];

test('the declarations refused by the types are refused at run time too, by a TracksError naming the fault', () => {
  assert.throws(() => configure({ store: memoryStore(), metrics: { purchase: { kind: 'binomial' } } as never }), (e: unknown) => e instanceof TracksError && /purchase/.test(e.message) && /'conversion'/.test(e.message));
  assert.throws(() => configure({ store: memoryStore(), metrics: { r: { kind: 'ratio' } } as never }), (e: unknown) => e instanceof TracksError && /numerator|denominator/.test(e.message));
  class Typo extends TrackSet {
    static override id = 'g10-shadow-typo';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow = { sampel: 0.05 } as ShadowOptions;
    static old_track() {
      return 1;
    }
    static new_track() {
      return 2;
    }
  }
  assert.throws(() => new Typo({ key: 'k' }).name, (e: unknown) => e instanceof TracksError && /Typo/.test(e.message) && /sampel/.test(e.message));
  class NoBaseline extends TrackSet {
    static override id = 'g10-shadow-nobase';
    static override shadow: ShadowOptions = { sample: 1 };
    static old_track() {
      return 1;
    }
  }
  // with an added control track, the control is the baseline: allowed or refused, it must not throw anything but TracksError
  try {
    void new NoBaseline({ key: 'k' }).name;
  } catch (e) {
    assert.ok(e instanceof TracksError, String(e));
  }
  for (const [option, value] of [['sample', 1.5], ['sample', -0.1], ['timeout', 0], ['timeout', Number.NaN], ['maxConcurrent', 0], ['maxConcurrent', 1.5]] as const) {
    class Bad extends TrackSet {
      static override id = `g10-shadow-bad-${option}-${value}`;
      static override addControlTrack = false;
      static override control = 'old';
      static override shadow = { [option]: value } as ShadowOptions;
      static old_track() {
        return 1;
      }
      static new_track() {
        return 2;
      }
    }
    assert.throws(() => new Bad({ key: 'k' }).name, (e: unknown) => e instanceof TracksError && e.message.includes('Bad') && e.message.includes(option), `${option}: ${value}`);
  }
});
