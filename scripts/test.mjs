// Runs every test file under test/ (TypeScript or JavaScript) with Node's built-in runner.
// A script rather than a shell glob so that nested folders and both languages are found
// the same way on every shell.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const pattern = /\.test\.(ts|mts|js|mjs)$/;
function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : find(path);
    return pattern.test(entry.name) ? [path] : [];
  });
}

// Files that restart a service the others use (the local PostgreSQL cluster) run alone, after
// the rest: run beside them, a restart failed whichever file was connected at that moment.
const ALONE = new Set(['test/stores/postgres-store.test.ts']);

const files = find('test').sort();
if (files.length === 0) {
  console.error('no test files found under test/');
  process.exit(1);
}
const extra = process.argv.slice(2);
const run = (batch, concurrency) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...extra, ...batch], { stdio: 'inherit' }).status ?? 1;
const together = run(files.filter((file) => !ALONE.has(file.split('\\').join('/'))), 2);
const alone = files.filter((file) => ALONE.has(file.split('\\').join('/')));
const last = alone.length > 0 ? run(alone, 1) : 0;
process.exit(together !== 0 ? together : last);
