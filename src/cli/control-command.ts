// What the commands that change a test's state (stop, resume, ramp, promote) share: one track
// set id, the store they change, and their flags parsed into one-line usage errors.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { Store } from '../model/store.js';
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

/** The store of `--store` or `$TRACKS_STORE`, checked as the reading commands check it (see openExistingStore). */
export function controlStore(flag: string | undefined, io: CliIo): Store {
  return openExistingStore(flag, io, (spec) => `give the file your processes record to (configure({ store: '${spec}' }))`);
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
