// better-sqlite3 is an optional peer dependency: without it, the SQLite store and the outbox
// say so when they are made (configure() or sqliteStore()), with the fix, instead of failing
// on a worker thread at the first write.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/index.js';
import { assertSqliteDriver, nativeModuleHint, sqliteDriverProblem } from '../../src/stores/sqlite-driver.js';

const missing = (id: string): string => {
  throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
};

test('installed here, the driver resolves', () => {
  assert.equal(sqliteDriverProblem(), undefined);
  assert.doesNotThrow(() => assertSqliteDriver('the SQLite store tracks.db', 'or use another store'));
});

test('not installed, the SQLite store and the outbox throw a TracksError naming themselves and the fix', () => {
  assert.match(sqliteDriverProblem(missing)!, /^better-sqlite3 is not installed; npm install better-sqlite3 \(npm 11\.16 or later: also npm install-scripts approve better-sqlite3/);
  assert.throws(
    () => assertSqliteDriver('the outbox /srv/tracks.outbox', 'or configure({ outbox: false })', missing),
    (e: unknown) =>
      e instanceof TracksError &&
      /^the outbox \/srv\/tracks\.outbox needs the SQLite driver, and better-sqlite3 is not installed; npm install better-sqlite3 .*; or configure\(\{ outbox: false \}\)$/.test(e.message),
  );
});

test('a driver whose native module did not build gets a hint; other open errors do not', () => {
  const unbuilt = new Error('Could not locate the bindings file. Tried: → build/better_sqlite3.node');
  assert.match(nativeModuleHint(unbuilt), /native module did not load: its install script must run for this Node version; npm install better-sqlite3 .*npm rebuild better-sqlite3\)$/);
  assert.match(nativeModuleHint(new Error('The module was compiled against a different Node.js version using NODE_MODULE_VERSION 115')), /native module did not load/);
  assert.equal(nativeModuleHint(new Error('SQLITE_CANTOPEN: unable to open database file')), '');
});
