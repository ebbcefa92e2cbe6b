// A set that comes back to an earlier configuration (a rollback deploy: v1, v2, then v1 again)
// is back in that phase, whose id is its configuration's hash. The report shows when: each
// phase's stretches in --json, a row `N again` in the text report's phase table, in time order.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildReport, memoryStore, renderReport, sqliteStore } from '../../src/index.js';
import type { RecordedEvent, Store } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-phase-stretches-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const HOUR = 3_600_000;
const START = Date.UTC(2026, 5, 1);
const V1 = { control: 1, b: 1 };
const V2 = { control: 1, b: 3 };

function definition(n: number, phase: string, weights: Record<string, number>, at: number): RecordedEvent {
  return { kind: 'definition', eventId: `def-${n}`, trackSetId: 'rollback', weights, coverage: 1, control: 'control', phase, sticky: false, at };
}

function exposures(from: number, count: number, phase: string, at: number): RecordedEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'exposure' as const,
    eventId: `x-${from + i}`,
    trackSetId: 'rollback',
    track: i % 2 === 0 ? 'control' : 'b',
    unit: `u-${from + i}`,
    at: at + i * 1_000,
    phase,
  }));
}

// v1 from hour 0, v2 from hour 10, v1 again (a rollback) from hour 20; a process of v1 published
// its definition again at hour 5, inside v1's first stretch: that starts nothing.
const EVENTS: RecordedEvent[] = [
  definition(1, 'v1', V1, START),
  definition(2, 'v1', V1, START + 5 * HOUR),
  definition(3, 'v2', V2, START + 10 * HOUR),
  definition(4, 'v1', V1, START + 20 * HOUR),
  ...exposures(0, 100, 'v1', START + HOUR),
  ...exposures(100, 40, 'v2', START + 11 * HOUR),
  ...exposures(140, 60, 'v1', START + 21 * HOUR),
];

for (const kind of ['memory', 'SQLite'] as const) {
  test(`${kind}: a rollback's phase lists both stretches, and the text report a row "1 again" where it began again`, async () => {
    const store: Store = kind === 'memory' ? memoryStore() : sqliteStore(join(dir, 'rollback.db'));
    try {
      await store.write(EVENTS);
      const report = buildReport(await store.summarize(), { now: new Date(START + 30 * HOUR) });
      const set = report.trackSets.find((s) => s.id === 'rollback')!;
      const iso = (hours: number) => new Date(START + hours * HOUR).toISOString();
      assert.deepEqual(
        set.phases.map((p) => ({ index: p.index, id: p.id, users: p.users, startedAt: p.startedAt, endedAt: p.endedAt, stretches: p.stretches })),
        [
          { index: 1, id: 'v1', users: 160, startedAt: iso(0), endedAt: null, stretches: [{ from: iso(0), to: iso(10) }, { from: iso(20), to: null }] },
          { index: 2, id: 'v2', users: 40, startedAt: iso(10), endedAt: iso(20), stretches: [{ from: iso(10), to: iso(20) }] },
        ],
      );
      const text = renderReport(report);
      const rows = text.split('\n').filter((line) => /^ {2}\d( again)? +2026-06-0\d/.test(line));
      assert.deepEqual(
        rows.map((line) => line.trim().split(/\s{2,}/).slice(0, 3)),
        [
          ['1', '2026-06-01 00:00', '160'],
          ['2', '2026-06-01 10:00', '40'],
          ['1 again', '2026-06-01 20:00', '100%'],
        ],
      );
      assert.match(text, /\n {2}\(N again: back to phase N's configuration, as after a rollback deploy; its users are one phase\)\n/);
      assert.ok(text.split('\n').every((line) => line.length <= 100), 'no line past the report\'s width');
    } finally {
      await store.close?.();
    }
  });
}

test('a phase in force once has one stretch, and the text report no "again" row or note', async () => {
  const store = memoryStore();
  await store.write(EVENTS.filter((e) => e.kind !== 'definition' || e.eventId !== 'def-4').filter((e) => e.kind !== 'exposure' || Number(e.eventId.slice(2)) < 140));
  const report = buildReport(await store.summarize(), { now: new Date(START + 30 * HOUR) });
  const set = report.trackSets.find((s) => s.id === 'rollback')!;
  assert.deepEqual(
    set.phases.map((p) => p.stretches.length),
    [1, 1],
  );
  assert.doesNotMatch(renderReport(report), /again/);
});
