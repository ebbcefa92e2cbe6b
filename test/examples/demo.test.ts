// `npm run demo` tells the same story every run: it declares its metrics and the pricing
// baseline in code, ramps the delay test and changes a weight mid-run, and its report shows
// the phases and finds exactly the true effects. Run twice, from source (the package is built
// by `npm test` first), in a folder of its own; the two outputs must be identical.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The demo runs in a folder of its own, so tsx is named by its path here.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'tracks-demo-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

function runDemo(): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', TSX, join(ROOT, 'examples/coconut-store.ts')], {
    cwd: dir,
    env: { ...process.env, DEMO_USERS: '60000' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('the demo ramps mid-run, shows the phases, finds exactly the true effects, and prints the same figures every run', () => {
  const first = runDemo();
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /after 20,000 users: tracks ramp delay --coverage 1/);
  assert.match(first.stdout, /after 40,000 users: tracks ramp delay --weights long=0\.5/);
  assert.match(first.stdout, /delay {2}\[running\] {2}[\d,]+ users, baseline control, 3 phases combined/);
  assert.match(first.stdout, /pricing {2}\[running\] {2}[\d,]+ users, baseline price_adjusted_by_0/);
  assert.match(first.stdout, /Check passed: across 3 phases of the delay test, the report found the true effects/);
  assert.doesNotMatch(first.stdout, /type inferred/, 'every metric is declared');
  assert.match(first.stdout, /stock-query {2}\[shadow\] {2}0 users, baseline current/);
  assert.match(first.stdout, /rewrite +[\d,]+ +3\.\d\d% \(/, 'the shadowed rewrite disagrees on about 1 answer in 30');
  const second = runDemo();
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, first.stdout, 'seeded: the same figures every run');
});
