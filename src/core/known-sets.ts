import type { TrackSetDefinition } from './definition.js';

/**
 * The track sets this process has read (on first use, or when listed to an adapter), by id:
 * what a QA header naming sets and tracks is checked against before a request runs.
 */
const known = new Map<string, TrackSetDefinition>();

/** Notes a definition as it is built (once per class). */
export function rememberDefinition(definition: TrackSetDefinition): void {
  known.set(definition.id, definition);
}

/** The track names of a set this process knows, or undefined when it has not read it. */
export function knownTracksOf(trackSetId: string): readonly string[] | undefined {
  const definition = known.get(trackSetId);
  if (definition === undefined) return undefined;
  const names = definition.tracks.map((t) => t.name);
  return names.includes(definition.control.name) ? names : [...names, definition.control.name];
}

/** The ids of every set this process knows. */
export function knownTrackSetIds(): string[] {
  return [...known.keys()];
}
