import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('the built package serves its own bundled copy of Chart.js (no network, no chart.js needed at run time)', async () => {
  const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
  const { chartJsPath } = (await import(new URL('../../dist/dashboard/assets.js', import.meta.url).href)) as { chartJsPath: () => string };
  const path = chartJsPath();
  assert.ok(path.startsWith(dist), `served from dist/: ${path}`);
  assert.ok(existsSync(path));
});
