// ErrorReporter: a storm of one kind of failure reaches onError as a burst and a summary,
// and the failures held back are counted without being built.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorReporter } from '../../src/recording/error-reporter.js';

test('a storm of drops passes the first hundred on and builds no error for the rest', () => {
  const passed: Error[] = [];
  const reporter = new ErrorReporter((error) => passed.push(error));
  let built = 0;
  for (let i = 0; i < 10_000; i++) {
    reporter.reportMade('dropped', () => {
      built++;
      return new Error(`drop ${i}`);
    });
  }
  assert.equal(passed.length, 100);
  assert.equal(built, 100, 'held-back failures must not pay for an Error each');
  assert.equal(passed[99]!.message, 'drop 99');
  reporter.flushSuppressed();
  assert.equal(passed.length, 101);
  assert.match(passed[100]!.message, /9900 more dropped failures/);
});

test('report() wraps what is not an Error, and kinds have their own allowance', () => {
  const passed: Error[] = [];
  const reporter = new ErrorReporter((error) => passed.push(error));
  for (let i = 0; i < 150; i++) reporter.report('write', 'down');
  reporter.report('rejected', new RangeError('bad'));
  assert.equal(passed.length, 101);
  assert.equal(passed[0]!.message, 'down');
  assert.ok(passed[100] instanceof RangeError);
});

test('without onError, one line per kind reaches stderr and the message is built once', (t) => {
  const lines: string[] = [];
  t.mock.method(console, 'error', (line: string) => lines.push(line));
  const reporter = new ErrorReporter(undefined);
  let built = 0;
  for (let i = 0; i < 1_000; i++) {
    reporter.reportMade('dropped', () => {
      built++;
      return new Error('tracks: 1 event dropped');
    });
  }
  assert.equal(lines.length, 1);
  assert.equal(built, 1);
  assert.match(lines[0]!, /^tracks: 1 event dropped \(tracks does not throw/);
});

test('without onError, one failure seen under several kinds (a store that cannot open) is one line on stderr', (t) => {
  const lines: string[] = [];
  t.mock.method(console, 'error', (line: string) => lines.push(line));
  const reporter = new ErrorReporter(undefined);
  const cannotOpen = () => new Error('tracks: cannot open the SQLite store /gone/tracks.db');
  for (const kind of ['write', 'controls', 'sticky'] as const) for (let i = 0; i < 10; i++) reporter.reportMade(kind, cannotOpen);
  reporter.report('outbox', new Error('tracks: cannot open the outbox /gone/tracks.db.outbox'));
  assert.deepEqual(
    lines.map((line) => line.replace(/ \(tracks does not throw.*$/, '')),
    ['tracks: cannot open the SQLite store /gone/tracks.db', 'tracks: cannot open the outbox /gone/tracks.db.outbox'],
  );
  // A duplicate holds its kind back for a second: a storm builds no message meanwhile...
  const built = { n: 0 };
  for (let i = 0; i < 100; i++) reporter.reportMade('controls', () => (built.n++, cannotOpen()));
  assert.equal(built.n, 0);
});

test('without onError, a kind whose message was a duplicate still logs a different failure of its own', (t) => {
  const lines: string[] = [];
  t.mock.method(console, 'error', (line: string) => lines.push(line));
  let now = 1_000_000;
  t.mock.method(performance, 'now', () => now);
  const reporter = new ErrorReporter(undefined);
  reporter.report('write', new Error('tracks: cannot open the store'));
  reporter.report('controls', new Error('tracks: cannot open the store'));
  now += 1_500;
  reporter.report('controls', new Error('tracks: the control state is corrupt'));
  assert.deepEqual(
    lines.map((line) => line.replace(/ \(tracks does not throw.*$/, '')),
    ['tracks: cannot open the store', 'tracks: the control state is corrupt (and 1 more controls failures since the last message)'],
  );
});

test('an async onError that rejects is not an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const reporter = new ErrorReporter(async () => {
      throw new Error('the hook failed');
    });
    reporter.report('rejected', new Error('bad event'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
