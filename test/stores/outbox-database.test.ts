// The outbox file gives its disk back once drained: after an outage it would otherwise stay as
// large as its peak for good. Real SQLite files.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { ExposureEvent } from '../../src/index.js';
import { OutboxDatabase } from '../../src/stores/outbox-database.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-database-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const later = () => Date.now() + 30_000;

function exposure(i: number): ExposureEvent {
  return { kind: 'exposure', eventId: `event-${i}`, trackSetId: 'delay', track: 'long', unit: `user-${i}`, at: Date.now(), phase: 'p1' };
}

/** The file's bytes on disk, its write-ahead log included. */
function bytesOf(path: string): number {
  return [path, `${path}-wal`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

function spill(outbox: OutboxDatabase, from: number, count: number): void {
  for (let at = from; at < from + count; at += 2_000) {
    outbox.spill(Array.from({ length: Math.min(2_000, from + count - at) }, (_, i) => exposure(at + i)), later());
  }
}

/** Peeks and removes until nothing waits; returns the events read. */
function drain(outbox: OutboxDatabase): number {
  let read = 0;
  for (let batch = outbox.peek(5_000, later()); batch !== undefined; batch = outbox.peek(5_000, later())) {
    read += batch.events.length;
    outbox.remove(batch.upTo, later());
  }
  return read;
}

test('an outbox drained after a long outage shrinks back to a few pages; the quarantine is kept', () => {
  const path = join(dir, 'long-outage.outbox');
  const outbox = new OutboxDatabase(path);
  try {
    outbox.quarantine([{ event: exposure(-1), error: 'refused for good', at: Date.now() }], later());
    spill(outbox, 0, 100_000);
    const peak = bytesOf(path);
    assert.ok(peak > 10 * 1024 * 1024, `100,000 events take ${peak} bytes`);
    assert.equal(drain(outbox), 100_000);
    assert.deepEqual(outbox.counts(later()), { waiting: 0, quarantined: 1 });
    assert.ok(bytesOf(path) < 256 * 1024, `drained: ${bytesOf(path)} bytes left of ${peak}`);
    // Still an outbox: the next outage spills into it as before.
    spill(outbox, 100_000, 10);
    assert.equal(drain(outbox), 10);
  } finally {
    outbox.close();
  }
});

test('a short blip is not rewritten on every drain: under 8 MB free, the pages stay for the next spill', () => {
  const path = join(dir, 'blip.outbox');
  const outbox = new OutboxDatabase(path);
  try {
    spill(outbox, 0, 10_000);
    const peak = statSync(path).size + statSync(`${path}-wal`).size;
    assert.equal(drain(outbox), 10_000);
    assert.ok(bytesOf(path) >= peak / 2, `${bytesOf(path)} bytes after the drain, ${peak} at the peak`);
  } finally {
    outbox.close();
  }
});

test('while another connection reads the file, the drain still completes and nothing fails; the next drain shrinks it', () => {
  const path = join(dir, 'shared.outbox');
  const outbox = new OutboxDatabase(path);
  const other = new BetterSqlite3(path);
  try {
    spill(outbox, 0, 100_000);
    const peak = bytesOf(path);
    // A read transaction in another connection: the rewrite cannot take the file now.
    other.exec('BEGIN');
    other.prepare('SELECT COUNT(*) FROM tracks_quarantine').get();
    assert.equal(drain(outbox), 100_000);
    assert.deepEqual(outbox.counts(later()), { waiting: 0, quarantined: 0 });
    other.exec('COMMIT');
    spill(outbox, 100_000, 10);
    assert.equal(drain(outbox), 10);
    assert.ok(bytesOf(path) < peak / 10, `${bytesOf(path)} bytes after the second drain, ${peak} at the peak`);
    assert.equal((other.prepare('SELECT COUNT(*) AS n FROM tracks_outbox').get() as { n: number }).n, 0);
  } finally {
    other.close();
    outbox.close();
  }
});

test('a drained outbox whose quarantine is large is not rewritten: the rewrite would copy it all, holding the file', () => {
  const path = join(dir, 'big-quarantine.outbox');
  const outbox = new OutboxDatabase(path);
  try {
    // About 6 MB of quarantine: more than a shrink rewrites.
    const padding = 'x'.repeat(2_000);
    for (let batch = 0; batch < 6; batch++) {
      outbox.quarantine(Array.from({ length: 500 }, (_, i) => ({ event: exposure(batch * 500 + i), error: `refused ${padding}`, at: Date.now() })), later());
    }
    spill(outbox, 0, 100_000);
    const size = statSync(path).size;
    assert.equal(drain(outbox), 100_000);
    assert.ok(statSync(path).size >= size, `kept as it was: ${statSync(path).size} bytes, ${size} before`);
    assert.deepEqual(outbox.counts(later()), { waiting: 0, quarantined: 3_000 });
  } finally {
    outbox.close();
  }
});
