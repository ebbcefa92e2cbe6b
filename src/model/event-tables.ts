/**
 * One description of each event kind, shared by every store: the table it is stored in, its
 * columns, the columns that make a row unique, and how an event becomes a row. SQLite builds
 * its INSERTs from it, PostgreSQL its COPY, the memory store its de-duplication; the
 * migrations create exactly these tables and columns (a test checks that they agree).
 */
import type { ExposureEvent, RecordedEvent } from './events.js';
import { sparseHistogram } from './latency-histogram.js';

/** A column's type: text, a whole number (SQLite INTEGER, PostgreSQL bigint) or a float. */
export type ColumnType = 'text' | 'integer' | 'real';

/** One column of an event table. */
export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

/** A value of a row, as the drivers take it (null: SQL NULL). */
export type Cell = string | number | null;

/** How one kind of event is stored. */
export interface EventTable<K extends RecordedEvent['kind'] = RecordedEvent['kind']> {
  readonly kind: K;
  readonly table: string;
  readonly columns: readonly Column[];
  /** The columns whose values make a row unique: a second row with the same values is skipped. */
  readonly key: readonly string[];
  /**
   * The order of a table that keeps the earliest row of each key (its time, then a column that
   * breaks ties): a second row with the same key replaces the stored one when it comes first
   * (else it is skipped). Exposures: a unit's first exposure wins whichever process writes it
   * first (one still in a buffer, or spilled during an outage, while another process exposed
   * the unit again after a ramp).
   */
  readonly earliest?: readonly string[] | undefined;
  /** The event's row, in the order of `columns`. */
  row(event: Extract<RecordedEvent, { kind: K }>): Cell[];
}

const text = (name: string): Column => ({ name, type: 'text' });
const integer = (name: string): Column => ({ name, type: 'integer' });
const real = (name: string): Column => ({ name, type: 'real' });
const flag = (value: boolean | undefined): number | null => (value === undefined ? null : value ? 1 : 0);

