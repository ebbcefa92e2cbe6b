// `tracks simulate --weights` reads weights as `tracks ramp --weights` does (one parser) and
// refuses what a ramp refuses: a weight of 0 for the baseline of a set that is not sticky.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, TracksError, simulateSplit } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-sim-weights-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const index = new URL('../../src/index.ts', import.meta.url).href;
const module = join(dir, 'sets.mjs');
writeFileSync(
  module,
  `import { TrackSet } from '${index}';
export class Plain extends TrackSet {
  static id = 'plain';
  static short_track() {}
}
export class Sticky extends TrackSet {
  static id = 'sticky';
  static sticky = true;
  static short_track() {}
}
`,
);

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('simulate refuses a zero weight for the baseline of a set that is not sticky, as ramp does', async () => {
  const refused = await cli('simulate', module, '--trackset', 'plain', '--count', '1000', '--weights', 'control=0');
  assert.equal(refused.code, 2, refused.err);
  assert.match(refused.err, /^tracks simulate: the weight of 'control' would be 0, but it is the baseline of 'plain'.*tracks stop plain --serve <track>/);
  assert.equal(refused.err.split('\n').length, 1);

  // A sticky set keeps its baseline users, so ramp allows it, and simulate shows it.
  const sticky = await cli('simulate', module, '--trackset', 'sticky', '--count', '1000', '--weights', 'control=0', '--json');
  assert.equal(sticky.code, 0, sticky.err);
  const [sim] = JSON.parse(sticky.out) as { change: { split: { track: string; keys: number }[] } }[];
  assert.equal(sim!.change.split.find((r) => r.track === 'control')!.keys, 0);

  // Another track may go to 0, as in a ramp.
  assert.equal((await cli('simulate', module, '--trackset', 'plain', '--count', '1000', '--weights', 'short=0')).code, 0);
});

test('simulate refuses removing the baseline of a set that is not sticky, as it refuses its weight of 0', async () => {
  const refused = await cli('simulate', module, '--trackset', 'plain', '--count', '1000', '--remove-track', 'control');
  assert.equal(refused.code, 2, refused.err);
  assert.match(refused.err, /^tracks simulate: cannot remove 'control': it is the baseline of 'plain'.*static control = '<track>'.*--weights/);
  const sticky = await cli('simulate', module, '--trackset', 'sticky', '--count', '1000', '--remove-track', 'control', '--json');
  assert.equal(sticky.code, 0, sticky.err);
  assert.equal((await cli('simulate', module, '--trackset', 'plain', '--count', '1000', '--remove-track', 'short')).code, 0);
});

test('simulateSplit applies the same rule from code', () => {
  class Delay extends TrackSet {
    static override id = 'sim-weights-delay';
    static short_track() {}
  }
  assert.throws(() => simulateSplit(Delay, ['a', 'b'], { weights: { control: 0 } }), (e: unknown) => e instanceof TracksError && /the weight of 'control' would be 0/.test(e.message));
});

test("simulate's weights read as ramp's: the same messages for the same mistakes", async () => {
  for (const [weights, message] of [
    ['short=-1', /--weights has 'short=-1': a weight cannot be negative; give 0 to send a track no one, e.g. --weights short=0/],
    ['short=2000000', /--weights has 'short=2000000'; give a number from 0 to 1,000,000 \(weights are relative\)/],
    ['short=1,short=2', /--weights names 'short' twice/],
    ['short', /--weights has 'short'; give track=weight pairs separated by commas/],
  ] as const) {
    const simulated = await cli('simulate', module, '--trackset', 'plain', '--weights', weights);
    const ramped = await cli('ramp', 'plain', '--store', join(dir, 'missing.db'), '--weights', weights);
    assert.equal(simulated.code, 2, simulated.err);
    assert.equal(ramped.code, 2, ramped.err);
    assert.match(simulated.err, message);
    assert.equal(simulated.err.replace(/^tracks simulate: /, ''), ramped.err.replace(/^tracks ramp: /, ''));
  }
});

test('simulate escapes names it echoes: a proposed track with a control character cannot steer the terminal', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const module = join(dir, 'escape-sets.mjs');
  writeFileSync(module, `import { TrackSet } from '${new URL('../../src/index.ts', import.meta.url).href}';\nexport class E extends TrackSet {\n  static id = 'escape';\n  static short_track() {}\n}\n`);
  const code = await runCli(['simulate', module, '--count', '1000', '--add-track', 'x\u001b[31m'], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  assert.equal(code, 0, err.join('\n'));
  assert.doesNotMatch(out.join('\n'), /\u001b/);
  assert.match(out.join('\n'), /x\\x1b\[31m/);
  const bad = await runCli(['simulate', module, '--weights', 'short\u001b[2J=-1'], { stdout: () => {}, stderr: (t) => err.push(t), env: {} });
  assert.equal(bad, 2);
  assert.doesNotMatch(err.join('\n'), /\u001b/);
});
