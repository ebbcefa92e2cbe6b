import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

test('the core imports nothing but itself, errors, text and Node built-ins', () => {
  const dir = new URL('../../src/core/', import.meta.url);
  for (const file of readdirSync(dir)) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    for (const [, from] of source.matchAll(/^import [^;]*? from '([^']+)';/gm)) {
      assert.ok(from!.startsWith('./') || from!.startsWith('../errors') || from === '../text.js' || from!.startsWith('node:'), `src/core/${file} imports ${from}`);
    }
  }
});

test("importing 'tracks' loads no third-party package until a store or a statistic is used", () => {
  const script = `
    import { createRequire } from 'node:module';
    const { TrackSet } = await import('tracks');
    class DelayTracks extends TrackSet { static id = 'no-deps'; static long_track() {} }
    new DelayTracks({ key: 'user-1' }).run();
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('node_modules'));
    console.log(JSON.stringify(loaded));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), []);
});
