// Issue 2's speed check: choosing a track for a key, beside the peers, in one run.
import { createHash } from 'node:crypto';
import { GrowthBook, GrowthBookClient } from '@growthbook/growthbook';
import PlanOut from 'planout';
import { MultiTrackSet, ParamTrackSet, TrackSet, murmur3 } from '../dist/index.js';
import { formatNs, measure, printTable, verdict } from './harness.js';

class DelayTracks extends TrackSet {
  static id = 'delay';
  static short_track(): void {}
  static long_track(): void {}
}

class PricingTracks extends ParamTrackSet {
  static id = 'pricing';
  static params = Array.from({ length: 11 }, (_, i) => ({ priceDelta: i - 5 }));
  static addControlTrack = false;
  static trackName({ priceDelta }: { priceDelta: number }): string {
    return `price_adjusted_by_${priceDelta}`;
  }
  static track(): void {}
}

class DelayExperiment extends PlanOut.Experiment<{ userId: string }, { variant: string }> {
  configureLogger(): void {}
  log(): void {}
  previouslyLogged(): boolean {
    return true;
  }
  setup(): void {
    this.setName('delay');
  }
  getParamNames(): string[] {
    return ['variant'];
  }
  assign(params: PlanOut.Assignment<{ variant: string }>, args: { userId: string }): void {
    params.set('variant', new PlanOut.Ops.Random.UniformChoice({ choices: ['control', 'short', 'long'], unit: args.userId }));
  }
}

const KEYS = Array.from({ length: 4096 }, (_, i) => `user-${100_000 + i * 7919}`);
const keyOf = (i: number): string => KEYS[i & 4095]!;
const VARIANTS = ['control', 'short', 'long'];
const experiment: { key: string; variations: [number, number, number] } = { key: 'delay', variations: [0, 1, 2] };
const client = new GrowthBookClient({});
await client.init({ payload: { features: {} } });

const results = [
  measure('bare murmur3 of the key (floor)', (i) => murmur3(keyOf(i))),
  measure('tracks: new DelayTracks({ key }).name', (i) => new DelayTracks({ key: keyOf(i) }).name),
  measure('tracks: 2-set MultiTrackSet name', (i) => new MultiTrackSet([DelayTracks, PricingTracks], { key: keyOf(i) }).name),
  measure('md5-mod (the original library)', (i) => VARIANTS[createHash('md5').update(keyOf(i)).digest().readUInt32BE(0) % 3]),
  measure('GrowthBookClient.runInlineExperiment', (i) => client.runInlineExperiment(experiment, { attributes: { id: keyOf(i) } }).value, { ops: 50_000 }),
  measure('GrowthBook per request (new + run)', (i) => {
    const gb = new GrowthBook({ attributes: { id: keyOf(i) } });
    const value = gb.run(experiment).value;
    gb.destroy();
    return value;
  }, { ops: 20_000 }),
  measure('planout UniformChoice', (i) => new DelayExperiment({ userId: keyOf(i) }).get('variant', 'control'), { ops: 20_000 }),
];

const byName = new Map(results.map((r) => [r.name, r.nsPerOp]));
const single = byName.get('tracks: new DelayTracks({ key }).name')!;
const multi = byName.get('tracks: 2-set MultiTrackSet name')!;
const floor = byName.get('bare murmur3 of the key (floor)')!;
const gb = byName.get('GrowthBook per request (new + run)')!;
const gbClient = byName.get('GrowthBookClient.runInlineExperiment')!;

printTable('Choosing a track for a key (median of 9 rounds)', [
  ['case', 'time per choice', 'vs tracks single'],
  ...results.map((r) => [r.name, formatNs(r.nsPerOp), `${(r.nsPerOp / single).toFixed(2)}x`]),
]);
console.log('');
console.log(verdict('single choice / GrowthBook per request', single / gb, 0.1, 'at most'));
console.log(verdict('single choice / GrowthBookClient', single / gbClient, 0.2, 'at most'));
console.log(verdict('single choice / bare hash', single / floor, 3, 'at most'));
console.log(verdict('2-set MultiTrackSet / GrowthBook per request', multi / gb, 0.2, 'at most'));

// A service has many track sets, and every subclass gives its runs their own shape: the choice
// must stay cheap when the base class's code sees dozens of them (measured last, since it
// leaves that code seeing them all).
for (let c = 0; c < 40; c++) {
  const Other = class extends TrackSet {
    static id = `bench-other-${c}`;
    static a_track(): void {}
    static b_track(): void {}
  };
  for (let i = 0; i < 2000; i++) void new Other({ key: keyOf(i) }).name;
}
const among = measure('tracks: new DelayTracks({ key }).name, 40 sets in use', (i) => new DelayTracks({ key: keyOf(i) }).name);
console.log(`${formatNs(among.nsPerOp)}  ${among.name}`);
console.log(verdict('single choice with 40 sets in use / alone', among.nsPerOp / single, 2, 'at most'));
