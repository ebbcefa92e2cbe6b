// A PostgreSQL store's description (messages, the report's `store`, tracks dashboard's address
// line) never holds a password, in any form pg would read one from; no server is needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError, postgresStore } from '../../src/index.js';

const described = (url: string): string => postgresStore(url).description;

test('the user part and the password parameters are masked, the rest of the URL kept', () => {
  for (const [url, expected] of [
    ['postgres://app:secret@db:5432/tracks', 'postgres://app:***@db:5432/tracks'],
    ['postgresql://app:secret@db/tracks', 'postgresql://app:***@db/tracks'],
    ['POSTGRES://app:secret@db/tracks', 'POSTGRES://app:***@db/tracks'],
    ['postgres://:secret@db/tracks', 'postgres://:***@db/tracks'],
    ['postgres://app:pa%40ss@db/tracks', 'postgres://app:***@db/tracks'],
    ['postgres://app:p@ss@db/tracks', 'postgres://app:***@db/tracks'],
    ['postgres://app@db/tracks', 'postgres://app@db/tracks'],
    // an @ after the host may end a password with a raw '/' (below): masked up to it
    ['postgres://app:secret@db/my@tracks', 'postgres://app:***@tracks'],
    ['postgres://:p@ss/w0rd@127.0.0.1:5432/test', 'postgres://:***@127.0.0.1:5432/test'],
    ['postgres://db/tracks?password=secret&sslmode=disable', 'postgres://db/tracks?password=***&sslmode=disable'],
    ['postgres://db/tracks?sslmode=require&sslpassword=secret', 'postgres://db/tracks?sslmode=require&sslpassword=***'],
    ['postgres://db/tracks?options=-c%20statement_timeout%3D5000', 'postgres://db/tracks?options=-c%20statement_timeout%3D5000'],
    ['postgres://app:secret@db/tracks?schema=exp', 'postgres://app:***@db/tracks?schema=exp'],
  ]) {
    assert.equal(described(url!), expected, url);
  }
});

test('an @ in the database or user name keeps the host, as pg (WHATWG URL) reads it', () => {
  for (const [url, expected] of [
    ['postgres://u@127.0.0.1:5432/my@db', 'postgres://u@127.0.0.1:5432/my@db'],
    ['postgres://u@127.0.0.1:5432/my%40db', 'postgres://u@127.0.0.1:5432/my%40db'],
    ['postgres://u%40corp@127.0.0.1:5432/my@db', 'postgres://u%40corp@127.0.0.1:5432/my@db'],
    ['postgres://u@corp@127.0.0.1:5432/my@db?sslmode=require', 'postgres://u@corp@127.0.0.1:5432/my@db?sslmode=require'],
    ['postgres://u@db.internal/my@db?password=secret', 'postgres://u@db.internal/my@db?password=***'],
    ['postgres://[::1]/my@db', 'postgres://[::1]/my@db'],
    ['postgres://u@[::1]:5432/my@db', 'postgres://u@[::1]:5432/my@db'],
  ]) {
    assert.equal(described(url!), expected, url);
    const { host, pathname } = new URL(url!);
    assert.ok(described(url!).includes(`@${host}${pathname}`) || described(url!).startsWith(`postgres://${host}${pathname}`), url);
  }
});

test('where a : could start a password cut short by a raw /, the user part ends at the last @ (the host may be lost, no password shown)', () => {
  for (const [url, hidden] of [
    ['postgres://app:secret@db/my@tracks', 'secret'],
    ['postgres://:p@ss/w0rd@127.0.0.1:5432/test', 'w0rd'],
    ['postgres://app:@db/pass@host/x', 'pass'],
    ['postgres://app:12/ss@host/x', '12/ss'],
  ]) {
    assert.doesNotMatch(described(url!), new RegExp(hidden!), url);
  }
});

test('a password parameter whose name is percent-encoded (pg decodes it) is masked', () => {
  for (const url of ['postgres://db/tracks?pass%77ord=secret', 'postgres://db/tracks?%73slpassword=secret', 'postgres://db/tracks?a=1&%70assword=secret']) {
    assert.doesNotMatch(described(url), /secret/, url);
  }
});

test('a URL that does not parse (a raw ? or # in the password) is masked up to its last @, not printed as given', () => {
  for (const url of ['postgres://app:se?cret@db/tracks', 'postgres://app:sec#ret@db/tracks', 'postgres://app:sec/ret@db/tracks', 'postgres://app:secret@/tracks?host=/var/run/postgresql']) {
    const description = described(url);
    assert.doesNotMatch(description, /secret|cret|ret@/, url);
    assert.match(description, /^postgres:\/\/app:\*\*\*@/, url);
  }
});

test('a URL naming ?schema= twice is a TracksError, not the first one taken in silence; an empty one too', () => {
  assert.throws(
    () => postgresStore('postgres://db/tracks?schema=a&schema=b'),
    (e: unknown) => e instanceof TracksError && e.message === 'postgresStore: the URL names ?schema= 2 times ("a", "b"); name one schema',
  );
  assert.throws(() => postgresStore('postgres://db/tracks?schema='), (e: unknown) => e instanceof TracksError && /empty \?schema=/.test(e.message));
  for (const url of ['postgres://db/tracks?SCHEMA=a', 'postgres://db/tracks?schema=a&Schema=b']) {
    assert.throws(() => postgresStore(url), (e: unknown) => e instanceof TracksError && /the URL has \?(SCHEMA|Schema)=; write it \?schema= \(lower case\)/.test(e.message), url);
  }
  assert.equal(postgresStore('postgres://db/tracks?schema=a').description, 'postgres://db/tracks?schema=a');
});
