// Which transient failures may be about one event (model/store-error.ts isRefusal): recording
// narrows those down when they repeat; the others (connection, timeout, lock, shutdown) wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreError, isRefusal } from '../../src/model/store-error.js';

const failure = (code: string | undefined, transient = true) => new StoreError(`failed (${code})`, { transient, ...(code === undefined ? {} : { code }) });

test('an answer of no kind that waiting fixes is a refusal: an internal error, a privilege, a SQLite error, a pipeline error', () => {
  for (const code of ['XX000', '42501', '0A000', 'F0000', 'SQLITE_ERROR', 'SQLITE_MISUSE', 'HV000']) assert.equal(isRefusal(failure(code)), true, code);
  assert.equal(isRefusal(new Error('the pipeline refuses this batch')), true, "a callback store's own error");
  assert.equal(isRefusal(Object.assign(new Error('quota'), { code: 'QUOTA_EXCEEDED' })), true);
});

test('what waiting fixes is never a refusal: connections, timeouts, locks, deadlocks, shutdowns, failovers, resources, missing tables', () => {
  const waits = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ERR_STREAM_DESTROYED', 'TRACKS_TIMEOUT', 'TRACKS_CLOSED', 'TRACKS_FILE_REPLACED',
    'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_IOERR_WRITE', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY',
    '08006', '08P01', '25006', '40001', '40P01', '53300', '57014', '57P01', '57P03', '58030', '55P03', '42P01', '3F000'];
  for (const code of waits) assert.equal(isRefusal(failure(code)), false, code);
  assert.equal(isRefusal(failure(undefined)), false, "a store's error without a code lost its connection");
  assert.equal(isRefusal(failure('XX000', false)), false, 'a permanent failure is narrowed down at once, not as a refusal');
  assert.equal(isRefusal(Object.assign(new Error('gone'), { transient: false })), false);
});