/** Every event kind's table, by kind. */
export const EVENT_TABLES: { readonly [K in RecordedEvent['kind']]: EventTable<K> } = {
  exposure: {
    kind: 'exposure',
    table: 'tracks_exposures',
    columns: [text('track_set_id'), text('unit'), text('track'), integer('at'), text('event_id'), text('phase'), text('dimensions')],
    key: ['track_set_id', 'unit'],
    earliest: ['at', 'event_id'],
    row: (e) => [e.trackSetId, e.unit, e.track, e.at, e.eventId, e.phase ?? null, e.dimensions === undefined ? null : JSON.stringify(e.dimensions)],
  },
  conversion: {
    kind: 'conversion',
    table: 'tracks_conversions',
    columns: [text('event_id'), text('unit'), text('metric'), real('value'), integer('at')],
    key: ['event_id'],
    row: (e) => [e.eventId, e.unit, e.metric, e.value, e.at],
  },
  health: {
    kind: 'health',
    table: 'tracks_health',
    columns: [
      text('event_id'),
      text('track_set_id'),
      text('track'),
      integer('minute'),
      integer('runs'),
      integer('errors'),
      real('total_ms'),
      text('histogram'),
    ],
    key: ['event_id'],
    row: (e) => [e.eventId, e.trackSetId, e.track, e.minute, e.runs, e.errors, e.totalMs, JSON.stringify(sparseHistogram(e.histogram))],
  },
  definition: {
    kind: 'definition',
    table: 'tracks_definitions',
    columns: [text('event_id'), text('track_set_id'), text('weights'), real('coverage'), integer('at'), text('control'), text('phase'), integer('sticky'), integer('stopped'), integer('holdout'), integer('shadow')],
    key: ['event_id'],
    row: (e) => [e.eventId, e.trackSetId, weightsJson(e.weights), e.coverage, e.at, e.control ?? null, e.phase ?? null, flag(e.sticky), flag(e.stopped), flag(e.holdout), flag(e.shadow)],
  },
  guardrail: {
    kind: 'guardrail',
    table: 'tracks_guardrails',
    columns: [text('event_id'), text('track_set_id'), text('track'), text('cause'), integer('at')],
    key: ['event_id'],
    row: (e) => [e.eventId, e.trackSetId, e.track, e.cause, e.at],
  },
  metric: {
    kind: 'metric',
    table: 'tracks_metrics',
    columns: [text('event_id'), text('name'), text('metric_kind'), text('numerator'), text('denominator'), integer('higher_is_better'), integer('guardrail'), integer('at'), text('analysis')],
    key: ['event_id'],
    row: (e) => [e.eventId, e.name, e.metricKind, e.numerator, e.denominator, e.higherIsBetter === null ? null : e.higherIsBetter ? 1 : 0, e.guardrail ? 1 : 0, e.at, e.analysis === undefined ? null : JSON.stringify(e.analysis)],
  },
  shadow: {
    kind: 'shadow',
    table: 'tracks_shadow',
    columns: [
      text('event_id'),
      text('track_set_id'),
      text('track'),
      integer('minute'),
      integer('matches'),
      integer('mismatches'),
      integer('ignored'),
      integer('errors'),
      integer('timeouts'),
      integer('skipped_concurrency'),
      integer('skipped_guardrail'),
      text('baseline_histogram'),
      text('candidate_histogram'),
      text('slower_histogram'),
      text('faster_histogram'),
    ],
    key: ['event_id'],
    row: (e) => [
      e.eventId,
      e.trackSetId,
      e.track,
      e.minute,
      e.matches,
      e.mismatches,
      e.ignored,
      e.errors,
      e.timeouts,
      e.skippedConcurrency,
      e.skippedGuardrail,
      JSON.stringify(sparseHistogram(e.baselineHistogram)),
      JSON.stringify(sparseHistogram(e.candidateHistogram)),
      JSON.stringify(sparseHistogram(e.slowerHistogram)),
      JSON.stringify(sparseHistogram(e.fasterHistogram)),
    ],
  },
  shadow_sample: {
    kind: 'shadow_sample',
    table: 'tracks_shadow_samples',
    columns: [text('event_id'), text('track_set_id'), text('track'), integer('at'), text('input'), text('baseline'), text('candidate')],
    key: ['event_id'],
    row: (e) => [e.eventId, e.trackSetId, e.track, e.at, e.input, e.baseline, e.candidate],
  },
};

/** The event kinds, in the order stores write them. */
export const EVENT_KINDS: readonly RecordedEvent['kind'][] = ['exposure', 'conversion', 'health', 'definition', 'guardrail', 'metric', 'shadow', 'shadow_sample'];

/** Where each table's unique key columns sit in its rows. */
const KEY_INDEXES = new Map(
  EVENT_KINDS.map((kind) => {
    const table = EVENT_TABLES[kind] as EventTable;
    return [kind, table.key.map((column) => table.columns.findIndex((c) => c.name === column))] as const;
  }),
);

/**
 * A batch in the order to write it: grouped by kind, exposures sorted by their unique key (set,
 * unit); otherwise (events of one kind, exposures of one set and unit) in the order given, so
 * the row a store keeps (the first) is still the first. A b-tree takes rows in key order leaf
 * after leaf instead of all over the index: a million exposures of scattered user ids (as real
 * ids are) went into SQLite 25-30% faster sorted, in batches of 10,000 on its worker thread,
 * sort included; ids in order, no slower. (PostgreSQL, sorting on the application's thread,
 * gained nothing measurable, so it does not.) Other kinds are keyed by event id, in which they
 * already arrive (a per-process prefix and a counter).
 *
 * @example
 * ```ts
 * for (const event of inKeyOrder(batch)) insert(event);
 * ```
 */
export function inKeyOrder(events: readonly RecordedEvent[]): RecordedEvent[] {
  return events.slice().sort((a, b) => {
    if (a.kind !== b.kind) return KIND_ORDER.get(a.kind)! - KIND_ORDER.get(b.kind)!;
    if (a.kind !== 'exposure') return 0;
    const e = b as ExposureEvent;
    if (a.trackSetId !== e.trackSetId) return a.trackSetId < e.trackSetId ? -1 : 1;
    return a.unit === e.unit ? 0 : a.unit < e.unit ? -1 : 1;
  });
}

