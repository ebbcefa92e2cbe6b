/**
 * Issue 2, point 5: assignment is the same in every process. A separate Node process (fresh
 * V8 heap, its own module instances) assigns 1,000 keys; its answers must equal ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assignments } from './print-assignments.js';

test('two separate processes assign 1,000 keys identically', () => {
  const script = fileURLToPath(new URL('./print-assignments.ts', import.meta.url));
  const runs = [1, 2].map(() => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    assert.equal(child.status, 0, child.stderr);
    return JSON.parse(child.stdout) as string[];
  });
  const here = assignments();
  assert.equal(here.length, 1_000);
  assert.deepEqual(runs[0], here);
  assert.deepEqual(runs[1], here);
  // and the answers are not degenerate
  assert.equal(new Set(here.map((a) => a.split('/')[0])).size, 3);
  assert.equal(new Set(here.map((a) => a.split('/')[2])).size, 3);
});
