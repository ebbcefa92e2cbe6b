// A fixed recorded data set, written as events, so report tests know every number.
import type { RecordedEvent, Store } from '../../src/index.js';

export const DAY = Date.UTC(2026, 10, 2);

/** Users per track and how many of them purchased, with revenue 10 per purchase and 5 more for every 4th buyer. */
export const PLAN = {
  control: { users: 1000, buyers: 100 },
  short: { users: 1000, buyers: 95 },
  long: { users: 1000, buyers: 60 },
} as const;

export function fixedEvents(): RecordedEvent[] {
  const events: RecordedEvent[] = [
    { kind: 'definition', eventId: 'def-1', trackSetId: 'delay', weights: { control: 1, short: 1, long: 1 }, coverage: 1, at: DAY },
  ];
  for (const [track, { users, buyers }] of Object.entries(PLAN)) {
    for (let i = 0; i < users; i++) {
      const unit = `${track}-user-${i}`;
      const at = DAY + (i % 2) * 86_400_000; // half the users on each of two days
      events.push({ kind: 'exposure', eventId: `x-${unit}`, trackSetId: 'delay', track, unit, at });
      if (i < buyers) {
        events.push({ kind: 'conversion', eventId: `p-${unit}`, unit, metric: 'purchase', value: 1, at: at + 1000 });
        events.push({ kind: 'conversion', eventId: `r-${unit}`, unit, metric: 'revenue', value: i % 4 === 0 ? 15 : 10, at: at + 1000 });
      }
    }
    // Conversions before exposure are not the track's doing and must not count.
    events.push({ kind: 'conversion', eventId: `early-${track}`, unit: `${track}-user-999`, metric: 'purchase', value: 1, at: DAY - 1000 });
    const histogram = new Array<number>(66).fill(0);
    histogram[track === 'long' ? 30 : track === 'short' ? 20 : 0] = users;
    events.push({
      kind: 'health',
      eventId: `h-${track}`,
      trackSetId: 'delay',
      track,
      minute: Math.floor(DAY / 60_000),
      runs: users,
      errors: track === 'long' ? 10 : 0,
      totalMs: users * (track === 'long' ? 2000 : track === 'short' ? 500 : 0.01),
      histogram,
    });
  }
  return events;
}

export async function writeFixedData(store: Store): Promise<void> {
  await store.write(fixedEvents());
}
