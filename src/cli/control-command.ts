// What the commands that change a test's state (stop, resume, ramp, promote) share: one track
// set id, the store they change, and their flags parsed into one-line usage errors.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { Store } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import type { CliIo } from './command.js';
import { UsageError } from './command.js';
import { assertGivenOnce, usageErrorOf } from './parse.js';
import { openExistingStore } from './store-option.js';

/** The one positional argument, the track set id. */
export function onePositional(command: string, positionals: readonly string[]): string {
  if (positionals.length !== 1 || positionals[0]!.trim() === '') {
    throw new UsageError(`give exactly one track set id, e.g. tracks ${command} delay; see 'tracks ${command} --help'`);
  }
  return positionals[0]!;
}

/**
 * The store of `--store` or `$TRACKS_STORE`, checked as the reading commands check it (see
 * openExistingStore), and holding tracks tables: a change written to a store no process has
 * opened (a PostgreSQL URL whose ?schema= is misspelt, where writing would create the schema)
 * would reach no process, even with --force, which is for a set not recorded yet.
 */
export async function controlStore(flag: string | undefined, io: CliIo, trackSetId: string): Promise<Store> {
  const store = openExistingStore(flag, io, (spec) => `give the file your processes record to (configure({ store: '${spec}' }))`);
  try {
    // The set's own summary (what the command reads next anyway): TRACKS_NO_DATA when the store has no tables.
    await store.summarize({ trackSetId, daily: false, metrics: false });
  } catch (error) {
    await store.close().catch(() => {});
    if (error instanceof StoreError && error.code === 'TRACKS_NO_DATA') {
      throw new UsageError(
        `${store.description} holds no tracks tables, so no process records to it: check --store (the file, or the URL's ?schema=); ` +
          'a store gets its tables when a process first records to it (configure({ store }))',
      );
    }
    throw error;
  }
  return store;
}

/** Parses `<id> [--serve x] [--store y] [--force]`; parse errors become one-line usage errors. */
export function parseControlArgs(command: string, args: readonly string[], withServe: boolean) {
  const options: NonNullable<ParseArgsConfig['options']> = withServe
    ? { serve: { type: 'string' }, store: { type: 'string' }, force: { type: 'boolean' } }
    : { store: { type: 'string' }, force: { type: 'boolean' } };
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    throw usageErrorOf(error, command, Object.keys(options));
  }
  assertGivenOnce(command, parsed.tokens, options);
  return parsed as { values: { serve?: string; store?: string; force?: boolean }; positionals: string[] };
}
