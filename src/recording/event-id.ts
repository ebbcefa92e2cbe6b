import { randomBytes } from 'node:crypto';

/**
 * Event ids: a random per-process prefix (96 bits) and a counter. Unique across processes
 * without coordination, and much cheaper than a UUID per event on the hot path.
 */
const prefix = randomBytes(12).toString('base64url');
let counter = 0;

/** A new id, unique across processes and restarts. */
export function newEventId(): string {
  return `${prefix}.${(counter++).toString(36)}`;
}
