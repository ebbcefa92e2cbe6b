// The phase list says which track a stopped phase serves, and which phases ran in shadow:
// `4 stopped` with the set's weights did not say that everyone got `long`, and a shadow set's
// first phase, after `tracks promote`, read as an ordinary phase that no one was assigned in.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildReport, memoryStore, promoteTrackSet, sqliteStore, stopTrackSet } from '../../src/index.js';
import type { RecordedEvent, Report } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const START = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;

function definition(set: string, phase: string, at: number, weights: Record<string, number>, stopped = false): RecordedEvent {
  return { kind: 'definition', eventId: `${set}-${phase}`, trackSetId: set, weights, coverage: 1, control: Object.keys(weights)[0]!, phase, sticky: false, stopped, at };
}

function exposures(set: string, phase: string, at: number, tracks: readonly string[], n: number): RecordedEvent[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'exposure', eventId: `${set}-${phase}-x${i}`, trackSetId: set, track: tracks[i % tracks.length]!, unit: `${set}-${phase}-u${i}`, at: at + i, phase }));
}

interface PhaseJson {
  readonly index: number;
  readonly stopped: boolean;
  readonly serving: string | null;
  readonly shadow: boolean | null;
}

test('a stopped phase names the track it serves, and shadow phases are labelled, in the text and the JSON', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tracks-phase-modes-')), 'ctl.db');
  const store = sqliteStore(path);
  const weights = { control: 1, short: 1, long: 1 };
  const shadowWeights = { old: 1, new: 1 };
  const shadowRun: RecordedEvent = {
    kind: 'shadow', eventId: 'sh-1', trackSetId: 'catalog-query', track: 'new', minute: Math.floor(Date.now() / 60_000),
    matches: 40, mismatches: 0, ignored: 0, errors: 0, timeouts: 0, skippedConcurrency: 0, skippedGuardrail: 0,
    baselineHistogram: [], candidateHistogram: [], slowerHistogram: [], fasterHistogram: [],
  };
  await store.write([
    // delay: a stop serving control, a resume; then stopTrackSet records a stop serving long (the current one).
    definition('delay', 'p1', START, weights),
    ...exposures('delay', 'p1', START + 1, ['control', 'short', 'long'], 30),
    definition('delay', 'p2', START + HOUR, weights, true),
    definition('delay', 'p3', START + 2 * HOUR, weights),
    ...exposures('delay', 'p3', START + 2 * HOUR + 1, ['control', 'short', 'long'], 30),
    // catalog-query: in shadow (no exposures, shadow runs up to this minute), then promoted.
    definition('catalog-query', 's1', START, shadowWeights),
    shadowRun,
    definition('search', 'q1', START, shadowWeights),
    { ...shadowRun, eventId: 'sh-2', trackSetId: 'search' },
  ]);
  await stopTrackSet(store, 'delay', 'long');
  // Promoted in the minute of the last shadow run: the phase it records is the live test's, and has no users yet.
  await promoteTrackSet(store, 'catalog-query');
  await store.close();

  const json = await cli('report', '--store', path, '--json');
  assert.equal(json.code, 0, json.err);
  const sets = (JSON.parse(json.out) as { trackSets: { id: string; phases: PhaseJson[] }[] }).trackSets;
  const phasesOf = (id: string) => sets.find((s) => s.id === id)!.phases.map((p) => [p.index, p.stopped, p.serving, p.shadow]);
  // The store keeps the latest stop's track only: an earlier stop's is not known.
  assert.deepEqual(phasesOf('delay'), [
    [1, false, null, false],
    [2, true, null, false],
    [3, false, null, false],
    [4, true, 'long', false],
  ]);
  assert.deepEqual(phasesOf('catalog-query'), [
    [1, false, null, true],
    [2, false, null, false],
  ]);
  // Still in shadow: every phase is a shadow phase.
  assert.deepEqual(phasesOf('search'), [[1, false, null, true]]);

  const text = await cli('report', '--store', path);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^ +4 stopped, serving long +/m);
  assert.match(text.out, /^ +2 stopped +/m);
  assert.match(text.out, /^ +1 shadow +/m);
  assert.doesNotMatch(text.out, /^ +2 shadow/m);
});

test('a phase with users never ran in shadow, whatever the set is now; without the shadow runs, a phase without users cannot be told (null)', async () => {
  const store = memoryStore();
  const def = (phase: string, at: number): RecordedEvent => ({ kind: 'definition', eventId: `d-${phase}`, trackSetId: 'q', weights: { old: 1, new: 1 }, coverage: 1, control: 'old', phase, sticky: false, stopped: false, at });
  const events: RecordedEvent[] = [
    // An ordinary A/B test first, with users; then the class became a shadow set (static shadow).
    def('p1', START),
    ...exposures('q', 'p1', START, ['old', 'new'], 40),
    def('s1', START + HOUR),
    { kind: 'shadow', eventId: 'sh', trackSetId: 'q', track: 'new', minute: Math.floor((START + 2 * HOUR) / 60_000), matches: 40, mismatches: 0, ignored: 0, errors: 0, timeouts: 0, skippedConcurrency: 0, skippedGuardrail: 0, baselineHistogram: [], candidateHistogram: [], slowerHistogram: [], fasterHistogram: [] } as RecordedEvent,
  ];
  await store.write(events);
  const sums = await store.summarize();
  const phases = (report: Report) => report.trackSets[0]!.phases.map((p) => [p.index, p.users, p.shadow]);
  assert.deepEqual(phases(buildReport(sums, { shadow: await store.readShadow!() })), [[1, 40, false], [2, 0, true]]);
  assert.deepEqual(phases(buildReport(sums)), [[1, 40, false], [2, 0, null]], 'no shadow runs given: the phase without users cannot be told');
});