const KIND_ORDER = new Map(EVENT_KINDS.map((kind, i) => [kind, i]));

/** The values of an event's unique key, joined: two events with the same join to the same text. */
export function uniqueKeyOf(event: RecordedEvent): string {
  const row = (EVENT_TABLES[event.kind] as EventTable).row(event as never);
  return `${event.kind}\u0000${KEY_INDEXES.get(event.kind)!.map((i) => row[i]).join('\u0000')}`;
}

/** Weights as the JSON text stored in `tracks_definitions.weights` (any track name is a plain key). */
export function weightsJson(weights: Readonly<Record<string, number>>): string {
  return `{${Object.entries(weights)
    .map(([track, weight]) => `${JSON.stringify(track)}:${JSON.stringify(weight)}`)
    .join(',')}}`;
}

/** Weights stored as JSON text, read back as a Map (never as an object indexed by name). */
export function weightsFromJson(json: string): Map<string, number> {
  const parsed: unknown = JSON.parse(json);
  const weights = new Map<string, number>();
  if (typeof parsed === 'object' && parsed !== null) {
    for (const [track, weight] of Object.entries(parsed)) if (typeof weight === 'number') weights.set(track, weight);
  }
  return weights;
}

/**
 * Whether `event` comes before `kept` in `table`'s `earliest` order (false for a table without
 * one): the row a store keeps of two with one key. Text compares by code unit, which is byte
 * order for the ASCII event ids it breaks ties on.
 *
 * @example
 * ```ts
 * comesFirst(EVENT_TABLES.exposure, earlierCopy, stored); // true: the earlier copy replaces it
 * ```
 */
export function comesFirst(table: EventTable, event: RecordedEvent, kept: RecordedEvent): boolean {
  if (table.earliest === undefined) return false;
  const a = table.row(event as never);
  const b = table.row(kept as never);
  for (const name of table.earliest) {
    const i = table.columns.findIndex((c) => c.name === name);
    if (a[i] !== b[i]) return a[i]! < b[i]!;
  }
  return false;
}

/**
 * The `ON CONFLICT` clause of an INSERT into `table`, the same in SQLite and PostgreSQL (`t`:
 * the table's alias): skip a row whose key is stored, or, for a table that keeps the earliest
 * row of a key, replace the stored row with an earlier one.
 *
 * @example
 * ```ts
 * onConflict(EVENT_TABLES.conversion, 't'); // 'ON CONFLICT DO NOTHING'
 * onConflict(EVENT_TABLES.exposure, 't');   // 'ON CONFLICT (track_set_id, unit) DO UPDATE SET ... WHERE (excluded.at, excluded.event_id) < (t.at, t.event_id)'
 * ```
 */
export function onConflict(table: EventTable, alias: string, textOrder = ''): string {
  const earliest = table.earliest;
  if (earliest === undefined) return 'ON CONFLICT DO NOTHING';
  const updated = table.columns.filter((c) => !table.key.includes(c.name)).map((c) => `${c.name} = excluded.${c.name}`);
  return `ON CONFLICT (${table.key.join(', ')}) DO UPDATE SET ${updated.join(', ')} WHERE (${earliestOrder(table, 'excluded', textOrder)}) < (${earliestOrder(table, alias, textOrder)})`;
}

/**
 * The columns of `table`'s `earliest` order, of `alias`, text ones followed by `textOrder` (for
 * PostgreSQL ` COLLATE "C"`: the tie-break compares bytes, as SQLite and the memory store do,
 * whatever the database's collation).
 */
export function earliestOrder(table: EventTable, alias: string, textOrder = ''): string {
  return (table.earliest ?? [])
    .map((name) => `${alias === '' ? '' : `${alias}.`}${name}${table.columns.find((c) => c.name === name)?.type === 'text' ? textOrder : ''}`)
    .join(', ');
}
