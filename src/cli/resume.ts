import { escapeControl } from '../core/names.js';
import type { Command } from './command.js';
import { resumeTrackSet } from '../stores/control-state.js';
import { controlStore, onePositional, parseControlArgs } from './stop.js';

const USAGE = `Usage: tracks resume <track-set-id> [--store <path|url>] [--force]

Resumes a stopped test: every process goes back to assigning tracks (and recording exposures)
within its control interval (default 10 s). Keys get the tracks they had before the stop.

  --store <path|url>   SQLite file or postgres:// URL (default: $TRACKS_STORE)
  --force              resume a set no process has recorded yet (an unknown set is an error)`;

/** `tracks resume delay`: clears the stop in the store. */
export const resume: Command = {
  summary: 'resume a stopped test in every process',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseControlArgs('resume', args, false);
    const trackSetId = onePositional('resume', positionals);
    const store = controlStore(values.store, io);
    let changed: boolean;
    try {
      changed = (await resumeTrackSet(store, trackSetId, { force: values.force ?? false })).changed;
    } finally {
      await store.close();
    }
    io.stdout(
      changed
        ? `${escapeControl(trackSetId)} resumed: every process assigns tracks again within its control interval (default 10 s)`
        : `${escapeControl(trackSetId)} is not stopped; nothing changed`,
    );
    return 0;
  },
};
