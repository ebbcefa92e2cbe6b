import { escapeControl } from '../text.js';
import { STORE_USAGE } from './store-option.js';
import type { Command } from './command.js';
import { promoteTrackSet } from '../stores/control-state.js';
import { controlStore, onePositional, parseControlArgs } from './control-command.js';

const USAGE = `Usage: tracks promote <track-set-id> [--store <path|url>] [--force]

Turns a shadow set (static shadow) into a live A/B test: every process stops serving everyone
the baseline and assigns tracks by the set's declared weights within its control interval
(default 10 s), as a new phase. A stop or a weights ramp made during the shadow phase ends
with it (a coverage ramp stays; after a weights ramp the new phase is recorded by the first
process that applies the promotion, since only the code knows the weights it goes back to). The report keeps the shadow's findings beside the live test's;
tracks stop and tracks resume then work as for any set. Asks nothing: it is meant for scripts.

${STORE_USAGE}
  --force              promote a set no process has recorded shadow runs of yet`;

/** `tracks promote catalog-query`: marks the shadow set promoted in the store. */
export const promote: Command = {
  summary: 'turn a shadow set into a live A/B test in every process',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseControlArgs('promote', args, false);
    const trackSetId = onePositional('promote', positionals);
    const store = await controlStore(values.store, io, trackSetId);
    let changed: boolean;
    let findings: string[] = [];
    try {
      changed = (await promoteTrackSet(store, trackSetId, { force: values.force ?? false })).changed;
      // What the shadow found, so the promotion is made (and logged) knowing it.
      findings = ((await store.readShadow?.(trackSetId))?.tracks ?? []).map((t) => {
        const compared = t.matches + t.mismatches + t.ignored;
        const share = (n: number, of: number) => (of > 0 ? `${((100 * n) / of).toFixed(2)}%` : 'n/a');
        return `  ${escapeControl(t.track)}: disagreed on ${share(t.mismatches, compared)} of ${compared.toLocaleString('en-US')} runs compared; ${t.errors.toLocaleString('en-US')} errors, ${t.timeouts.toLocaleString('en-US')} timeouts (tracks report has the intervals)`;
      });
    } finally {
      await store.close();
    }
    io.stdout(
      [
        changed
          ? `${escapeControl(trackSetId)} promoted: every process runs it as a live A/B test within its control interval (default 10 s), as a new phase`
          : `${escapeControl(trackSetId)} is already promoted; nothing changed`,
        ...(findings.length > 0 ? ['What its shadow found:', ...findings] : []),
      ].join('\n'),
    );
    return 0;
  },
};
