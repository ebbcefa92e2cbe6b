// Run from the TypeScript sources (this repository's tests), the SQLite worker starts on the
// build in dist/ only when no source changed since that build; otherwise it compiles the sources.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { builtAfterSources } from '../../src/stores/worker-client.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-worker-build-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

/** A tree of sources (one in a subfolder) and a build, with the times given in seconds. */
function tree(name: string, times: { sources: number; built: number }): { sources: string; built: string } {
  const sources = join(dir, name, 'src');
  mkdirSync(join(sources, 'stores'), { recursive: true });
  const files = [join(sources, 'index.ts'), join(sources, 'stores', 'worker-thread.ts')];
  for (const file of files) writeFileSync(file, '');
  const built = join(dir, name, 'worker-thread.js');
  writeFileSync(built, '');
  for (const path of [...files, join(sources, 'stores'), sources]) utimesSync(path, times.sources, times.sources);
  utimesSync(built, times.built, times.built);
  return { sources, built };
}

test('the build is used when it is newer than every source file and folder', () => {
  const { sources, built } = tree('fresh', { sources: 1_000, built: 2_000 });
  assert.equal(builtAfterSources(built, sources), true);
});

test('a source edited, added or removed after the build, or no build at all, means the sources run', () => {
  const edited = tree('edited', { sources: 1_000, built: 2_000 });
  utimesSync(join(edited.sources, 'stores', 'worker-thread.ts'), 3_000, 3_000);
  assert.equal(builtAfterSources(edited.built, edited.sources), false, 'a file edited since the build');

  const added = tree('added', { sources: 1_000, built: 2_000 });
  writeFileSync(join(added.sources, 'stores', 'new-part.ts'), ''); // now: newer than the build, as is its folder
  assert.equal(builtAfterSources(added.built, added.sources), false, 'a file added since the build');

  const removed = tree('removed', { sources: 1_000, built: 2_000 });
  rmSync(join(removed.sources, 'index.ts'));
  assert.equal(builtAfterSources(removed.built, removed.sources), false, 'a file removed since the build');

  const none = tree('none', { sources: 1_000, built: 2_000 });
  assert.equal(builtAfterSources(join(dir, 'none', 'missing.js'), none.sources), false, 'no build');
});
