import { escapeControl } from '../text.js';
import { STORE_USAGE } from './store-option.js';
import type { Command } from './command.js';
import { inShadowMode, resumeTrackSet } from '../stores/control-state.js';
import { controlStore, onePositional, parseControlArgs } from './control-command.js';

const USAGE = `Usage: tracks resume <track-set-id> [--store <path|url>] [--force]

Resumes a stopped test: every process goes back to assigning tracks (and recording exposures)
within its control interval (default 10 s). Keys get the tracks they had before the stop.

${STORE_USAGE}
  --force              resume a set no process has recorded yet (an unknown set is an error)`;

/** `tracks resume delay`: clears the stop in the store. */
export const resume: Command = {
  summary: 'resume a stopped test in every process',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseControlArgs('resume', args, false);
    const trackSetId = onePositional('resume', positionals);
    const store = await controlStore(values.store, io, trackSetId);
    let change: Awaited<ReturnType<typeof resumeTrackSet>>;
    let inShadow: boolean;
    try {
      change = await resumeTrackSet(store, trackSetId, { force: values.force ?? false });
      // A shadow set not yet promoted goes back to its shadow runs, not to assigning tracks.
      inShadow = !change.promoted && (await inShadowMode(store, trackSetId));
    } finally {
      await store.close();
    }
    const now = inShadow ? 'every process goes back to its shadow runs (everyone gets the baseline; promote to go live)' : 'every process assigns tracks again';
    io.stdout(
      change.changed
        ? `${escapeControl(trackSetId)} resumed: ${now} within its control interval (default 10 s)`
        : `${escapeControl(trackSetId)} is not stopped; nothing changed`,
    );
    return 0;
  },
};
