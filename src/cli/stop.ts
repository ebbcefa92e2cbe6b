import type { Store } from '../model/store.js';
import type { CliIo, Command } from './command.js';
import { UsageError } from './command.js';
import { openExistingStore } from './store-option.js';
import { recordedBaseline, stopTrackSet } from '../stores/control-state.js';
import { escapeControl } from '../text.js';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { usageErrorOf } from './parse.js';

const USAGE = `Usage: tracks stop <track-set-id> [--serve <track>] [--store <path|url>] [--force]

Stops a test without a deploy: every process recording to the store serves one track to
everyone (reason 'stopped') and records no exposures, within its control interval (default 10 s).

  --serve <track>      the track everyone gets (default: the set's baseline, its static control
                       or control); use a winning track to roll it out
  --store <path|url>   SQLite file or postgres:// URL (default: $TRACKS_STORE)
  --force              stop a set no process has recorded yet (an unknown set is an error)`;

/** `tracks stop delay --serve long`: writes the stop to the store. */
export const stop: Command = {
  summary: 'stop a test in every process: serve one track to everyone',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseControlArgs('stop', args, true);
    const trackSetId = onePositional('stop', positionals);
    const serve = values.serve;
    if (serve !== undefined && serve.trim() === '') throw new UsageError('--serve is empty; name a track, or leave it out for the baseline');
    const store = controlStore(values.store, io);
    let served: string;
    let changed: boolean;
    try {
      changed = (await stopTrackSet(store, trackSetId, serve, { force: values.force ?? false })).changed;
      // A set no process has published yet (--force) has no recorded baseline: each process serves its class's.
      const baseline = await recordedBaseline(store, trackSetId);
      served = serve ?? (baseline === null ? "its baseline (each process's static control)" : `its baseline (${baseline})`);
    } finally {
      await store.close();
    }
    const what = serve === undefined ? escapeControl(served) : `'${escapeControl(served)}'`;
    io.stdout(
      changed
        ? `${escapeControl(trackSetId)} stopped: every process serves ${what} to everyone within its control interval (default 10 s)`
        : `${escapeControl(trackSetId)} was already stopped, serving ${what}; nothing changed`,
    );
    return 0;
  },
};

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
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true }) as { values: { serve?: string; store?: string; force?: boolean }; positionals: string[] };
  } catch (error) {
    throw usageErrorOf(error, command, Object.keys(options));
  }
}
