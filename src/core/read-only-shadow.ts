import { TracksError } from '../errors.js';
import { quoted } from '../text.js';
import { endShadowRunAfter } from './shadow-runner.js';
import { auditWrites, candidateContext, withShadowContext } from './shadow-context.js';
import { constructWithKey, definitionOf } from './track-set.js';
import type { TrackSetClass } from './track-set.js';
import type { ClassTrackArgs } from './track-names.js';

/**
 * A test helper for shadow sets: runs every candidate of `cls` once on `args`, as a shadow
 * run would, and rejects with a TracksError naming each candidate that wrote through
 * `shadowContext().write()`. A candidate that throws for another reason rejects with its
 * error, and one still running at the shadow's `timeout` with a TracksError saying so. Use it
 * in your tests so a write cannot creep into a shadowed code path.
 *
 * @example
 * ```ts
 * test('the new catalog query only reads', async () => {
 *   await assertReadOnlyShadow(CatalogQuery, 'coconuts');
 * });
 * ```
 */
export async function assertReadOnlyShadow<C extends TrackSetClass>(cls: C, ...args: ClassTrackArgs<C>): Promise<void> {
  const definition = definitionOf(cls);
  if (definition.shadow === null) {
    throw new TracksError(`${definition.className} declares no static shadow; assertReadOnlyShadow checks the candidates of a shadow set`);
  }
  const run = constructWithKey(cls as unknown as new (options: object) => object, {}, null, 0);
  const { timeout } = definition.shadow;
  const writers: string[] = [];
  for (const candidate of definition.tracks) {
    if (candidate === definition.control) continue;
    let wrote = false;
    const controller = new AbortController();
    const context = candidateContext(controller.signal, true, definition.id, candidate.name, () => (wrote = true));
    // As in a shadow run, the candidate has its timeout (its signal aborts then): a hung
    // candidate fails the check instead of hanging the test.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new TracksError(
            `${definition.className}: the shadow candidate ${quoted(candidate.name)} did not finish within its timeout of ${timeout} ms; ` +
              'a shadow run would count it as timed out: make it finish sooner, or raise static shadow.timeout',
          ),
        );
      }, timeout);
    });
    try {
      // Audited while it runs alone: a write through any context counts, even one deferred past the candidate's run.
      const ran = auditWrites(() => (wrote = true), async () => withShadowContext(context, () => candidate.invoke(run, args as readonly unknown[])), controller.signal);
      // As in a shadow run: its run ends once it settled and its timeout passed.
      const started = performance.now();
      const end = () => endShadowRunAfter(context, timeout - (performance.now() - started));
      ran.then(end, end);
      await Promise.race([ran, timedOut]);
    } catch (error) {
      // The refused write throws into the candidate; anything else is the candidate's own failure.
      if (!wrote) throw error;
    } finally {
      clearTimeout(timer);
    }
    if (wrote) writers.push(candidate.name);
  }
  if (writers.length > 0) {
    throw new TracksError(
      `${definition.className}: the shadow candidate${writers.length > 1 ? 's' : ''} ${writers.map(quoted).join(', ')} wrote through shadowContext().write(); ` +
        'a candidate runs beside the baseline on real traffic, so it must not write: move the write out of the candidate',
    );
  }
}
