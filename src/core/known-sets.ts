import { TracksError } from '../errors.js';
import { suggestId } from './definition.js';
import type { TrackSetDefinition } from './definition.js';
import { quoted } from '../text.js';

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

/**
 * Refuses a class whose id another class of this process already has when the two are plainly
 * different tests: no track in common but the control. Every key would draw the same in both
 * (their tracks perfectly correlated), and their rows would mix in the store. Called when a
 * class is first used, before its definition is kept. Allowed: a new version of the same test
 * beside the old one (a track in common: what a test of minimal disruption compares, and what a
 * module evaluated anew gives), and classes that share the id of a common ancestor that holds
 * it (`static id = Base.id`, each adding its tracks to the base's).
 */
export function checkIdIsFree(definition: TrackSetDefinition): void {
  const versions = known.get(definition.id);
  if (versions === undefined) return;
  for (const other of versions.values()) {
    if (other.owner === definition.owner || sharesATrack(other, definition) || idRoot(other.owner, definition.id) === idRoot(definition.owner, definition.id)) continue;
    const name = definition.className;
    throw new TracksError(
      `${name}: static id ${quoted(definition.id)} is already ${other.className}'s, a set with none of its tracks; two track sets with one id would give every key the same draw in both ` +
        `(their tracks perfectly correlated) and mix their rows in the store. Give ${name} its own (static id = '${suggestId(name)}'); ` +
        'one id is for versions of one test, which keep track names in common',
    );
  }
}

/** Whether two definitions have a track in common besides their control (versions of one test). */
function sharesATrack(a: TrackSetDefinition, b: TrackSetDefinition): boolean {
  return a.tracks.some((track) => track.name !== a.control.name && track.name !== b.control.name && b.byName.has(track.name));
}

/** The highest class of `cls`'s chain whose own static id is `id`: what classes sharing an id on purpose have in common. */
function idRoot(cls: object, id: string): object {
  let root = cls;
  for (let parent = Object.getPrototypeOf(cls) as object | null; parent !== null; parent = Object.getPrototypeOf(parent) as object | null) {
    if (Object.getOwnPropertyDescriptor(parent, 'id')?.value === id) root = parent;
  }
  return root;
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
