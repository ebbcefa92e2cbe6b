import { parseArgs } from 'node:util';
import { escapeControl } from '../text.js';
import { rampTrackSet } from '../stores/control-state.js';
import { STORE_USAGE } from './store-option.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { assertGivenOnce, decimalOf, usageErrorOf } from './parse.js';
import { controlStore, onePositional } from './control-command.js';
import { weightsOf } from './weights-option.js';

const USAGE = `Usage: tracks ramp <track-set-id> [--coverage <share>] [--weights <track=w,...>] [--store <path|url>] [--force]

Changes a running test without a deploy: every process recording to the store applies the new
coverage or weights within its control interval (default 10 s), and a new phase begins. A
change of one weight or of the coverage moves only the keys that must move (several weights
at once move somewhat more: see tracks simulate --weights); a sticky set keeps every user's track. The report
compares each phase's users within their phase, so the change cannot bias the answer.

  --coverage <share>   the share of eligible keys in the test, 0 to 1 or a percentage
                       (e.g. 0.1 or 10%, then 0.5, then 1)
  --weights <list>     new weights, e.g. short=1,long=3; tracks not named keep their weight
${STORE_USAGE}
  --force              ramp a set no process has recorded yet (an unknown set is an error)

Examples:
  tracks ramp pricing --coverage 0.1 --store tracks.db
  tracks ramp pricing --coverage 50%
  tracks ramp checkout-delay --weights short_delay=1,long_delay=3`;

/** `tracks ramp pricing --coverage 0.1`: writes a live change of coverage or weights to the store. */
export const ramp: Command = {
  summary: 'change a test live: its coverage or weights, in every process, starting a new phase',
  usage: USAGE,
  async run(args, io) {
    let parsed;
    const options = { coverage: { type: 'string' }, weights: { type: 'string' }, store: { type: 'string' }, force: { type: 'boolean' } } as const;
    try {
      parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true, tokens: true });
    } catch (error) {
      // parseArgs reads a value starting with '-' as an option ("argument is ambiguous").
      const negative = args.find((arg, i) => /^-\d/.test(arg) && ['--coverage', '--weights'].includes(args[i - 1] ?? ''));
      if (negative !== undefined) throw new UsageError(`${args[args.indexOf(negative) - 1]} is '${negative}'; give a share from 0 to 1 (coverage) or weights of 0 or more`);
      throw usageErrorOf(error, 'ramp', Object.keys(options));
    }
    assertGivenOnce('ramp', parsed.tokens, options);
    const { values, positionals } = parsed;
    const trackSetId = onePositional('ramp', positionals);
    if (values.coverage === undefined && values.weights === undefined) {
      throw new UsageError("give --coverage <share> or --weights <track=w,...> (or both); see 'tracks ramp --help'");
    }
    const coverage = values.coverage === undefined ? undefined : coverageOf(values.coverage);
    const weights = values.weights === undefined ? undefined : weightsOf(values.weights);
    const store = await controlStore(values.store, io, trackSetId);
    let result;
    try {
      result = await rampTrackSet(store, trackSetId, { ...(coverage === undefined ? {} : { coverage }), ...(weights === undefined ? {} : { weights }) }, { force: values.force ?? false });
    } finally {
      await store.close();
    }
    const changes = [
      ...(coverage === undefined ? [] : [`coverage ${formatShare(coverage)}`]),
      ...(weights === undefined ? [] : [`weights ${[...weights].map(([t, w]) => `${escapeControl(t)}=${w}`).join(', ')}`]),
    ].join('; ');
    const id = escapeControl(trackSetId);
    if (!result.changed) {
      io.stdout(`${id} already runs with ${changes}; nothing changed`);
    } else if (result.stopped) {
      io.stdout(`${id} ramped: ${changes}. It stays stopped (every process serves one track) until 'tracks resume ${id}'; it will then run with these.`);
    } else {
      io.stdout(`${id} ramped: ${changes}. Every process applies it within its control interval (default 10 s); a new phase begins.`);
    }
    return 0;
  },
};

/** `0.1`, `10%`: a share from 0 to 1. */
function coverageOf(text: string): number {
  const percent = text.endsWith('%');
  const value = decimalOf(percent ? text.slice(0, -1) : text);
  const share = percent ? value / 100 : value;
  if (!(share >= 0 && share <= 1)) {
    throw new UsageError(`--coverage is '${text}'; give a share from 0 to 1 (or a percentage) in decimal digits, e.g. --coverage 0.1`);
  }
  return share;
}

function formatShare(share: number): string {
  return `${Number((share * 100).toPrecision(6))}%`;
}
