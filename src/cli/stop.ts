import type { Command } from './command.js';
import { UsageError } from './command.js';
import { controlStore, onePositional, parseControlArgs } from './control-command.js';
import { STORE_USAGE } from './store-option.js';
import { recordedBaseline, stopTrackSet } from '../stores/control-state.js';
import { escapeControl } from '../text.js';

const USAGE = `Usage: tracks stop <track-set-id> [--serve <track>] [--store <path|url>] [--force]

Stops a test without a deploy: every process recording to the store serves one track to
everyone (reason 'stopped') and records no exposures, within its control interval (default 10 s).

  --serve <track>      the track everyone gets (default: the set's baseline, its static control
                       or control); use a winning track to roll it out
${STORE_USAGE}
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
    const store = await controlStore(values.store, io, trackSetId);
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
