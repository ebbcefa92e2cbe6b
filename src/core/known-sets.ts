import type { TrackSetDefinition } from './definition.js';

/**
 * The track sets this process has read (on first use, or when listed to an adapter), by id:
 * what a QA header or `forceTracks` naming sets and tracks is checked against. An id may have
 * several definitions (versions of one test compared in one process): a track of any of them
 * is known, and each class then checks the forced name against its own tracks when it runs.
 */
const known = new Map<string, Map<string, TrackSetDefinition>>();

/** Notes a definition as it is built (once per class; a class of the same name read again replaces it). */
export function rememberDefinition(definition: TrackSetDefinition): void {
  let versions = known.get(definition.id);
  if (versions === undefined) known.set(definition.id, (versions = new Map()));
  versions.set(definition.className, definition);
}

/** The track names of a set this process knows (of every class with its id), or undefined when it has not read it. */
export function knownTracksOf(trackSetId: string): readonly string[] | undefined {
  const versions = known.get(trackSetId);
  if (versions === undefined) return undefined;
  const names = new Set<string>();
  for (const definition of versions.values()) {
    for (const track of definition.tracks) names.add(track.name);
    names.add(definition.control.name);
  }
  return [...names];
}

/** The ids of every set this process knows. */
export function knownTrackSetIds(): string[] {
  return [...known.keys()];
}
